using System.Text.Json.Serialization.Metadata;
using ExchangeHealth.Engine.Service;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ExchangeHealth.Engine.Gateway.Http;

/// <summary>
/// The engine's HTTP JSON API on Kestrel (contract: docs/http-api.md): liveness and readiness,
/// the Prometheus <c>/metrics</c> endpoint, trading and book queries for API-key holders, and the
/// admin API (market states, fault injection, the event log) for the admin token.
/// </summary>
/// <remarks>
/// <para>
/// Commands go through <see cref="EngineService.Submit"/> like those of the TCP gateway, each with
/// its own <see cref="IReportReceiver"/>; the response carries every report of the command (the
/// acknowledgement, then fills, expiry, ...). Book and trade queries run on the matcher thread
/// through <see cref="EngineService.QueryAsync{T}"/>. A request waits at most
/// <see cref="EngineHttpServerOptions.RequestTimeout"/> for the engine.
/// </para>
/// <para>
/// Bad input is answered 400/401/403/404/413 with a JSON error naming the field; a full ring is
/// 503 with <c>Retry-After: 1</c>. Nothing a client sends reaches the engine unvalidated, and
/// nothing the server does blocks the matcher thread.
/// </para>
/// </remarks>
public sealed partial class EngineHttpServer : IAsyncDisposable
{
    /// <summary>Largest <c>depth</c> of a book query and <c>limit</c> of a trade or event query.</summary>
    public const int MaxQueryLimit = 1000;

    private const string ApiKeyHeader = "X-API-Key";

    private readonly EngineService _engine;
    private readonly EngineCredentials _credentials;
    private readonly EngineHttpServerOptions _options;
    private readonly MarketDefinition?[] _marketById = new MarketDefinition?[MarketDefinition.MaxMarketId + 1];
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private WebApplication? _app;
    private Uri? _baseAddress;
    private ILogger _logger = NullLogger.Instance;
    private bool _disposed;

