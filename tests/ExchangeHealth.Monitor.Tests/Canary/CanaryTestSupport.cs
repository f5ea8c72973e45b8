using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using ExchangeHealth.Engine.Gateway;
using ExchangeHealth.Engine.Gateway.Protocol;
using ExchangeHealth.Load.Client;
using ExchangeHealth.TestKit;

namespace ExchangeHealth.Monitor.Tests.Canary;

/// <summary>
/// Tests that start real engines, canaries and Prometheus servers and read the process-wide
/// <c>ExchangeHealth.Canary</c> meter: one at a time, and not beside other tests (2 cores, time-outs).
/// </summary>
[CollectionDefinition(nameof(CanaryCollection), DisableParallelization = true)]
public sealed class CanaryCollection;

/// <summary>A fresh directory under the system temp folder, deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "exh-canary-test-" + Guid.NewGuid().ToString("N"));

    public string Combine(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

/// <summary>The engine's HTTP API as the tests use it: admin calls with the admin token, queries with a trader key.</summary>
internal sealed class EngineApi : IDisposable
{
    private readonly HttpClient _http;
    private readonly EngineCredentials _credentials;

    public EngineApi(EngineProcess engine)
    {
        _credentials = EngineCredentials.Load(Path.Combine(engine.DataDirectory, EngineCredentials.FileName));
        _http = new HttpClient { BaseAddress = engine.HttpAddress, Timeout = TimeSpan.FromSeconds(10) };
    }

    public EngineCredentials Credentials => _credentials;

    public string CanaryKey => _credentials.FindByName(EngineCredentials.CanaryKeyName)!.Key;

    public IReadOnlyList<string> TraderKeys => _credentials.ApiKeys.Where(k => k.Name != EngineCredentials.CanaryKeyName).Select(k => k.Key).ToList();

    public Task InjectFaultAsync(string fault, double seconds, double? value = null) =>
        AdminAsync(HttpMethod.Post, "admin/faults", value is null
            ? new Dictionary<string, object> { ["fault"] = fault, ["duration_seconds"] = seconds }
            : new Dictionary<string, object> { ["fault"] = fault, ["duration_seconds"] = seconds, ["value"] = value });

    public Task SetMarketStateAsync(string market, string state) =>
        AdminAsync(HttpMethod.Post, $"admin/markets/{Uri.EscapeDataString(market)}/state", new Dictionary<string, object> { ["state"] = state });

    /// <summary>Total trades of the engine (<c>GET /admin/state</c>).</summary>
    public async Task<long> TradesAsync()
    {
        using var doc = await AdminAsync(HttpMethod.Get, "admin/state", null);
        return doc.RootElement.GetProperty("trades").GetInt64();
    }

    public async Task<int> ActiveFaultsAsync()
    {
        using var doc = await AdminAsync(HttpMethod.Get, "admin/faults", null);
        return doc.RootElement.GetProperty("faults").GetArrayLength();
    }

    private async Task<JsonDocument> AdminAsync(HttpMethod method, string path, object? body)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new("Bearer", _credentials.AdminToken);
        if (body is not null) request.Content = JsonContent.Create(body);
        using var response = await _http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{method} {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text);
    }

    /// <summary>
    /// Cancels every order of the canary account in every market with a cancel-all of our own and
    /// returns how many there were: 0 when the canary left nothing resting.
    /// </summary>
    public async Task<long> CancelCanaryOrdersAsync(System.Net.IPEndPoint tcp)
    {
        await using var client = new OrderEntryClient();
        await client.ConnectAsync(tcp, CanaryKey);
        var done = await client.CancelAllAsync(new CancelAllMessage(OrderEntryProtocol.MaxClOrdId, 0)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(Engine.ReportType.CancelAllDone, done.Type);
        await client.LogoutAsync();
        return done.Quantity.Units;
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>Reads sample values out of a Prometheus text exposition.</summary>
internal static class Exposition
{
    /// <summary>The value of the sample <paramref name="series"/> (name and labels exactly as exposed), or null.</summary>
    public static double? Value(string text, string series)
    {
        foreach (string line in text.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
                return double.Parse(line.AsSpan(series.Length + 1).Trim(), NumberStyles.Float, CultureInfo.InvariantCulture);
        }
        return null;
    }
}

/// <summary>An <c>exh canary</c> child process, found through the <c>canary.json</c> it writes; stopped by its PID.</summary>
internal sealed class CanaryProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringWriter _log = new();

    private CanaryProcess(Process process) => _process = process;

    public CanaryEndpointsInfo Endpoints { get; private set; } = new(new Uri("http://127.0.0.1/"));

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    /// <summary>Starts <c>dotnet exh.dll canary --data DATADIR ARGS</c> and waits for its canary.json.</summary>
    public static async Task<CanaryProcess> StartAsync(string dataDirectory, params string[] args)
    {
        string exh = Path.Combine(AppContext.BaseDirectory, "exh.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { exh, "canary", "--data", dataDirectory }.Concat(args)) psi.ArgumentList.Add(a);
        var canary = new CanaryProcess(Process.Start(psi)!);
        var process = canary._process;
        process.OutputDataReceived += canary.Append;
        process.ErrorDataReceived += canary.Append;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (process.HasExited)
            {
                await process.WaitForExitAsync();
                throw new InvalidOperationException($"exh canary exited with {process.ExitCode}:\n{canary.Log}");
            }
            if (Monitor.Canary.CanaryEndpoints.TryRead(dataDirectory, out var endpoints, out _) && endpoints!.Pid == process.Id)
            {
                canary.Endpoints = new CanaryEndpointsInfo(endpoints.Metrics);
                return canary;
            }
            await Task.Delay(50);
        }
        await canary.DisposeAsync();
        throw new TimeoutException($"exh canary wrote no canary.json within 30 s:\n{canary.Log}");
    }

    private void Append(object sender, DataReceivedEventArgs e)
    {
        if (e.Data is not null) lock (_log) _log.WriteLine(e.Data);
    }

    /// <summary>SIGTERM to its PID (with the <c>kill</c> command) and the exit code.</summary>
    public async Task<int> TerminateAsync()
    {
        if (!_process.HasExited)
        {
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await _process.WaitForExitAsync(cts.Token);
        }
        await _process.WaitForExitAsync(); // the output readers have finished
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}

/// <summary>Where a canary process serves its metrics.</summary>
internal sealed record CanaryEndpointsInfo(Uri Metrics)
{
    /// <summary><c>host:port</c> for a Prometheus scrape target.</summary>
    public string ScrapeTarget => Metrics.Authority;
}
