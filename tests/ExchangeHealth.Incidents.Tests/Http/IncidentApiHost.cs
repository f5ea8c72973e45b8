using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using ExchangeHealth.Alerting.Host;
using ExchangeHealth.Incidents.Http;
using ExchangeHealth.Incidents.Lifecycle;
using ExchangeHealth.Incidents.Store;
using ExchangeHealth.TestKit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ExchangeHealth.Incidents.Tests.Http;

/// <summary>
/// A real Kestrel on 127.0.0.1:0 serving <see cref="IncidentHttpApi"/> under <c>/api/v1</c> behind a
/// bearer-token filter (as the monitor's API is), over a real <see cref="IncidentService"/> and a
/// real SQLite store in a temporary directory. Also writes <c>monitor.json</c> and the token file
/// into <see cref="DataDirectory"/>, which is what <c>exh incidents</c> reads to find the monitor.
/// </summary>
internal sealed class IncidentApiHost : IAsyncDisposable
{
    private readonly LoopbackApp _app;

    private IncidentApiHost(LoopbackApp app, string directory, string token, SqliteIncidentStore store, IncidentService service, ManualTimeProvider time, Uri baseAddress)
    {
        _app = app;
        Directory = directory;
        Token = token;
        Store = store;
        Service = service;
        Time = time;
        BaseAddress = baseAddress;
        Client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(15) };
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    /// <summary>Temporary directory of this host (database, data directory, reports); deleted on dispose.</summary>
    public string Directory { get; }

    /// <summary>The data directory holding <c>monitor.json</c> and <c>monitor-token</c>.</summary>
    public string DataDirectory => Path.Combine(Directory, "data");

    /// <summary>Where test report generators write.</summary>
    public string ReportsDirectory => Path.Combine(Directory, "reports");

    public string Token { get; }

    public SqliteIncidentStore Store { get; }

    public IncidentService Service { get; }

    public ManualTimeProvider Time { get; }

    public Uri BaseAddress { get; }

    /// <summary>A client with the bearer token.</summary>
    public HttpClient Client { get; }

    /// <summary>Starts a host; <paramref name="report"/> is passed to <see cref="IncidentHttpApi.Map(Microsoft.AspNetCore.Routing.RouteGroupBuilder, IncidentService, IncidentReportHandler?, TimeProvider, string?)"/>.</summary>
    public static async Task<IncidentApiHost> StartAsync(Func<IncidentApiHost, IncidentReportHandler>? report = null, bool knownReportsDirectory = false)
    {
        string dir = Path.Combine(Path.GetTempPath(), "exh-iapi-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Path.Combine(dir, "data"));
        System.IO.Directory.CreateDirectory(Path.Combine(dir, "reports"));
        var time = new ManualTimeProvider();
        var store = new SqliteIncidentStore(Path.Combine(dir, "incidents.db"), time);
        await store.MigrateAsync();
        var service = new IncidentService(store, time: time);
        string token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
        byte[] tokenBytes = Encoding.UTF8.GetBytes(token);

        IncidentApiHost? self = null;
        IncidentReportHandler? handler = report is null ? null : (id, ct) => report(self!)(id, ct);
        var app = await LoopbackApp.StartAsync(a =>
        {
            var api = a.MapGroup("/api/v1").AddEndpointFilter(async (context, next) =>
            {
                string header = context.HttpContext.Request.Headers.Authorization.ToString();
                bool ok = header.StartsWith("Bearer ", StringComparison.Ordinal)
                    && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim()), tokenBytes);
                if (!ok) return Results.Json(new { error = "missing or wrong bearer token", field = "authorization" }, statusCode: StatusCodes.Status401Unauthorized);
                return await next(context);
            });
            IncidentHttpApi.Map(api, service, handler, time, knownReportsDirectory ? Path.Combine(dir, "reports") : null);
        }, k => k.Limits.MaxRequestBodySize = 4 * 1024 * 1024); // the monitor's global bound; the API's own is 64 KiB
        var baseAddress = app.BaseUrl;
        self = new IncidentApiHost(app, dir, token, store, service, time, baseAddress);

        string tokenFile = Path.Combine(self.DataDirectory, MonitorHost.TokenFileName);
        await File.WriteAllTextAsync(tokenFile, token + "\n");
        new MonitorEndpoints(Environment.ProcessId, baseAddress, tokenFile, DateTimeOffset.UtcNow).Write(self.DataDirectory);
        return self;
    }

    /// <summary>A report generator writing small files into <see cref="ReportsDirectory"/>/incidents (the real generator's layout), counting its calls.</summary>
    public static Func<IncidentApiHost, IncidentReportHandler> FileReports(Action? onCall = null) => host => async (id, ct) =>
    {
        onCall?.Invoke();
        var incident = await host.Service.GetAsync(id, ct);
        if (incident is null) return null;
        string dir = Path.Combine(host.ReportsDirectory, "incidents");
        System.IO.Directory.CreateDirectory(dir);
        string md = Path.Combine(dir, $"incident-{id}.md");
        string html = Path.Combine(dir, $"incident-{id}.html");
        await File.WriteAllTextAsync(md, $"# Incident #{id}: {incident.Title}\n", ct);
        await File.WriteAllTextAsync(html, $"<!doctype html><title>Incident #{id}</title><h1>{WebUtility.HtmlEncode(incident.Title)}</h1>", ct);
        return (md, html);
    };

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.DisposeAsync();
        await Store.DisposeAsync();
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
