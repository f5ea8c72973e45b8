using System.Text;
using OpenTelemetry.Metrics;

namespace ExchangeHealth.Telemetry;

/// <summary>
/// Serves a Prometheus scrape from an OpenTelemetry <see cref="MeterProvider"/>: each scrape
/// collects the provider's metrics (cumulative temporality) and writes them in the Prometheus text
/// exposition format 0.0.4, named per the OpenTelemetry-to-Prometheus compatibility specification
/// (see <see cref="PrometheusNaming"/>).
/// </summary>
/// <remarks>
/// <para>
/// Add <see cref="Reader"/> to exactly one provider (<c>MeterProviderBuilder.AddReader</c>), or let
/// <see cref="PrometheusTelemetry.Create"/> do it. A host maps its own route, for example with
/// ASP.NET Core:
/// <code>
/// app.MapGet("/metrics", async ctx =>
/// {
///     ctx.Response.ContentType = PrometheusScrapeHandler.ContentType;
///     await handler.WriteAsync(ctx.Response.Body, ctx.RequestAborted);
/// });
/// </code>
/// </para>
/// <para>
/// Thread-safe: concurrent scrapes are serialized (one collection at a time) and each gets a
/// complete, consistent exposition. Collection runs synchronously on the caller's thread and
/// invokes the observable instruments' callbacks there. There is no response cache: every scrape
/// collects.
/// </para>
/// </remarks>
public sealed class PrometheusScrapeHandler
{
    /// <summary>The HTTP <c>Content-Type</c> of the exposition: Prometheus text format 0.0.4, UTF-8.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static readonly UTF8Encoding _utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    private readonly PrometheusExporter _exporter;
    private readonly BaseExportingMetricReader _reader;
    private readonly Lock _scrapeLock = new();
    private readonly int _collectTimeoutMilliseconds;

    /// <summary>Creates a handler and its reader; add <see cref="Reader"/> to a <see cref="MeterProvider"/>.</summary>
    /// <param name="collectTimeout">
    /// How long one collection may take (observable callbacks included) before the scrape fails;
    /// null waits indefinitely.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="collectTimeout"/> is negative or longer than <see cref="int.MaxValue"/> milliseconds.</exception>
    public PrometheusScrapeHandler(TimeSpan? collectTimeout = null)
    {
        if (collectTimeout is { } timeout)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero, nameof(collectTimeout));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(timeout.TotalMilliseconds, int.MaxValue, nameof(collectTimeout));
            _collectTimeoutMilliseconds = (int)timeout.TotalMilliseconds;
        }
        else
        {
            _collectTimeoutMilliseconds = Timeout.Infinite;
        }
        _exporter = new PrometheusExporter();
        _reader = new BaseExportingMetricReader(_exporter)
        {
            TemporalityPreference = MetricReaderTemporalityPreference.Cumulative,
        };
    }

    /// <summary>
    /// The metric reader to register with the provider. The provider owns it from then on and
    /// disposes it (and with it this handler's exporter) when it is disposed.
    /// </summary>
    public MetricReader Reader => _reader;

    /// <summary>Collects now and returns the exposition text (empty when no metric has a point yet).</summary>
    /// <returns>Prometheus text format 0.0.4; every line, the last included, ends with <c>\n</c>.</returns>
    /// <exception cref="InvalidOperationException">
    /// <see cref="Reader"/> is not registered with a provider, or the collection failed or timed out.
    /// </exception>
    /// <exception cref="ObjectDisposedException">The provider was disposed.</exception>
    public string ScrapeToString()
    {
        lock (_scrapeLock)
        {
            // The SDK's Collect() also "succeeds" without a provider or after shutdown (with stale or
            // no data), so those states are checked here.
            ObjectDisposedException.ThrowIf(_exporter.IsShutDown, typeof(MeterProvider));
            if (!_exporter.IsRegistered)
                throw new InvalidOperationException("The Prometheus reader is not registered with a MeterProvider (MeterProviderBuilder.AddReader(handler.Reader)).");
            if (!_reader.Collect(_collectTimeoutMilliseconds))
                throw new InvalidOperationException("Metric collection failed or timed out.");
            return _exporter.LastPayload;
        }
    }

    /// <summary>Collects now and returns the exposition as UTF-8 bytes (no byte-order mark).</summary>
    /// <returns>The same text as <see cref="ScrapeToString"/>, encoded.</returns>
    /// <exception cref="InvalidOperationException">The collection failed (see <see cref="ScrapeToString"/>).</exception>
    /// <exception cref="ObjectDisposedException">The provider was disposed.</exception>
    public byte[] ScrapeToUtf8() => _utf8NoBom.GetBytes(ScrapeToString());

    /// <summary>
    /// Collects now and writes the exposition to <paramref name="destination"/> as UTF-8; the caller
    /// sets <see cref="ContentType"/> on the response.
    /// </summary>
    /// <param name="destination">The response body or any writable stream; not closed.</param>
    /// <param name="cancellationToken">Cancels before collecting or during the write.</param>
    /// <returns>A task that completes when the text has been written.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="destination"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The collection failed (see <see cref="ScrapeToString"/>).</exception>
    /// <exception cref="ObjectDisposedException">The provider was disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task WriteAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        cancellationToken.ThrowIfCancellationRequested();
        byte[] payload = ScrapeToUtf8();
        await destination.WriteAsync(payload, cancellationToken).ConfigureAwait(false);
    }
}
