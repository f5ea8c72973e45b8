using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace ExchangeHealth.Alerting.Host;

/// <summary>
/// A part of the monitor process built on the alerting pipeline (incidents, for one), plugged in
/// through <see cref="MonitorOptions.Modules"/>. The host calls, in order:
/// <see cref="StartAsync"/> before rule evaluation, routing and delivery start (subscribe to the
/// host's events there; <see cref="MonitorHost.Rules"/>' scheduler is not running yet),
/// <see cref="ConfigureQuartz"/> while the scheduler is built,
/// <see cref="MapEndpoints"/> while building the HTTP API, and <see cref="IAsyncDisposable.DisposeAsync"/>
/// when the monitor stops (before the host's own parts are disposed).
/// </summary>
public interface IMonitorModule : IAsyncDisposable
{
    /// <summary>Short name for logs and <c>/api/v1/status</c>, e.g. <c>incidents</c>.</summary>
    string Name { get; }

    /// <summary>Meters whose instruments <c>/metrics</c> exports with the monitor's own.</summary>
    IReadOnlyList<string> MeterNames { get; }

    /// <summary>Explicit histogram buckets (instrument name, upper bounds in the instrument's unit).</summary>
    IReadOnlyList<(string Instrument, double[] Buckets)> HistogramBuckets { get; }

    /// <summary>Registers what the module's Quartz jobs need (<c>q.Services.AddSingleton(...)</c>).</summary>
    void ConfigureQuartz(Quartz.IQuartzBuilder quartz);

    /// <summary>Starts the module against the running host.</summary>
    Task StartAsync(MonitorHost host, CancellationToken cancellationToken);

    /// <summary>
    /// Adds the module's endpoints: <paramref name="api"/> is <c>/api/v1</c> behind the monitor's
    /// bearer token; <paramref name="app"/> is the root (for callbacks that authenticate otherwise,
    /// such as Slack's signed requests).
    /// </summary>
    void MapEndpoints(IEndpointRouteBuilder app, RouteGroupBuilder api);
}