    /// <summary>Creates the server; nothing listens before <see cref="StartAsync"/>.</summary>
    /// <param name="engine">The running engine service.</param>
    /// <param name="credentials">API keys (trading) and the admin token.</param>
    /// <param name="options">Listen address, limits, the metrics writer.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">An option is out of range: empty URLs, a body limit below 1 byte, a timeout not positive.</exception>
    public EngineHttpServer(EngineService engine, EngineCredentials credentials, EngineHttpServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Urls)) throw new ArgumentException("Urls must name at least one address", nameof(options));
        if (options.MaxRequestBodyBytes < 1) throw new ArgumentException("MaxRequestBodyBytes must be at least 1", nameof(options));
        if (options.RequestTimeout <= TimeSpan.Zero) throw new ArgumentException("RequestTimeout must be positive", nameof(options));
        _engine = engine;
        _credentials = credentials;
        _options = options;
        foreach (var m in engine.Markets) _marketById[m.Id] = m;
    }

    /// <summary>
    /// The address the server actually listens on (the first of <see cref="EngineHttpServerOptions.Urls"/>,
    /// with the port Kestrel chose for port 0), e.g. <c>http://127.0.0.1:41234/</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The server has not started.</exception>
    public Uri BaseAddress => _baseAddress ?? throw new InvalidOperationException("the HTTP server has not started");

    /// <summary>Binds the listen addresses and starts serving.</summary>
    /// <exception cref="InvalidOperationException">The server was already started or disposed.</exception>
    /// <exception cref="IOException">An address cannot be bound (in use, not local).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_app is not null) throw new InvalidOperationException("the HTTP server is already started");
            var app = Build();
            try
            {
                await app.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await app.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            _app = app;
            string first = app.Urls.FirstOrDefault() ?? throw new InvalidOperationException("Kestrel reported no listen address");
            _baseAddress = new Uri(first.EndsWith('/') ? first : first + "/");
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Stops listening and waits for requests in progress (at most until
    /// <paramref name="cancellationToken"/> is cancelled). Does not stop the engine. Idempotent.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            var app = _app;
            if (app is null) return;
            _app = null;
            try
            {
                await app.StopAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await app.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        await StopAsync().ConfigureAwait(false);
        _disposed = true;
        _lifecycle.Dispose();
    }

    private WebApplication Build()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(EngineHttpServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            Args = ["--hostBuilder:reloadConfigOnChange=false"], // no file watchers
        });
        // Settings come from the options: no appsettings*.json or user secrets.
        foreach (var source in builder.Configuration.Sources.OfType<FileConfigurationSource>().ToList())
            builder.Configuration.Sources.Remove(source);
        builder.Logging.SetMinimumLevel(_options.MinimumLogLevel);
        // The host process owns Ctrl+C and SIGTERM; an embedded server must not take them.
        builder.Services.AddSingleton<IHostLifetime, EmbeddedHostLifetime>();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = _options.RequestTimeout + TimeSpan.FromSeconds(1));
        builder.WebHost.UseUrls(_options.Urls);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = _options.MaxRequestBodyBytes;
        });

        var app = builder.Build();
        _logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ExchangeHealth.Engine.Http");
        app.Use(HandleErrorsAsync);
        MapRoutes(app);
        return app;
    }

    private void MapRoutes(WebApplication app)
    {
        app.MapGet("/health", HealthAsync);
        app.MapGet("/ready", ReadyAsync);
        app.MapGet("/metrics", MetricsAsync);

        var api = app.MapGroup("/api/v1");
        api.MapPost("/orders", c => TradingAsync(c, PlaceOrderAsync));
        api.MapGet("/orders/{market}/{client_order_id}", c => TradingAsync(c, GetOrderAsync));
        api.MapDelete("/orders/{market}/{client_order_id}", c => TradingAsync(c, CancelOrderAsync));
        api.MapPatch("/orders/{market}/{client_order_id}", c => TradingAsync(c, AmendOrderAsync));
        api.MapPost("/cancel-all", c => TradingAsync(c, CancelAllAsync));
        api.MapGet("/markets", c => TradingAsync(c, MarketsAsync));
        api.MapGet("/book/{market}", c => TradingAsync(c, BookAsync));
        api.MapGet("/trades/{market}", c => TradingAsync(c, TradesAsync));

        var admin = app.MapGroup("/admin");
        admin.MapPost("/markets/{market}/state", c => AdminAsync(c, SetMarketStateAsync));
        admin.MapGet("/faults", c => AdminAsync(c, ListFaultsAsync));
        admin.MapPost("/faults", c => AdminAsync(c, InjectFaultAsync));
        admin.MapDelete("/faults/{fault}", c => AdminAsync(c, ClearFaultAsync));
        admin.MapDelete("/faults", c => AdminAsync(c, ClearAllFaultsAsync));
        admin.MapGet("/events", c => AdminAsync(c, EventsAsync));
        admin.MapGet("/state", c => AdminAsync(c, StateAsync));
    }

    // ------------------------------------------------------------------ errors

    /// <summary>Turns every exception into a JSON answer: the engine and the server never see bad input as a crash.</summary>
    private async Task HandleErrorsAsync(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (HttpApiException e)
        {
            await WriteErrorAsync(context, e).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e)
        {
            string code = e.StatusCode == StatusCodes.Status413PayloadTooLarge ? "body_too_large" : "bad_request";
            await WriteErrorAsync(context, new HttpApiException(e.StatusCode, new ErrorResponse(code, e.Message))).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nobody reads an answer.
        }
        catch (Exception e)
        {
            _logger.LogError(e, "HTTP {Method} {Path} failed", context.Request.Method, context.Request.Path.Value);
            await WriteErrorAsync(context, new HttpApiException(StatusCodes.Status500InternalServerError,
                new ErrorResponse("internal", "internal server error"))).ConfigureAwait(false);
        }
    }

    private static async Task WriteErrorAsync(HttpContext context, HttpApiException e)
    {
        if (context.Response.HasStarted)
        {
            context.Abort();
            return;
        }
        context.Response.Clear();
        if (e.RetryAfter is not null) context.Response.Headers.RetryAfter = e.RetryAfter;
        if (e.WwwAuthenticate is not null) context.Response.Headers.WWWAuthenticate = e.WwwAuthenticate;
        await WriteJsonAsync(context, e.StatusCode, e.Body, HttpJsonContext.Api.ErrorResponse).ConfigureAwait(false);
    }

    private static Task WriteJsonAsync<T>(HttpContext context, int statusCode, T value, JsonTypeInfo<T> typeInfo)
    {
        context.Response.StatusCode = statusCode;
        return context.Response.WriteAsJsonAsync(value, typeInfo, contentType: null, context.RequestAborted);
    }

    // ------------------------------------------------------------------ authentication

    private async Task TradingAsync(HttpContext context, Func<HttpContext, ApiKeyEntry, Task> handler)
    {
        var values = context.Request.Headers[ApiKeyHeader];
        string? key = values.Count == 1 ? values[0] : null;
        if (string.IsNullOrEmpty(key)) throw Unauthorized($"the {ApiKeyHeader} header is required");
        if (!_credentials.TryAuthenticate(key, out var entry) || entry is null) throw Unauthorized("unknown API key");
        await handler(context, entry).ConfigureAwait(false);

        HttpApiException Unauthorized(string message)
        {
            _engine.Metrics.CountAuthFailure();
            return new HttpApiException(StatusCodes.Status401Unauthorized, new ErrorResponse("unauthorized", message))
            {
                WwwAuthenticate = $"ApiKey realm=\"exchangehealth\", header=\"{ApiKeyHeader}\"",
            };
        }
    }

    private async Task AdminAsync(HttpContext context, Func<HttpContext, Task> handler)
    {
        var values = context.Request.Headers.Authorization;
        string? header = values.Count == 1 ? values[0] : null;
        const string Scheme = "Bearer ";
        string? token = header is not null && header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) ? header[Scheme.Length..].Trim() : null;
        if (string.IsNullOrEmpty(token))
        {
            _engine.Metrics.CountAuthFailure();
            throw new HttpApiException(StatusCodes.Status401Unauthorized,
                new ErrorResponse("unauthorized", "an 'Authorization: Bearer <admin token>' header is required"))
            {
                WwwAuthenticate = "Bearer realm=\"exchangehealth-admin\"",
            };
        }
        if (!_credentials.IsAdminToken(token))
        {
            _engine.Metrics.CountAuthFailure();
            throw new HttpApiException(StatusCodes.Status403Forbidden, new ErrorResponse("forbidden", "the admin token is wrong"));
        }
        await handler(context).ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ waiting on the engine

    /// <summary>Waits for <paramref name="task"/> at most <see cref="EngineHttpServerOptions.RequestTimeout"/>.</summary>
    /// <exception cref="HttpApiException">504 on timeout.</exception>
    private async Task WaitForEngineAsync(Task task, HttpContext context)
    {
        try
        {
            await task.WaitAsync(_options.RequestTimeout, context.RequestAborted).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new HttpApiException(StatusCodes.Status504GatewayTimeout, new ErrorResponse("timeout",
                $"the engine did not answer within {_options.RequestTimeout.TotalSeconds:0.###} s; a command may still be processed " +
                "(look the order up, or resend it: a resent new order is answered duplicate_client_order_id if the first arrived)"));
        }
    }

    /// <summary>Runs <paramref name="query"/> on the matcher thread and waits for it.</summary>
    /// <exception cref="HttpApiException">503 when the engine has stopped, 504 on timeout.</exception>
    private async Task<T> QueryEngineAsync<T>(HttpContext context, Func<MatchingEngine, T> query)
    {
        Task<T> task;
        try
        {
            task = _engine.QueryAsync(query, context.RequestAborted);
        }
        catch (InvalidOperationException)
        {
            throw ShuttingDown();
        }
        await WaitForEngineAsync(task, context).ConfigureAwait(false);
        return await task.ConfigureAwait(false);
    }

    private static HttpApiException ShuttingDown() =>
        new(StatusCodes.Status503ServiceUnavailable, new ErrorResponse("shutting_down", "the engine is stopping"));

    private MarketDefinition? MarketOf(ushort id) => id < _marketById.Length ? _marketById[id] : null;

    /// <summary>An <see cref="IHostLifetime"/> that leaves process signals to the host that embeds the server.</summary>
    private sealed class EmbeddedHostLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
