using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace ExchangeHealth.TestKit.Prometheus;

/// <summary>
/// A real Prometheus server (the Debian package <c>prometheus</c>) started as a child process for
/// one test: it scrapes the given targets, optionally evaluates rule files, and answers PromQL.
/// </summary>
/// <remarks>
/// <para>
/// Everything lives in a fresh temporary directory (config, TSDB, log) that
/// <see cref="DisposeAsync"/> deletes after killing the child process by its
/// <see cref="Process"/> object (with its process tree; nothing else is touched). The server
/// listens on a free port of 127.0.0.1 only. Prometheus's standard output and error go to
/// <see cref="LogPath"/>; start-up failures and <see cref="WaitForAsync"/> time-outs quote it.
/// </para>
/// <para>
/// The scrape job is named <c>exh</c>, so every scraped series has <c>job="exh"</c> and
/// <c>instance="host:port"</c>. Scrape and rule evaluation share one interval; the scrape timeout
/// equals it.
/// </para>
/// </remarks>
public sealed class PrometheusServer : IAsyncDisposable
{
    /// <summary>The <c>job_name</c> of the scrape configuration.</summary>
    public const string JobName = "exh";

    private static readonly TimeSpan _readyTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan _pollInterval = TimeSpan.FromMilliseconds(200);

    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Lock _logLock = new();
    private readonly HttpClient _http;
    private readonly string _directory;
    private bool _disposed;

