using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using ExchangeHealth.Alerting.Host;
using ExchangeHealth.Chaos.Slack;
using ExchangeHealth.TestKit.Prometheus;
using Npgsql;
using Xunit.Abstractions;

namespace ExchangeHealth.Alerting.Tests.Ha;

/// <summary>
/// Two monitor nodes in one process on one PostgreSQL database, against a real Prometheus and the
/// Slack stand-in: one leads (evaluates, notifies), the other is a hot standby that takes over
/// when the leader loses its lock, without re-posting anything.
/// </summary>
[Collection(MonitorPostgresCollection.Name)]
public sealed class MonitorFailoverTests(MonitorPostgresFixture postgres, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "exh-ha-" + Guid.NewGuid().ToString("N"));
    private PrometheusServer? _prom;
    private FakeSlackServer? _slack;
    private string _cs = "";

    private string RulesDir => Path.Combine(_dir, "rules");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(RulesDir);
        await File.WriteAllTextAsync(Path.Combine(RulesDir, "first.rules.yml"), """
            groups:
              - name: first
                interval: 500ms
                rules:
                  - alert: FirstAlert
                    expr: label_replace(vector(7), "market", "BTC-USD", "", "")
                    labels:
                      severity: page
                    annotations:
                      summary: "first"
            """);
        var cs = postgres.Server.CreateDatabaseAsync();
        _prom = await PrometheusServer.StartAsync(["127.0.0.1:1"], TimeSpan.FromSeconds(1));
        _slack = await FakeSlackServer.StartAsync();
        _cs = await cs;
    }

    public async Task DisposeAsync()
    {
        if (_prom is not null) await _prom.DisposeAsync();
        if (_slack is not null) await _slack.DisposeAsync();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private async Task<string> RoutingFileAsync(string escalateAfter)
    {
        string routing = Path.Combine(_dir, "routing.yml");
        await File.WriteAllTextAsync(routing, $"""
            route:
              receiver: oncall
              group_by: [alertname, market]
              group_wait: 0s
              group_interval: 1s
              repeat_interval: 4h
            receivers:
              - name: oncall
                slack_configs:
                  - channel: C0ONCALL
                    api_url: {_slack!.BaseUrl}
                    escalate_after: {escalateAfter}
                    escalation_mention: "<!subteam^S0SRE>"
            """);
        return routing;
    }

    private Task<MonitorHost> StartNodeAsync(string node, string routing, TimeSpan? staleAfter = null) => MonitorHost.StartAsync(new MonitorOptions
    {
        LeaderStaleAfter = staleAfter ?? TimeSpan.FromSeconds(10),
        PrometheusUrl = _prom!.BaseAddress,
        RulesDirectory = RulesDir,
        RoutingFile = routing,
        DataDirectory = Path.Combine(_dir, node),
        Listen = new IPEndPoint(IPAddress.Loopback, 0),
        SlackBotToken = FakeSlackServer.DefaultToken,
        EvaluationInterval = TimeSpan.FromMilliseconds(500),
        ConsoleOut = TextWriter.Null,
        PostgresConnectionString = _cs,
        NodeId = node,
    });

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > timeout) throw new TimeoutException($"{what}: not within {timeout}");
            await Task.Delay(50);
        }
    }

    private static async Task<JsonNode> GetStatusAsync(MonitorHost host)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(host.BaseAddress, "api/v1/status"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", host.ApiToken);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    private void AssertNothingPostedTwice()
    {
        var dupes = _slack!.Messages.Where(m => m.DedupKey is not null)
            .GroupBy(m => (m.DedupKey, m.Part)).Where(g => g.Count() > 1).Select(g => $"{g.Key.DedupKey}/{g.Key.Part} x{g.Count()}").ToList();
        Assert.True(dupes.Count == 0, "posted twice: " + string.Join(", ", dupes));
    }

    [Fact]
    public async Task LeaderLosesItsSession_StandbyTakesOver_NothingPostedTwice_PendingEscalationStillFires()
    {
        string routing = await RoutingFileAsync(escalateAfter: "8s");
        await using var a = await StartNodeAsync("node-a", routing);
        await WaitUntilAsync(() => a.IsLeader, TimeSpan.FromSeconds(30), "node-a leads");
        await using var b = await StartNodeAsync("node-b", routing);
        int evaluationsA = 0, evaluationsB = 0;
        a.Rules.Evaluated += (_, _) => Interlocked.Increment(ref evaluationsA);
        b.Rules.Evaluated += (_, _) => Interlocked.Increment(ref evaluationsB);

        // The leader evaluates and posts the page once; the standby evaluates nothing.
        var page = await _slack!.WaitForRequestAsync(r => r.Method == "chat.postMessage" && r.Processed && r.Arg("thread_ts") is null, TimeSpan.FromSeconds(15));
        await Task.Delay(1500);
        Assert.False(b.IsLeader);
        Assert.True(Volatile.Read(ref evaluationsA) > 0);
        Assert.Equal(0, Volatile.Read(ref evaluationsB));
        Assert.Empty(b.Rules.Evaluators);
        var statusB = await GetStatusAsync(b);
        Assert.Equal(("node-b", "standby", "node-a"), ((string?)statusB["node"], (string?)statusB["role"], (string?)statusB["leader"]?["node"]));
        Assert.Equal(a.BaseAddress.AbsoluteUri, (string?)statusB["leader"]?["url"]);
        var statusA = await GetStatusAsync(a);
        Assert.Equal(("leader", "postgresql"), ((string?)statusA["role"], (string?)statusA["storage"]));
        Assert.NotNull((string?)statusA["leaderSince"]);
        string metrics = a.MetricsHandler.ScrapeToString();
        Assert.Contains("exh_monitor_leader{node=\"node-a\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("exh_monitor_leader{node=\"node-b\"} 0", metrics, StringComparison.Ordinal);

        // Alertmanager intake on the standby: 503 naming the leader.
        using (var http = new HttpClient())
        using (var intake = new HttpRequestMessage(HttpMethod.Post, new Uri(b.BaseAddress, "api/v1/alerts/alertmanager")) { Content = new StringContent("{}", Encoding.UTF8, "application/json") })
        {
            intake.Headers.Authorization = new AuthenticationHeaderValue("Bearer", b.ApiToken);
            using var response = await http.SendAsync(intake);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Contains(a.BaseAddress.AbsoluteUri, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // The leader's session dies (as when its connection breaks): it steps down, the standby takes over.
        var killed = Stopwatch.StartNew();
        await using (var admin = new NpgsqlConnection(_cs + ";Pooling=false"))
        {
            await admin.OpenAsync();
            await using var cmd = new NpgsqlCommand("SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'exh-monitor node-a'", admin);
            Assert.Equal(1L, await cmd.ExecuteScalarAsync());
        }
        await WaitUntilAsync(() => b.IsLeader, TimeSpan.FromSeconds(15), "node-b takes over");
        var takeover = killed.Elapsed;
        output.WriteLine($"takeover after the leader's session died: {takeover.TotalMilliseconds:F0} ms");
        Assert.True(takeover <= TimeSpan.FromSeconds(15), takeover.ToString());
        // node-a notices at its next check (≤ 1 s): until then both run (see docs: the outbox lease and
        // the unique dedup keys keep that window from posting twice).
        await a.Leadership!.Lost.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(a.IsLeader);
        Assert.True(a.Leadership.Fenced);
        output.WriteLine($"node-a stepped down {killed.ElapsedMilliseconds} ms after its session died");

        // node-a evaluates no more; node-b does, and a new alert fires and is posted by node-b.
        int frozenA = Volatile.Read(ref evaluationsA);
        await File.WriteAllTextAsync(Path.Combine(RulesDir, "second.rules.yml"), """
            groups:
              - name: second
                interval: 500ms
                rules:
                  - alert: SecondAlert
                    expr: label_replace(vector(3), "market", "ETH-USD", "", "")
                    labels:
                      severity: ticket
            """);
        var second = await _slack.WaitForRequestAsync(r => r.Method == "chat.postMessage" && r.Processed && r.Body.ToJsonString().Contains("SecondAlert", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
        Assert.NotNull(second);
        Assert.True(Volatile.Read(ref evaluationsB) > 0);
        Assert.Equal(frozenA, Volatile.Read(ref evaluationsA));

        // The page's escalation, pending when node-a stepped down, fires once, on node-b.
        var escalation = await _slack.WaitForRequestAsync(r => r.Method == "chat.postMessage" && r.Arg("thread_ts") is not null && r.Body.ToJsonString().Contains("S0SRE", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
        Assert.NotNull(escalation);
        await Task.Delay(1500);
        Assert.Single(_slack.Requests, r => r.Method == "chat.postMessage" && r.Processed && r.Body.ToJsonString().Contains("S0SRE", StringComparison.Ordinal)
            && r.Body.ToJsonString().Contains("FirstAlert", StringComparison.Ordinal)); // SecondAlert escalates too, 8 s after its page
        Assert.Single(_slack.Requests, r => r.Method == "chat.postMessage" && r.Processed && r.Arg("thread_ts") is null && r.Body.ToJsonString().Contains("FirstAlert", StringComparison.Ordinal));
        AssertNothingPostedTwice();
        var statusAfter = await GetStatusAsync(b);
        Assert.Equal(("leader", "node-b"), ((string?)statusAfter["role"], (string?)statusAfter["leader"]?["node"]));
    }

    [Fact]
    public async Task LeaderProcessKilledWithSigkill_InProcessStandbyTakesOverWithinTheBound()
    {
        string routing = await RoutingFileAsync(escalateAfter: "8s");
        var (child, gate, writer, Log) = StartChild("node-a", routing, _cs);
        try
        {
            // The child leads (its page is posted); the in-process node is the standby.
            var page = await _slack!.WaitForRequestAsync(r => r.Method == "chat.postMessage" && r.Processed && r.Arg("thread_ts") is null, TimeSpan.FromSeconds(30));
            Assert.False(child.HasExited, Log());
            await using var b = await StartNodeAsync("node-b", routing);
            await Task.Delay(1500);
            Assert.False(b.IsLeader, Log());
            Assert.Equal("node-a", (await b.Leadership!.GetLeaderAsync())!.NodeId);

            // kill -9 the leader.
            long firstEvaluationMs = -1;
            var killed = Stopwatch.StartNew();
            b.Rules.Evaluated += (_, _) => Interlocked.CompareExchange(ref firstEvaluationMs, killed.ElapsedMilliseconds, -1);
            child.Kill(entireProcessTree: false);
            await WaitUntilAsync(() => b.IsLeader, TimeSpan.FromSeconds(15), "node-b takes over after SIGKILL");
            var takeover = killed.Elapsed;
            await WaitUntilAsync(() => Interlocked.Read(ref firstEvaluationMs) >= 0, TimeSpan.FromSeconds(15), "node-b evaluates");
            output.WriteLine($"takeover after SIGKILL of the leader process: {takeover.TotalMilliseconds:F0} ms (lock), first evaluation on the new leader after {Interlocked.Read(ref firstEvaluationMs)} ms");
            Assert.True(takeover <= TimeSpan.FromSeconds(15), takeover.ToString());
            await child.WaitForExitAsync();

            // node-b evaluates: a new alert is posted; the old page is not re-posted; its escalation fires once.
            await File.WriteAllTextAsync(Path.Combine(RulesDir, "second.rules.yml"), """
                groups:
                  - name: second
                    interval: 500ms
                    rules:
                      - alert: SecondAlert
                        expr: label_replace(vector(3), "market", "ETH-USD", "", "")
                        labels:
                          severity: ticket
                """);
            await _slack.WaitForRequestAsync(r => r.Method == "chat.postMessage" && r.Processed && r.Body.ToJsonString().Contains("SecondAlert", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
            await _slack.WaitForRequestAsync(r => r.Method == "chat.postMessage" && r.Arg("thread_ts") is not null && r.Body.ToJsonString().Contains("S0SRE", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
            await Task.Delay(1500);
            Assert.Single(_slack.Requests, r => r.Method == "chat.postMessage" && r.Processed && r.Body.ToJsonString().Contains("S0SRE", StringComparison.Ordinal)
            && r.Body.ToJsonString().Contains("FirstAlert", StringComparison.Ordinal)); // SecondAlert escalates too, 8 s after its page
            Assert.Single(_slack.Requests, r => r.Method == "chat.postMessage" && r.Processed && r.Arg("thread_ts") is null && r.Body.ToJsonString().Contains("FirstAlert", StringComparison.Ordinal));
            AssertNothingPostedTwice();
            Assert.NotNull(page);
        }
        finally
        {
            if (!child.HasExited) child.Kill();
            await child.WaitForExitAsync();
            lock (gate) writer.Dispose();
            child.Dispose();
        }
    }

    /// <summary><c>dotnet exh.dll monitor</c> as node <paramref name="node"/>, output to a log file.</summary>
    private (Process Child, object Gate, StreamWriter Writer, Func<string> Log) StartChild(string node, string routing, string connectionString)
    {
        string exh = Path.Combine(AppContext.BaseDirectory, "exh.dll");
        Assert.True(File.Exists(exh), exh);
        string data = Path.Combine(_dir, node);
        Directory.CreateDirectory(data);
        string log = Path.Combine(_dir, node + ".log");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = _dir };
        foreach (string arg in new[]
        {
            exh, "monitor", "--prometheus", _prom!.BaseAddress.AbsoluteUri, "--rules", RulesDir, "--routing", routing, "--data", data,
            "--listen", "127.0.0.1:0", "--evaluation-interval", "500ms", "--node-id", node, "--no-incidents", "--slo-specs", "none",
        }) psi.ArgumentList.Add(arg);
        psi.Environment["EXH_MONITOR_POSTGRES"] = connectionString;
        psi.Environment["SLACK_BOT_TOKEN"] = FakeSlackServer.DefaultToken;
        psi.Environment.Remove("EXH_INCIDENTS_POSTGRES");
        var child = Process.Start(psi)!;
        var writer = new StreamWriter(new FileStream(log, FileMode.Create, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        object gate = new();
        child.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (gate) writer.WriteLine(e.Data); };
        child.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (gate) writer.WriteLine(e.Data); };
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        string Log()
        {
            lock (gate) writer.Flush();
            using var f = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return new StreamReader(f).ReadToEnd();
        }
        return (child, gate, writer, Log);
    }

    [Fact]
    public async Task FrozenLeaderProcess_SigstopThenSigcont_IsReplacedAndExitsWhenItWakes()
    {
        string routing = await RoutingFileAsync(escalateAfter: "5m");
        var (child, gate, writer, log) = StartChild("node-a", routing, _cs);
        try
        {
            await _slack!.WaitForRequestAsync(r => r.Method == "chat.postMessage" && r.Processed, TimeSpan.FromSeconds(30));
            await using var b = await StartNodeAsync("node-b", routing, staleAfter: TimeSpan.FromSeconds(4));
            await Task.Delay(1000);
            Assert.False(b.IsLeader, log());

            // A gray failure: the leader freezes; its kernel keeps the TCP session (and the lock) alive.
            var frozen = Stopwatch.StartNew();
            Assert.Equal(0, Signal(child.Id, "STOP"));
            await WaitUntilAsync(() => b.IsLeader, TimeSpan.FromSeconds(15), "node-b replaces the frozen leader");
            output.WriteLine($"takeover from a frozen (SIGSTOP) leader with a 4 s stale limit: {frozen.ElapsedMilliseconds} ms");
            Assert.True(frozen.Elapsed <= TimeSpan.FromSeconds(15));

            // It wakes up, finds its lock session gone, steps down and exits 3.
            Assert.Equal(0, Signal(child.Id, "CONT"));
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await child.WaitForExitAsync(cts.Token);
            string output1 = log();
            Assert.True(child.ExitCode == 3, $"exit code {child.ExitCode}:\n{output1}");
            await File.WriteAllTextAsync(Path.Combine(RulesDir, "second.rules.yml"), """
                groups:
                  - name: second
                    interval: 500ms
                    rules:
                      - alert: SecondAlert
                        expr: label_replace(vector(3), "market", "ETH-USD", "", "")
                        labels:
                          severity: ticket
                """);
            await _slack.WaitForRequestAsync(r => r.Method == "chat.postMessage" && r.Processed && r.Body.ToJsonString().Contains("SecondAlert", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
            await Task.Delay(1500);
            Assert.Single(_slack.Requests, r => r.Method == "chat.postMessage" && r.Processed && r.Arg("thread_ts") is null && r.Body.ToJsonString().Contains("FirstAlert", StringComparison.Ordinal));
            AssertNothingPostedTwice();
        }
        finally
        {
            if (!child.HasExited)
            {
                Signal(child.Id, "CONT");
                child.Kill();
            }
            await child.WaitForExitAsync();
            lock (gate) writer.Dispose();
            child.Dispose();
        }
    }

    private static int Signal(int pid, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false })!;
        kill.WaitForExit();
        return kill.ExitCode;
    }

    [Fact]
    public async Task ExhMonitorProcess_ThatLosesLeadership_ExitsWithCode3_AndNeverLogsThePassword()
    {
        string routing = await RoutingFileAsync(escalateAfter: "5m");
        // Trust authentication ignores the password: it is there to be looked for in the output.
        var (child, gate, writer, log) = StartChild("node-a", routing, _cs + ";Password=hunter2-not-logged");
        try
        {
            await _slack!.WaitForRequestAsync(r => r.Method == "chat.postMessage" && r.Processed, TimeSpan.FromSeconds(30));
            await using (var admin = new NpgsqlConnection(_cs + ";Pooling=false"))
            {
                await admin.OpenAsync();
                await using var cmd = new NpgsqlCommand("SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'exh-monitor node-a'", admin);
                Assert.Equal(1L, await cmd.ExecuteScalarAsync());
            }
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await child.WaitForExitAsync(cts.Token);
            string output = log();
            Assert.True(child.ExitCode == 3, $"exit code {child.ExitCode}:\n{output}");
            Assert.Contains("leadership lost", output, StringComparison.Ordinal);
            Assert.Contains("state in postgresql://postgres@127.0.0.1:", output, StringComparison.Ordinal);
            Assert.DoesNotContain("hunter2", output, StringComparison.Ordinal);
        }
        finally
        {
            if (!child.HasExited) child.Kill();
            await child.WaitForExitAsync();
            lock (gate) writer.Dispose();
            child.Dispose();
        }
    }

    [Fact]
    public async Task ClusteredQuartzStore_IsInTheSharedDatabase_AndTheLeaderIsItsOnlyActiveInstance()
    {
        string routing = await RoutingFileAsync(escalateAfter: "5m");
        await using var a = await StartNodeAsync("node-a", routing);
        await WaitUntilAsync(() => a.IsLeader, TimeSpan.FromSeconds(30), "node-a leads");
        await using var b = await StartNodeAsync("node-b", routing);
        await _slack!.WaitForRequestAsync(r => r.Method == "chat.postMessage" && r.Processed, TimeSpan.FromSeconds(15));
        await using var admin = new NpgsqlConnection(_cs + ";Pooling=false");
        await admin.OpenAsync();
        async Task<List<string>> ListAsync(string sql)
        {
            await using var cmd = new NpgsqlCommand(sql, admin);
            await using var r = await cmd.ExecuteReaderAsync();
            var list = new List<string>();
            while (await r.ReadAsync()) list.Add(r.GetString(0));
            return list;
        }
        // Quartz's checked-in instances: only the leader's scheduler runs; the page's escalation trigger is persisted.
        Assert.Equal(["node-a"], await ListAsync("SELECT instance_name FROM qrtz_scheduler_state"));
        // (the trigger is stored right after the outbox entry, so Slack may have the post first)
        var sw = Stopwatch.StartNew();
        while (!(await ListAsync("SELECT trigger_group FROM qrtz_triggers")).Contains("exh-escalations") && sw.Elapsed < TimeSpan.FromSeconds(5)) await Task.Delay(100);
        Assert.Contains("exh-escalations", await ListAsync("SELECT trigger_group FROM qrtz_triggers"));
        Assert.Contains("exh-rule-groups", await ListAsync("SELECT trigger_group FROM qrtz_triggers"));
        Assert.False(File.Exists(Path.Combine(_dir, "node-a", "monitor.db"))); // no SQLite state beside PostgreSQL
    }

    [Fact]
    public async Task GracefulStopOfTheLeader_HandsOverWithinAboutASecond_WithoutRepost()
    {
        string routing = await RoutingFileAsync(escalateAfter: "5m");
        var a = await StartNodeAsync("node-a", routing);
        await using var b = await StartNodeAsync("node-b", routing);
        try
        {
            await WaitUntilAsync(() => a.IsLeader, TimeSpan.FromSeconds(30), "node-a leads");
            Assert.False(b.IsLeader);
            await _slack!.WaitForRequestAsync(r => r.Method == "chat.postMessage" && r.Processed, TimeSpan.FromSeconds(15));
        }
        finally
        {
            var stopping = Stopwatch.StartNew();
            await a.DisposeAsync();
            output.WriteLine($"node-a stopped in {stopping.ElapsedMilliseconds} ms");
        }
        var sw = Stopwatch.StartNew();
        await WaitUntilAsync(() => b.IsLeader, TimeSpan.FromSeconds(5), "node-b takes over");
        output.WriteLine($"takeover after a graceful stop: {sw.ElapsedMilliseconds} ms");
        await WaitUntilAsync(() => b.Rules.Evaluators.Count > 0, TimeSpan.FromSeconds(10), "node-b evaluates");
        await Task.Delay(3000);
        Assert.Single(_slack!.Requests, r => r.Method == "chat.postMessage" && r.Processed);
        Assert.Contains(b.Dispatcher.GetAlerts(), x => x.Alert.Name == "FirstAlert"); // restored, not re-posted
    }
}

/// <summary>Without <c>EXH_MONITOR_POSTGRES</c> nothing of the cluster is in play: one node, always leading, on SQLite.</summary>
public sealed class SqliteDefaultTests
{
    [Fact]
    public async Task WithoutPostgres_TheNodeLeadsAlone_OnItsSqliteFile()
    {
        string dir = Path.Combine(Path.GetTempPath(), "exh-ha-sqlite-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(dir, "rules"));
        try
        {
            await using (var host = await MonitorHost.StartAsync(new MonitorOptions
            {
                PrometheusUrl = new Uri("http://127.0.0.1:1/"),
                RulesDirectory = Path.Combine(dir, "rules"),
                DataDirectory = Path.Combine(dir, "data"),
                Listen = new IPEndPoint(IPAddress.Loopback, 0),
                ConsoleOut = TextWriter.Null,
            }))
            {
                Assert.Null(host.Leadership);
                Assert.True(host.IsLeader);
                Assert.NotNull(host.LeaderSince);
                Assert.Equal(MonitorLeadership.DefaultNodeId(), host.NodeId);
                Assert.Equal(ExchangeHealth.Monitor.Storage.MonitorDatabaseDialect.Sqlite, host.Database.Dialect);
                Assert.True(File.Exists(Path.Combine(dir, "data", "monitor.db")));
                Assert.NotNull(host.Rules.Scheduler);
                using var http = new HttpClient();
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(host.BaseAddress, "api/v1/status"));
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", host.ApiToken);
                using var response = await http.SendAsync(request);
                var status = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
                Assert.Equal(("leader", "sqlite", host.NodeId), ((string?)status["role"], (string?)status["storage"], (string?)status["leader"]?["node"]));
                Assert.Contains($"exh_monitor_leader{{node=\"{host.NodeId}\"}} 1", host.MetricsHandler.ScrapeToString(), StringComparison.Ordinal);
            }
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }
}
