using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace ExchangeHealth.Telemetry;

/// <summary>
/// A metrics pipeline for one process: an OpenTelemetry <see cref="MeterProvider"/> listening to
/// the given meters, with explicit histogram buckets, read by a <see cref="PrometheusScrapeHandler"/>.
/// </summary>
/// <remarks>
/// <para>
/// Typical use in the engine or the monitor:
/// <code>
/// using var telemetry = PrometheusTelemetry.Create(
///     ["ExchangeHealth.Engine"],
///     [("exh.order.ack_latency", [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01])],
///     includeRuntimeMetrics: true);
/// app.MapGet("/metrics", async ctx =>
/// {
///     ctx.Response.ContentType = PrometheusScrapeHandler.ContentType;
///     await telemetry.Handler.WriteAsync(ctx.Response.Body, ctx.RequestAborted);
/// });
/// </code>
/// or <c>var (provider, handler) = PrometheusTelemetry.Create(...)</c> and dispose the provider at
/// shutdown. Disposing stops listening; scrapes after that throw <see cref="ObjectDisposedException"/>.
/// </para>
/// <para>
/// Histograms without a bucket view get the OpenTelemetry SDK's default bounds (0 to 10,000, made
/// for milliseconds), which are useless for latencies in seconds: give every histogram a view.
/// </para>
/// </remarks>
public sealed class PrometheusTelemetry : IDisposable
{
    /// <summary>
    /// The name of the .NET runtime's built-in meter (.NET 9 and later): GC, JIT, thread pool,
    /// exceptions, CPU and memory, e.g. <c>dotnet.gc.collections</c> →
    /// <c>dotnet_gc_collections_total{gc_heap_generation="gen0"}</c>,
    /// <c>dotnet.gc.pause.time</c> → <c>dotnet_gc_pause_time_seconds_total</c>,
    /// <c>dotnet.process.memory.working_set</c> → <c>dotnet_process_memory_working_set_bytes</c>.
    /// </summary>
    /// <remarks>
    /// Five instruments of this meter are exposed differently from the standard conversion, so that
    /// their type is right and <c>promtool check metrics</c> finds nothing to complain about:
    /// <list type="table">
    /// <listheader><term>instrument</term><description>exposed as (gauge)</description></listheader>
    /// <item><term><c>dotnet.thread_pool.thread.count</c></term><description><c>dotnet_thread_pool_threads</c> (the runtime wrongly makes it a monotonic counter: dotnet/runtime#112077)</description></item>
    /// <item><term><c>dotnet.thread_pool.queue.length</c></term><description><c>dotnet_thread_pool_queue_length</c> (same bug: dotnet/runtime#126167)</description></item>
    /// <item><term><c>dotnet.timer.count</c></term><description><c>dotnet_timers</c></description></item>
    /// <item><term><c>dotnet.assembly.count</c></term><description><c>dotnet_assemblies</c></description></item>
    /// <item><term><c>dotnet.process.cpu.count</c></term><description><c>dotnet_process_cpus</c></description></item>
    /// </list>
    /// The standard names of the last four would end in <c>_count</c>, a suffix Prometheus reserves
    /// for histogram and summary series.
    /// </remarks>
    public const string RuntimeMeterName = "System.Runtime";

    private PrometheusTelemetry(MeterProvider provider, PrometheusScrapeHandler handler)
    {
        Provider = provider;
        Handler = handler;
    }

    /// <summary>The provider listening to the meters; dispose it (or this object) at shutdown.</summary>
    public MeterProvider Provider { get; }

    /// <summary>Serves scrapes of <see cref="Provider"/>'s metrics.</summary>
    public PrometheusScrapeHandler Handler { get; }

