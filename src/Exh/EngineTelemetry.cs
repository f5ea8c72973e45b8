using ExchangeHealth.Engine.Service;
using ExchangeHealth.Telemetry;

namespace ExchangeHealth.Cli;

/// <summary>The engine process's metric pipeline: OpenTelemetry SDK + our Prometheus text exporter.</summary>
internal static class EngineTelemetry
{
    /// <summary>
    /// Collects the engine's meter (with the latency buckets of <see cref="EngineMetrics.HistogramViews"/>)
    /// and the .NET <c>System.Runtime</c> meter, for <c>/metrics</c>.
    /// </summary>
    public static PrometheusTelemetry Create() =>
        PrometheusTelemetry.Create(
            [EngineMetrics.MeterName],
            EngineMetrics.HistogramViews.Select(v => (v.Instrument, v.Buckets.ToArray())),
            includeRuntimeMetrics: true);

    /// <summary>Starts collecting exactly as <c>exh engine</c> does (used by the metrics-overhead benchmark).</summary>
    public static IDisposable StartListening() => Create();
}
