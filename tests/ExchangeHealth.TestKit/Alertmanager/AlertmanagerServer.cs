using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using ExchangeHealth.TestKit.Prometheus;

namespace ExchangeHealth.TestKit.Alertmanager;

/// <summary>
/// A real Alertmanager (Debian package <c>prometheus-alertmanager</c>) as a child process on a
/// free 127.0.0.1 port, with its own temporary directory; clustering off. Dispose kills it and
/// deletes the directory.
/// </summary>
public sealed class AlertmanagerServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly string _directory;
    private readonly HttpClient _http;

    private AlertmanagerServer(Process process, string directory, Uri baseAddress)
    {
        _process = process;
        _directory = directory;
        BaseAddress = baseAddress;
        _http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>Root URL, e.g. <c>http://127.0.0.1:40123/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Process id of the child.</summary>
    public int Pid => _process.Id;

    /// <summary>Everything the process wrote so far.</summary>
    public string Log { get { lock (_log) return _log.ToString(); } }

    /// <summary>Writes <paramref name="configYaml"/>, starts Alertmanager and waits until <c>/-/ready</c> answers.</summary>
    /// <exception cref="FileNotFoundException">prometheus-alertmanager is not installed.</exception>
    /// <exception cref="InvalidOperationException">It exited or was not ready in 30 s; the message quotes its log.</exception>
    public static async Task<AlertmanagerServer> StartAsync(string configYaml, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configYaml);
        string binary = ExternalTool.Find("prometheus-alertmanager", "prometheus-alertmanager");
        string directory = Path.Combine(Path.GetTempPath(), "exh-alertmanager-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        string config = Path.Combine(directory, "alertmanager.yml");
        await File.WriteAllTextAsync(config, configYaml, cancellationToken).ConfigureAwait(false);
        int port = LoopbackPort.Free();
        var psi = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = directory };
        foreach (string a in new[]
        {
            "--config.file=" + config, "--storage.path=" + Path.Combine(directory, "data"),
            "--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture), "--cluster.listen-address=",
        }) psi.ArgumentList.Add(a);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("prometheus-alertmanager did not start");
        var server = new AlertmanagerServer(process, directory, new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/"));
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (server._log) server._log.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (server._log) server._log.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (process.HasExited)
            {
                await server.DisposeAsync().ConfigureAwait(false);
                throw new InvalidOperationException($"alertmanager exited with code {process.ExitCode}:\n{server.Log}");
            }
            try
            {
                using var ready = await server._http.GetAsync(new Uri("-/ready", UriKind.Relative), cancellationToken).ConfigureAwait(false);
                if (ready.StatusCode == HttpStatusCode.OK) return server;
            }
            catch (HttpRequestException) { }
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
        await server.DisposeAsync().ConfigureAwait(false);
        throw new InvalidOperationException($"alertmanager was not ready within 30 s:\n{server.Log}");
    }

    /// <summary>Posts alerts as Prometheus does (<c>POST /api/v2/alerts</c>): each an object with <c>labels</c>, <c>annotations</c>, <c>startsAt</c>, optional <c>endsAt</c>.</summary>
    public async Task PostAlertsAsync(IEnumerable<object> alerts, CancellationToken cancellationToken = default)
    {
        using var response = await _http.PostAsJsonAsync(new Uri("api/v2/alerts", UriKind.Relative), alerts, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Posts alerts given as a JSON array (the body of <c>POST /api/v2/alerts</c>).</summary>
    /// <exception cref="HttpRequestException">Alertmanager refused them; the message quotes its answer.</exception>
    public async Task PostAlertsAsync(string json, CancellationToken cancellationToken = default)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await _http.PostAsync(new Uri("api/v2/alerts", UriKind.Relative), content, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"POST /api/v2/alerts: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)}");
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().ConfigureAwait(false);
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
        _http.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