    /// <summary>Builds a provider listening to <paramref name="meterNames"/> and a scrape handler reading it.</summary>
    /// <param name="meterNames">
    /// Names of the <see cref="System.Diagnostics.Metrics.Meter"/>s to export (wildcards such as
    /// <c>ExchangeHealth.*</c> are allowed, as in <c>MeterProviderBuilder.AddMeter</c>).
    /// </param>
    /// <param name="histogramBuckets">
    /// Explicit bucket upper bounds per histogram instrument name (the <c>le</c> values without
    /// <c>+Inf</c>, strictly increasing, finite; in the instrument's unit), e.g.
    /// <c>("exh.match.latency", [0.0001, 0.001, 0.01])</c>. Null for none.
    /// </param>
    /// <param name="includeRuntimeMetrics">Also export the runtime's <see cref="RuntimeMeterName"/> meter.</param>
    /// <param name="configure">
    /// Optional further configuration of the builder (more views, resource) applied after the above.
    /// </param>
    /// <returns>The pipeline; it owns the provider.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="meterNames"/> is null, or a name or bucket array is null.</exception>
    /// <exception cref="ArgumentException">A meter or instrument name is empty, or bucket bounds are not strictly increasing finite numbers.</exception>
    public static PrometheusTelemetry Create(
        IEnumerable<string> meterNames,
        IEnumerable<(string InstrumentName, double[] Boundaries)>? histogramBuckets = null,
        bool includeRuntimeMetrics = false,
        Action<MeterProviderBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(meterNames);
        var meters = new List<string>();
        foreach (string name in meterNames)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(name, nameof(meterNames));
            meters.Add(name);
        }
        if (includeRuntimeMetrics && !meters.Contains(RuntimeMeterName))
            meters.Add(RuntimeMeterName);

        var views = new List<(string InstrumentName, double[] Boundaries)>();
        foreach (var (instrumentName, boundaries) in histogramBuckets ?? [])
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(instrumentName, nameof(histogramBuckets));
            views.Add((instrumentName, ValidateBoundaries(instrumentName, boundaries)));
        }

        var handler = new PrometheusScrapeHandler();
        var builder = Sdk.CreateMeterProviderBuilder().AddMeter([.. meters]);
        foreach (var (instrumentName, boundaries) in views)
            builder.AddView(instrumentName, new ExplicitBucketHistogramConfiguration { Boundaries = boundaries });
        configure?.Invoke(builder);
        builder.AddReader(handler.Reader);
        var provider = builder.Build()
            ?? throw new InvalidOperationException("The OpenTelemetry SDK returned no MeterProvider.");
        return new PrometheusTelemetry(provider, handler);
    }

    /// <summary>Lets callers write <c>var (provider, handler) = PrometheusTelemetry.Create(...)</c>.</summary>
    /// <param name="provider">Receives <see cref="Provider"/>; the caller disposes it.</param>
    /// <param name="handler">Receives <see cref="Handler"/>.</param>
    public void Deconstruct(out MeterProvider provider, out PrometheusScrapeHandler handler)
    {
        provider = Provider;
        handler = Handler;
    }

    /// <summary>Disposes <see cref="Provider"/>: stops listening to the meters.</summary>
    public void Dispose() => Provider.Dispose();

    private const string ParamName = "histogramBuckets";

    private static double[] ValidateBoundaries(string instrumentName, double[] boundaries)
    {
        if (boundaries is null)
            throw new ArgumentNullException(ParamName, $"Histogram bounds for '{instrumentName}' are null.");
        for (int i = 0; i < boundaries.Length; i++)
        {
            if (!double.IsFinite(boundaries[i]))
                throw new ArgumentException($"Histogram bounds for '{instrumentName}' must be finite (+Inf is implicit); got {boundaries[i]} at index {i}.", ParamName);
            if (i > 0 && boundaries[i] <= boundaries[i - 1])
                throw new ArgumentException($"Histogram bounds for '{instrumentName}' must be strictly increasing; index {i} ({boundaries[i]}) is not above {boundaries[i - 1]}.", ParamName);
        }
        return (double[])boundaries.Clone();
    }
}
