using Microsoft.Extensions.Logging;

namespace ExchangeHealth.Engine.Gateway.Http;

/// <summary>Settings of an <see cref="EngineHttpServer"/>. Every property has a working default.</summary>
public sealed record EngineHttpServerOptions
{
    /// <summary>The default listen address: loopback only, port 7080.</summary>
    public const string DefaultUrls = "http://127.0.0.1:7080";

    /// <summary>Content type of <c>GET /metrics</c>: the Prometheus text exposition format 0.0.4.</summary>
    public const string MetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>
    /// Where Kestrel listens, as ASP.NET Core URLs separated by <c>;</c>, e.g.
    /// <c>http://127.0.0.1:7080</c>. Port 0 picks a free port (read it from
    /// <see cref="EngineHttpServer.BaseAddress"/>). Default <see cref="DefaultUrls"/>: loopback only.
    /// </summary>
    public string Urls { get; init; } = DefaultUrls;

    /// <summary>
    /// Largest request body Kestrel accepts, bytes (<c>KestrelServerLimits.MaxRequestBodySize</c>);
    /// a larger body is answered 413. Default 64 KiB.
    /// </summary>
    public long MaxRequestBodyBytes { get; init; } = 64 * 1024;

    /// <summary>
    /// Writes the Prometheus text exposition of the engine's metrics (supplied by the host, e.g.
    /// the telemetry exporter); served at <c>GET /metrics</c> with <see cref="MetricsContentType"/>.
    /// The output is buffered, so the writer may write synchronously. Null: <c>/metrics</c>
    /// answers 503.
    /// </summary>
    public Func<Stream, CancellationToken, Task>? MetricsWriter { get; init; }

    /// <summary>
    /// How long a request waits for the engine (an acknowledgement or a book query) before it is
    /// answered 504; the command may still be processed later. Default 5 s.
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Least severe log level written by ASP.NET Core and the server. Default <see cref="LogLevel.Warning"/> (quiet).</summary>
    public LogLevel MinimumLogLevel { get; init; } = LogLevel.Warning;
}