    private PrometheusServer(Process process, StreamWriter log, string directory, Uri baseAddress, string logPath, string configPath)
    {
        _process = process;
        _log = log;
        _directory = directory;
        BaseAddress = baseAddress;
        LogPath = logPath;
        ConfigPath = configPath;
        Pid = process.Id;
        _http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>The server's root, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Process id of the Prometheus child process.</summary>
    public int Pid { get; }

    /// <summary>Path of the file receiving Prometheus's standard output and error.</summary>
    public string LogPath { get; }

    /// <summary>Path of the generated <c>prometheus.yml</c>.</summary>
    public string ConfigPath { get; }

    /// <summary>
    /// Writes a configuration, starts Prometheus on a free 127.0.0.1 port and waits until
    /// <c>/-/ready</c> answers 200.
    /// </summary>
    /// <param name="scrapeTargets">Targets as <c>host:port</c>, scraped at <c>/metrics</c> over HTTP.</param>
    /// <param name="scrapeInterval">Scrape and rule evaluation interval (at least 1 ms, whole milliseconds).</param>
    /// <param name="ruleFilesDir">A directory whose <c>*.yml</c> and <c>*.yaml</c> rule files Prometheus loads; null for none.</param>
    /// <param name="cancellationToken">Cancels the start (the child process is then stopped).</param>
    /// <returns>The running server; dispose it to stop it.</returns>
    /// <exception cref="FileNotFoundException">prometheus is not on <c>PATH</c> (install the Debian package <c>prometheus</c>).</exception>
    /// <exception cref="ArgumentException">No targets, an empty target, or an interval under 1 ms.</exception>
    /// <exception cref="DirectoryNotFoundException"><paramref name="ruleFilesDir"/> does not exist.</exception>
    /// <exception cref="InvalidOperationException">Prometheus exited or was not ready within 30 s; the message quotes its log.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static Task<PrometheusServer> StartAsync(
        IEnumerable<string> scrapeTargets,
        TimeSpan scrapeInterval,
        string? ruleFilesDir = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scrapeTargets);
        return StartAsync(new Dictionary<string, IEnumerable<string>> { [JobName] = scrapeTargets }, scrapeInterval, ruleFilesDir, cancellationToken);
    }

    /// <summary>
    /// As <see cref="StartAsync(IEnumerable{string}, TimeSpan, string?, CancellationToken)"/> with one
    /// scrape job per entry, named by its key (e.g. <c>exh-engine</c>, <c>exh-canary</c>,
    /// <c>exh-monitor</c>: the job names <c>exh up</c> uses), so rules can select on <c>job</c>.
    /// </summary>
    public static Task<PrometheusServer> StartAsync(
        IReadOnlyDictionary<string, IEnumerable<string>> scrapeJobs,
        TimeSpan scrapeInterval,
        string? ruleFilesDir = null,
        CancellationToken cancellationToken = default) =>
        StartAsync(scrapeJobs, scrapeInterval, ruleFilesDir, alertmanagers: null, cancellationToken);

    /// <summary>
    /// As the overload without <paramref name="alertmanagers"/>, and sends alerts to those
    /// Alertmanagers (<c>host:port</c>; Prometheus's <c>alerting.alertmanagers</c>).
    /// </summary>
    public static async Task<PrometheusServer> StartAsync(
        IReadOnlyDictionary<string, IEnumerable<string>> scrapeJobs,
        TimeSpan scrapeInterval,
        string? ruleFilesDir,
        IEnumerable<string>? alertmanagers,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scrapeJobs);
        var jobs = scrapeJobs.Select(j => (Job: j.Key, Targets: j.Value.ToList())).ToList();
        if (jobs.Count == 0 || jobs.Exists(j => string.IsNullOrWhiteSpace(j.Job) || j.Targets.Count == 0 || j.Targets.Exists(string.IsNullOrWhiteSpace)))
            throw new ArgumentException("At least one job with non-empty host:port targets is required.", nameof(scrapeJobs));
        return await StartCoreAsync(jobs, scrapeInterval, ruleFilesDir, alertmanagers?.ToList(), [], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts a Prometheus that scrapes nothing and takes samples through its remote-write receiver
    /// (<c>--web.enable-remote-write-receiver</c>, fed by <see cref="RemoteWriteAsync"/>), for tests that
    /// need weeks of history they control (SLO reports) without waiting for it.
    /// </summary>
    /// <remarks>
    /// A normal head accepts no sample more than 1 h older than its newest one and cuts a 2 h block
    /// (with an fsync) for every 2 h of data, which makes weeks of backfill slow. Here the head block
    /// spans <paramref name="history"/> (the hidden <c>--storage.tsdb.min-block-duration</c>), so the
    /// whole history stays in the in-memory head: samples may arrive in any series order as long as
    /// each series' samples ascend, and no block is written during the test. Retention is 100 years.
    /// </remarks>
    /// <param name="history">The longest span of history the test writes (default 60 days).</param>
    /// <param name="ruleFilesDir">A directory of rule files to load; null for none.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running server.</returns>
    public static Task<PrometheusServer> StartForRemoteWriteAsync(TimeSpan? history = null, string? ruleFilesDir = null, CancellationToken cancellationToken = default)
    {
        var span = history ?? TimeSpan.FromDays(60);
        if (span < TimeSpan.FromHours(2))
            throw new ArgumentException("The history must be at least 2 h.", nameof(history));
        // The head is cut into a block once it spans 1.5 x min-block-duration; keep it above the history.
        string blockDuration = ((long)Math.Ceiling(span.TotalHours * 2)).ToString(CultureInfo.InvariantCulture) + "h";
        return StartCoreAsync([], TimeSpan.FromSeconds(15), ruleFilesDir, null,
            ["--web.enable-remote-write-receiver", "--storage.tsdb.min-block-duration=" + blockDuration,
             "--storage.tsdb.max-block-duration=" + blockDuration, "--storage.tsdb.retention.time=100y"],
            cancellationToken);
    }

    /// <summary>
    /// Sends series to the remote-write receiver (<c>POST /api/v1/write</c>, protobuf + snappy as
    /// <see cref="PrometheusRemoteWrite.Encode"/>); only for a server from <see cref="StartForRemoteWriteAsync"/>.
    /// </summary>
    /// <param name="series">Series with their samples (each series' samples in ascending time).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="InvalidOperationException">Prometheus refused the request; the message quotes its answer.</exception>
    public async Task RemoteWriteAsync(IEnumerable<RemoteWriteSeries> series, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var content = new ByteArrayContent(PrometheusRemoteWrite.Encode(series));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-protobuf");
        content.Headers.ContentEncoding.Add("snappy");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("api/v1/write", UriKind.Relative)) { Content = content };
        request.Headers.Add("X-Prometheus-Remote-Write-Version", "0.1.0");
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            string body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw new InvalidOperationException($"remote write refused: HTTP {(int)response.StatusCode}: {body}");
        }
    }

    private static async Task<PrometheusServer> StartCoreAsync(
        List<(string Job, List<string> Targets)> jobs,
        TimeSpan scrapeInterval,
        string? ruleFilesDir,
        List<string>? alertmanagers,
        IReadOnlyList<string> extraArguments,
        CancellationToken cancellationToken)
    {
        if (scrapeInterval < TimeSpan.FromMilliseconds(1))
            throw new ArgumentException("The scrape interval must be at least 1 ms.", nameof(scrapeInterval));
        if (ruleFilesDir is not null && !Directory.Exists(ruleFilesDir))
            throw new DirectoryNotFoundException($"Rule files directory '{ruleFilesDir}' does not exist.");

        string binary = ExternalTool.Find("prometheus", "prometheus");
        string directory = Path.Combine(Path.GetTempPath(), "exh-prometheus-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            string configPath = Path.Combine(directory, "prometheus.yml");
            await File.WriteAllTextAsync(configPath, BuildConfig(jobs, scrapeInterval, ruleFilesDir, alertmanagers), cancellationToken).ConfigureAwait(false);

            // A port picked free can be taken before Prometheus binds it: try a few.
            for (int attempt = 1; ; attempt++)
            {
                var server = Launch(binary, directory, configPath, attempt, extraArguments);
                try
                {
                    await server.WaitUntilReadyAsync(cancellationToken).ConfigureAwait(false);
                    return server;
                }
                catch (InvalidOperationException) when (attempt < 3 && server.ReadLog().Contains("address already in use", StringComparison.Ordinal))
                {
                    await server.ShutdownAsync(deleteDirectory: false).ConfigureAwait(false);
                }
                catch
                {
                    await server.ShutdownAsync(deleteDirectory: false).ConfigureAwait(false);
                    throw;
                }
            }
        }
        catch
        {
            TryDeleteDirectory(directory);
            throw;
        }
    }

    /// <summary>Runs an instant query (<c>GET /api/v1/query</c>) at the server's current time.</summary>
    /// <param name="promql">The expression, e.g. <c>rate(exh_trades_total[5s])</c>.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>
    /// One sample per series of an instant vector (empty when nothing matches), or a single
    /// label-less sample for a scalar.
    /// </returns>
    /// <exception cref="PrometheusQueryException">Prometheus rejected the query (bad syntax, execution error) or returned a range vector or string.</exception>
    /// <exception cref="HttpRequestException">The server did not answer.</exception>
    public async Task<IReadOnlyList<PrometheusSample>> QueryAsync(string promql, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(promql);
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var response = await _http.GetAsync(new Uri("api/v1/query?query=" + Uri.EscapeDataString(promql), UriKind.Relative), cancellationToken).ConfigureAwait(false);
        string body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        return ParseQueryResponse(promql, (int)response.StatusCode, body);
    }

    /// <summary>
    /// Polls <paramref name="promql"/> until <paramref name="predicate"/> accepts the result.
    /// </summary>
    /// <param name="promql">The expression to poll every 200 ms.</param>
    /// <param name="predicate">Decides whether the result is the awaited one, e.g. <c>r => r.Count > 0 &amp;&amp; r[0].Value > 0</c>.</param>
    /// <param name="timeout">How long to poll.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The first accepted result.</returns>
    /// <exception cref="TimeoutException">No accepted result within <paramref name="timeout"/>; the message holds the last result and the targets' health.</exception>
    /// <exception cref="PrometheusQueryException">Prometheus rejected the query (retrying would not help).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<IReadOnlyList<PrometheusSample>> WaitForAsync(
        string promql,
        Func<IReadOnlyList<PrometheusSample>, bool> predicate,
        TimeSpan timeout,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        var stopwatch = Stopwatch.StartNew();
        IReadOnlyList<PrometheusSample> last = [];
        while (true)
        {
            last = await QueryAsync(promql, cancellationToken).ConfigureAwait(false);
            if (predicate(last))
                return last;
            if (stopwatch.Elapsed >= timeout)
                break;
            await Task.Delay(_pollInterval, cancellationToken).ConfigureAwait(false);
        }

        string targets;
        try
        {
            targets = string.Join("; ", (await GetTargetsAsync(cancellationToken).ConfigureAwait(false)).Select(t => t.ToString()));
        }
        catch (HttpRequestException e)
        {
            targets = "(unavailable: " + e.Message + ")";
        }
        throw new TimeoutException(
            $"'{promql}' did not give the awaited result within {timeout.TotalSeconds:0.#} s. "
            + $"Last result: [{string.Join(", ", last)}]. Targets: {targets}");
    }

    /// <summary>The active scrape targets and their health (<c>GET /api/v1/targets</c>).</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>One entry per active target.</returns>
    /// <exception cref="HttpRequestException">The server did not answer.</exception>
    public async Task<IReadOnlyList<PrometheusTarget>> GetTargetsAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        string body = await _http.GetStringAsync(new Uri("api/v1/targets", UriKind.Relative), cancellationToken).ConfigureAwait(false);
        using var document = JsonDocument.Parse(body);
        var targets = new List<PrometheusTarget>();
        foreach (var target in document.RootElement.GetProperty("data").GetProperty("activeTargets").EnumerateArray())
        {
            targets.Add(new PrometheusTarget(
                target.GetProperty("scrapeUrl").GetString() ?? string.Empty,
                target.GetProperty("health").GetString() ?? string.Empty,
                target.TryGetProperty("lastError", out var error) ? error.GetString() ?? string.Empty : string.Empty));
        }
        return targets;
    }

    /// <summary>Reads what Prometheus has logged so far.</summary>
    /// <returns>The log text (empty when the file is gone).</returns>
    public string ReadLog()
    {
        lock (_logLock)
        {
            if (!_disposed)
                _log.Flush();
        }
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            return reader.ReadToEnd();
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    /// <summary>Kills the Prometheus child process (and its process tree) and deletes the temporary directory.</summary>
    /// <returns>A task that completes when the process has exited and the directory is gone.</returns>
    public ValueTask DisposeAsync() => new(ShutdownAsync(deleteDirectory: true));

    private static PrometheusServer Launch(string binary, string directory, string configPath, int attempt, IReadOnlyList<string> extraArguments)
    {
        int port = LoopbackPort.Free();
        string logPath = Path.Combine(directory, $"prometheus-{attempt}.log");
        string dataPath = Path.Combine(directory, $"data-{attempt}");
        var startInfo = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        startInfo.ArgumentList.Add("--config.file=" + configPath);
        startInfo.ArgumentList.Add("--storage.tsdb.path=" + dataPath);
        startInfo.ArgumentList.Add("--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture));
        foreach (string argument in extraArguments)
            startInfo.ArgumentList.Add(argument);

        var log = new StreamWriter(new FileStream(logPath, FileMode.Create, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete), new UTF8Encoding(false));
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        PrometheusServer? server = null;
        void Append(object sender, DataReceivedEventArgs e)
        {
            if (e.Data is null || server is null)
                return;
            lock (server._logLock)
            {
                if (!server._disposed)
                    server._log.WriteLine(e.Data);
            }
        }
        process.OutputDataReceived += Append;
        process.ErrorDataReceived += Append;
        try
        {
            if (!process.Start())
                throw new InvalidOperationException("prometheus did not start.");
        }
        catch
        {
            process.Dispose();
            log.Dispose();
            throw;
        }
        server = new PrometheusServer(process, log, directory, new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/"), logPath, configPath);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    private async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < _readyTimeout)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                await _process.WaitForExitAsync(cancellationToken).ConfigureAwait(false); // flush the log readers
                throw new InvalidOperationException(
                    $"prometheus exited with code {_process.ExitCode} before it was ready. Log ({LogPath}):\n{ReadLog()}");
            }
            try
            {
                using var response = await _http.GetAsync(new Uri("-/ready", UriKind.Relative), cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.OK)
                    return;
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
        throw new InvalidOperationException($"prometheus was not ready within {_readyTimeout.TotalSeconds} s. Log ({LogPath}):\n{ReadLog()}");
    }

    private async Task ShutdownAsync(bool deleteDirectory)
    {
        if (_disposed)
            return;
        try
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // never started or already reaped
        }
        catch (OperationCanceledException)
        {
            // did not exit within 10 s of SIGKILL; nothing more we can do
        }
        lock (_logLock)
        {
            if (!_disposed)
            {
                _disposed = true;
                _log.Dispose();
            }
        }
        _process.Dispose();
        _http.Dispose();
        if (deleteDirectory)
            TryDeleteDirectory(_directory);
    }

    private static string BuildConfig(List<(string Job, List<string> Targets)> jobs, TimeSpan interval, string? ruleFilesDir, List<string>? alertmanagers)
    {
        string duration = FormatDuration(interval);
        var sb = new StringBuilder();
        sb.Append("global:\n");
        sb.Append("  scrape_interval: ").Append(duration).Append('\n');
        sb.Append("  scrape_timeout: ").Append(duration).Append('\n');
        sb.Append("  evaluation_interval: ").Append(duration).Append('\n');
        if (ruleFilesDir is not null)
        {
            string dir = Path.GetFullPath(ruleFilesDir);
            sb.Append("rule_files:\n");
            sb.Append("  - ").Append(JsonSerializer.Serialize(Path.Combine(dir, "*.yml"))).Append('\n');
            sb.Append("  - ").Append(JsonSerializer.Serialize(Path.Combine(dir, "*.yaml"))).Append('\n');
        }
        if (alertmanagers is { Count: > 0 })
        {
            sb.Append("alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [")
              .Append(string.Join(", ", alertmanagers.Select(a => JsonSerializer.Serialize(a.Trim())))).Append("]\n");
        }
        sb.Append(jobs.Count == 0 ? "scrape_configs: []\n" : "scrape_configs:\n");
        foreach (var (job, targets) in jobs)
        {
            sb.Append("  - job_name: ").Append(JsonSerializer.Serialize(job)).Append('\n');
            sb.Append("    metrics_path: /metrics\n");
            sb.Append("    static_configs:\n");
            sb.Append("      - targets: [").Append(string.Join(", ", targets.Select(t => JsonSerializer.Serialize(t.Trim())))).Append("]\n");
        }
        return sb.ToString();
    }

    /// <summary>A Prometheus duration: <c>1s</c>, <c>250ms</c>, <c>90s</c>.</summary>
    private static string FormatDuration(TimeSpan interval)
    {
        long milliseconds = (long)interval.TotalMilliseconds;
        return milliseconds % 1000 == 0
            ? (milliseconds / 1000).ToString(CultureInfo.InvariantCulture) + "s"
            : milliseconds.ToString(CultureInfo.InvariantCulture) + "ms";
    }

    private static void TryDeleteDirectory(string directory)
    {
        for (int attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                if (Directory.Exists(directory))
                    Directory.Delete(directory, recursive: true);
                return;
            }
            catch (IOException)
            {
                Thread.Sleep(100);
            }
            catch (UnauthorizedAccessException)
            {
                Thread.Sleep(100);
            }
        }
    }

    internal static IReadOnlyList<PrometheusSample> ParseQueryResponse(string promql, int httpStatus, string body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            throw new PrometheusQueryException(promql, "bad_response", $"HTTP {httpStatus}, not JSON: {body}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.GetProperty("status").GetString() != "success")
            {
                throw new PrometheusQueryException(
                    promql,
                    root.TryGetProperty("errorType", out var type) ? type.GetString() ?? "" : "",
                    root.TryGetProperty("error", out var error) ? error.GetString() ?? "" : $"HTTP {httpStatus}");
            }
            var data = root.GetProperty("data");
            string resultType = data.GetProperty("resultType").GetString() ?? string.Empty;
            var result = data.GetProperty("result");
            switch (resultType)
            {
                case "vector":
                    var samples = new List<PrometheusSample>();
                    foreach (var series in result.EnumerateArray())
                    {
                        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
                        foreach (var label in series.GetProperty("metric").EnumerateObject())
                            labels[label.Name] = label.Value.GetString() ?? string.Empty;
                        var (timestamp, value) = ParsePoint(series.GetProperty("value"));
                        samples.Add(new PrometheusSample(labels, value, timestamp));
                    }
                    return samples;
                case "scalar":
                    var (ts, v) = ParsePoint(result);
                    return [new PrometheusSample(new Dictionary<string, string>(), v, ts)];
                default:
                    throw new PrometheusQueryException(promql, "unsupported_result", $"result type '{resultType}' is not an instant vector or scalar");
            }
        }
    }

    private static (DateTimeOffset Timestamp, double Value) ParsePoint(JsonElement point)
    {
        double seconds = point[0].GetDouble();
        string text = point[1].GetString() ?? "NaN";
        double value = text switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
        };
        return (DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(seconds * 1000)), value);
    }
}

