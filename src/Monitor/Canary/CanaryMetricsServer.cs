using System.Globalization;
using System.Net;
using ExchangeHealth.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ExchangeHealth.Monitor.Canary;

/// <summary>
/// The canary's HTTP endpoint on Kestrel: <c>GET /metrics</c> (the Prometheus text exposition of a
/// <see cref="PrometheusScrapeHandler"/>, scraped by the <c>exh-canary</c> job) and
/// <c>GET /health</c> (<c>200 {"status":"alive"}</c>). Binds <c>127.0.0.1:7091</c> unless told
/// otherwise (port 0: any free port, see <see cref="BaseAddress"/>); leaves SIGTERM and Ctrl+C to
/// the host process.
/// </summary>
public sealed class CanaryMetricsServer : IAsyncDisposable
{
    /// <summary>The default listen address of <c>exh canary</c>.</summary>
    public static readonly IPEndPoint DefaultEndpoint = new(IPAddress.Loopback, 7091);

    private readonly WebApplication _app;
    private bool _started;
    private bool _disposed;

    private CanaryMetricsServer(WebApplication app) => _app = app;

    /// <summary>The address it listens on, e.g. <c>http://127.0.0.1:7091/</c>.</summary>
    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1/");

    /// <summary>The scrape URL: <see cref="BaseAddress"/> + <c>metrics</c>.</summary>
    public Uri MetricsAddress => new(BaseAddress, "metrics");

    /// <summary>Binds <paramref name="endpoint"/> and starts serving <paramref name="handler"/>'s metrics.</summary>
    /// <param name="endpoint">Where to listen (use a loopback address; port 0 for any free port).</param>
    /// <param name="handler">The scrape handler of the process's <see cref="PrometheusTelemetry"/>.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running server; dispose it to stop.</returns>
    /// <exception cref="IOException">The address cannot be bound (in use, not local).</exception>
    public static async Task<CanaryMetricsServer> StartAsync(IPEndPoint endpoint, PrometheusScrapeHandler handler, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(handler);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(CanaryMetricsServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        foreach (var source in builder.Configuration.Sources.OfType<FileConfigurationSource>().ToList())
            builder.Configuration.Sources.Remove(source);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton<IHostLifetime, EmbeddedHostLifetime>();
        builder.WebHost.UseUrls(string.Create(CultureInfo.InvariantCulture, $"http://{endpoint}"));
        builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
        var app = builder.Build();
        app.MapGet("/metrics", async context =>
        {
            context.Response.ContentType = PrometheusScrapeHandler.ContentType;
            await handler.WriteAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
        });
        app.MapGet("/health", context => context.Response.WriteAsync("{\"status\":\"alive\"}", context.RequestAborted));
        var server = new CanaryMetricsServer(app);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            server._started = true;
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        string first = app.Urls.FirstOrDefault() ?? throw new InvalidOperationException("Kestrel reported no listen address");
        server.BaseAddress = new Uri(first.EndsWith('/') ? first : first + "/");
        return server;
    }

    /// <summary>Stops listening (waiting at most 5 s for scrapes in progress).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        if (_started)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try { await _app.StopAsync(timeout.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { }
        }
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class EmbeddedHostLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
