namespace ExchangeHealth.Telemetry;

/// <summary>
/// Corrections for instruments of the runtime's <c>System.Runtime</c> meter, applied before the
/// standard naming (see <see cref="PrometheusTelemetry.RuntimeMeterName"/> for the table).
/// </summary>
/// <remarks>
/// Two kinds of correction, both keyed by meter and instrument name (an instrument renamed by a
/// view is not corrected):
/// <list type="bullet">
/// <item>Type: .NET 9 and 10 create <c>dotnet.thread_pool.thread.count</c> and
/// <c>dotnet.thread_pool.queue.length</c> with <c>CreateObservableCounter</c> although both go
/// down as well as up (dotnet/runtime#112077, #126167; the semantic conventions say
/// UpDownCounter). As counters they would be exposed as <c>..._total</c> and <c>rate()</c> would
/// read every decrease as a counter reset, so they are exposed as gauges, as on fixed runtimes.</item>
/// <item>Name: the up-down counters <c>*.count</c> would become gauges ending in <c>_count</c>,
/// which Prometheus reserves for histogram and summary series (<c>promtool check metrics</c>:
/// "non-histogram and non-summary metrics should not have "_count" suffix"). They are named after
/// the counted thing instead, like Go's <c>go_threads</c>.</item>
/// </list>
/// </remarks>
internal static class RuntimeMetricCorrections
{
    private static readonly Dictionary<string, (string PrometheusName, PrometheusMetricType Type)> _corrections =
        new(StringComparer.Ordinal)
        {
            ["dotnet.thread_pool.thread.count"] = ("dotnet_thread_pool_threads", PrometheusMetricType.Gauge),
            ["dotnet.thread_pool.queue.length"] = ("dotnet_thread_pool_queue_length", PrometheusMetricType.Gauge),
            ["dotnet.timer.count"] = ("dotnet_timers", PrometheusMetricType.Gauge),
            ["dotnet.assembly.count"] = ("dotnet_assemblies", PrometheusMetricType.Gauge),
            ["dotnet.process.cpu.count"] = ("dotnet_process_cpus", PrometheusMetricType.Gauge),
        };

    /// <summary>Finds the correction for an instrument of the <c>System.Runtime</c> meter.</summary>
    public static bool TryGet(string meterName, string instrumentName, out string prometheusName, out PrometheusMetricType type)
    {
        if (meterName == PrometheusTelemetry.RuntimeMeterName && _corrections.TryGetValue(instrumentName, out var correction))
        {
            (prometheusName, type) = correction;
            return true;
        }
        prometheusName = string.Empty;
        type = default;
        return false;
    }
}