/// <summary>One series of an instant query result.</summary>
/// <param name="Labels">The series labels, <c>__name__</c> included when the expression keeps it.</param>
/// <param name="Value">The sample value (<see cref="double.NaN"/> and infinities as Prometheus gives them).</param>
/// <param name="Timestamp">The evaluation time.</param>
public sealed record PrometheusSample(IReadOnlyDictionary<string, string> Labels, double Value, DateTimeOffset Timestamp)
{
    /// <summary>The value of a label, or null when the series has no such label.</summary>
    /// <param name="name">The label name.</param>
    /// <returns>The label value or null.</returns>
    public string? Label(string name) => Labels.TryGetValue(name, out string? value) ? value : null;

    /// <inheritdoc/>
    public override string ToString() =>
        "{" + string.Join(",", Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}=\"{l.Value}\"")) + "} "
        + Value.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>A scrape target as Prometheus sees it.</summary>
/// <param name="ScrapeUrl">The URL scraped.</param>
/// <param name="Health"><c>up</c>, <c>down</c> or <c>unknown</c> (not scraped yet).</param>
/// <param name="LastError">The last scrape error, empty when the last scrape worked.</param>
public sealed record PrometheusTarget(string ScrapeUrl, string Health, string LastError)
{
    /// <inheritdoc/>
    public override string ToString() => LastError.Length == 0 ? $"{ScrapeUrl} {Health}" : $"{ScrapeUrl} {Health} ({LastError})";
}

/// <summary>Prometheus answered a query with an error.</summary>
public sealed class PrometheusQueryException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="query">The PromQL expression.</param>
    /// <param name="errorType">Prometheus's <c>errorType</c>, e.g. <c>bad_data</c> or <c>execution</c>.</param>
    /// <param name="error">Prometheus's <c>error</c> message.</param>
    public PrometheusQueryException(string query, string errorType, string error)
        : base($"Prometheus rejected '{query}': {errorType}: {error}")
    {
        Query = query;
        ErrorType = errorType;
        Error = error;
    }

    /// <summary>The PromQL expression.</summary>
    public string Query { get; }

    /// <summary>Prometheus's <c>errorType</c>.</summary>
    public string ErrorType { get; }

    /// <summary>Prometheus's <c>error</c> message.</summary>
    public string Error { get; }
}
