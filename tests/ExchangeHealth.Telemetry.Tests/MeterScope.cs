using System.Diagnostics.Metrics;

namespace ExchangeHealth.Telemetry.Tests;

/// <summary>
/// A meter with a unique name and a <see cref="PrometheusTelemetry"/> pipeline listening only to it,
/// so tests running in parallel never see each other's instruments.
/// </summary>
internal sealed class MeterScope : IDisposable
{
    public MeterScope(
        IEnumerable<(string InstrumentName, double[] Boundaries)>? histogramBuckets = null,
        bool includeRuntimeMetrics = false)
    {
        Name = "ExchangeHealth.Tests." + Guid.NewGuid().ToString("N");
        Meter = new Meter(Name);
        Telemetry = PrometheusTelemetry.Create([Name], histogramBuckets, includeRuntimeMetrics);
    }

    public string Name { get; }

    public Meter Meter { get; }

    public PrometheusTelemetry Telemetry { get; }

    public PrometheusScrapeHandler Handler => Telemetry.Handler;

    public string Scrape() => Handler.ScrapeToString();

    public void Dispose()
    {
        Telemetry.Dispose();
        Meter.Dispose();
    }
}
