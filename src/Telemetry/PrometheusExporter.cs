using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace ExchangeHealth.Telemetry;

/// <summary>
/// Receives the metrics of one collection from its <see cref="BaseExportingMetricReader"/> and keeps
/// them as Prometheus text: <see cref="PrometheusScrapeHandler"/> calls <c>Collect()</c> and then
/// reads <see cref="LastPayload"/>.
/// </summary>
/// <remarks>
/// The reader calls <see cref="Export"/> synchronously on the thread that collects, and the metric
/// points are only valid during that call, so the text is written there. The exporter keeps the
/// default export modes (push and pull): a pull-only exporter would make <c>Collect()</c> refuse,
/// because the SDK reserves pull collection for its own exporters. A collection triggered by
/// <c>MeterProvider.ForceFlush</c> or shutdown therefore also lands here; it simply replaces the
/// payload with equally fresh data.
/// </remarks>
internal sealed class PrometheusExporter : BaseExporter<Metric>
{
    private readonly Lock _lock = new();
    private string _lastPayload = string.Empty;
    private bool _shutDown;

    /// <summary>The text of the most recent export (empty before the first one).</summary>
    public string LastPayload
    {
        get { lock (_lock) return _lastPayload; }
    }

    /// <summary>True once the provider has shut the pipeline down (it was disposed).</summary>
    public bool IsShutDown => Volatile.Read(ref _shutDown);

    /// <summary>True once the reader has been registered with a provider.</summary>
    public bool IsRegistered => ParentProvider is not null;

    /// <inheritdoc/>
    public override ExportResult Export(in Batch<Metric> batch)
    {
        string payload = PrometheusTextSerializer.Serialize(batch);
        lock (_lock)
            _lastPayload = payload;
        return ExportResult.Success;
    }

    /// <inheritdoc/>
    protected override bool OnShutdown(int timeoutMilliseconds)
    {
        Volatile.Write(ref _shutDown, true);
        return true;
    }
}
