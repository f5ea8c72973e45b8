using System.Net;
using ExchangeHealth.Chaos.Platform;

namespace ExchangeHealth.Chaos.Tests.Platform;

/// <summary>A real platform (engine, Prometheus, monitor, canary, load as child processes) and what the supervisor does with it.</summary>
public sealed class PlatformSupervisorTests(PlatformFixture fixture) : IClassFixture<PlatformFixture>
{
    private PlatformSupervisor P => fixture.Platform;

    [Fact]
    public async Task Every_component_is_ready_scraped_and_the_monitor_evaluates()
    {
        Assert.Equal([ComponentNames.Engine, ComponentNames.Prometheus, ComponentNames.Monitor, ComponentNames.Canary, ComponentNames.Load], P.Components);
        // The platform is shared by this class: another test kills the order flow, which the
        // supervisor restarts within 5 s; wait for every component to run before looking.
        var running = DateTime.UtcNow.AddSeconds(20);
        while (P.Components.Any(c => P.StateOf(c) != ComponentState.Running) && DateTime.UtcNow < running) await Task.Delay(200);
        foreach (string c in P.Components)
        {
            Assert.Equal(ComponentState.Running, P.StateOf(c));
            int pid = Assert.IsType<int>(P.PidOf(c));
            // The PID is the program's own (sh exec'ed it), and its command line is the one in up.json.
            Assert.Contains(P.CommandOf(c)[^1], PlatformFixture.CommandLine(pid), StringComparison.Ordinal);
            Assert.True(File.Exists(P.LogOf(c)), $"{c} has no log");
        }

        // Prometheus scrapes the three jobs the rules and dashboards select on.
        await fixture.WaitForQueryAsync("up", r => new[] { "exh-engine", "exh-canary", "exh-monitor" }.All(job => r.Any(s => s.Labels["job"] == job && s.Value == 1)),
            TimeSpan.FromSeconds(15));
        // Order flow reaches the engine.
        await fixture.WaitForQueryAsync("sum(exh_orders_received_total{job=\"exh-engine\"})", r => r.Count == 1 && r[0].Value > 0, TimeSpan.FromSeconds(15));
        // Prometheus loaded the repository's alert rules (its own ALERTS for comparison).
        using var rules = await fixture.Http.GetAsync(new Uri(P.Endpoints.Prometheus, "api/v1/rules"));
        Assert.Contains("MatcherStalled", await rules.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The monitor loaded the rules without errors and evaluates them.
        using (var status = await fixture.MonitorGetAsync("api/v1/status"))
        {
            Assert.True(status.RootElement.GetProperty("ruleGroups").GetInt32() > 0);
            Assert.Equal(0, status.RootElement.GetProperty("ruleErrors").GetArrayLength());
        }
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            using var view = await fixture.MonitorGetAsync("api/v1/rules");
            if (view.RootElement.GetProperty("groups").EnumerateArray().Any(g => g.GetProperty("lastEvaluation").ValueKind == System.Text.Json.JsonValueKind.String)) break;
            Assert.True(DateTime.UtcNow < deadline, "the monitor evaluated no rule group within 10 s");
            await Task.Delay(200);
        }

        // up.json names every component's PID, no secret.
        string manifest = File.ReadAllText(P.ManifestPath);
        foreach (string c in P.Components) Assert.Contains($"\"pid\": {P.PidOf(c)}", manifest, StringComparison.Ordinal);
        string admin = ExchangeHealth.Engine.Gateway.EngineCredentials.Load(Path.Combine(P.Endpoints.EngineData, "credentials.yaml")).AdminToken;
        Assert.DoesNotContain(admin, manifest, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_killed_engine_restarts_on_the_same_ports_and_Prometheus_sees_it_again()
    {
        int before = P.PidOf(ComponentNames.Engine)!.Value;
        var tcp = P.Endpoints.EngineTcp;
        await P.SignalAsync(ComponentNames.Engine, ComponentSignal.Kill);
        Assert.Null(PlatformFixture.ProcessState(before));
        Assert.Equal(ComponentState.Exited, P.StateOf(ComponentNames.Engine));
        Assert.Null(P.PidOf(ComponentNames.Engine));
        await Assert.ThrowsAsync<InvalidOperationException>(() => P.SignalAsync(ComponentNames.Engine, ComponentSignal.Kill));
        await fixture.WaitForQueryAsync("up{job=\"exh-engine\"}", r => r.Count == 1 && r[0].Value == 0, TimeSpan.FromSeconds(10));

        await P.StartAsync(ComponentNames.Engine);
        int after = P.PidOf(ComponentNames.Engine)!.Value;
        Assert.NotEqual(before, after);
        Assert.Equal(tcp, P.Endpoints.EngineTcp);
        using (var ready = await fixture.Http.GetAsync(new Uri(P.Endpoints.EngineHttp, "ready"))) Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        await fixture.WaitForQueryAsync("up{job=\"exh-engine\"}", r => r.Count == 1 && r[0].Value == 1, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Stop_freezes_and_Continue_thaws_the_process()
    {
        int pid = P.PidOf(ComponentNames.Canary)!.Value;
        await P.SignalAsync(ComponentNames.Canary, ComponentSignal.Stop);
        try
        {
            Assert.Equal(ComponentState.Frozen, P.StateOf(ComponentNames.Canary));
            Assert.Equal('T', PlatformFixture.ProcessState(pid));
            using var quick = new HttpClient { Timeout = TimeSpan.FromMilliseconds(700) };
            await Assert.ThrowsAnyAsync<Exception>(() => quick.GetAsync(new Uri(P.Endpoints.Canary, "health")));
        }
        finally
        {
            await P.SignalAsync(ComponentNames.Canary, ComponentSignal.Continue);
        }
        Assert.Equal(ComponentState.Running, P.StateOf(ComponentNames.Canary));
        Assert.NotEqual('T', PlatformFixture.ProcessState(pid));
        using var health = await fixture.Http.GetAsync(new Uri(P.Endpoints.Canary, "health"));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(pid, P.PidOf(ComponentNames.Canary));
    }

    [Fact]
    public async Task A_second_start_on_the_same_data_directory_is_refused_while_the_first_runs()
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => PlatformSupervisor.StartAsync(PlatformFixture.Options(fixture.DataDirectory)));
        Assert.Contains($"engine (pid {P.PidOf(ComponentNames.Engine)})", e.Message, StringComparison.Ordinal);
        Assert.Contains("kill -TERM", e.Message, StringComparison.Ordinal);
        // The refused start touched nothing of the running platform.
        Assert.Equal(ComponentState.Running, P.StateOf(ComponentNames.Prometheus));
        using var ready = await fixture.Http.GetAsync(new Uri(P.Endpoints.Prometheus, "-/ready"));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact]
    public async Task The_order_flow_is_reported_and_restarted_when_it_exits()
    {
        int before = P.PidOf(ComponentNames.Load)!.Value;
        var exited = new TaskCompletionSource<ComponentExitedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnExit(object? sender, ComponentExitedEventArgs e)
        {
            if (e.Component == ComponentNames.Load) exited.TrySetResult(e);
        }
        P.ComponentExited += OnExit;
        try
        {
            await P.SignalAsync(ComponentNames.Load, ComponentSignal.Kill);
            var e = await exited.Task.WaitAsync(TimeSpan.FromSeconds(5));
            Assert.Equal(before, e.Pid);
            Assert.False(e.Expected);
        }
        finally
        {
            P.ComponentExited -= OnExit;
        }
        var deadline = DateTime.UtcNow.AddSeconds(10);
        // The new PID is recorded a moment before the "load restarted" line is written: wait for both.
        while ((P.PidOf(ComponentNames.Load) is null || !fixture.Progress.ToString().Contains("load restarted", StringComparison.Ordinal))
               && DateTime.UtcNow < deadline) await Task.Delay(100);
        int after = Assert.IsType<int>(P.PidOf(ComponentNames.Load));
        Assert.NotEqual(before, after);
        Assert.Contains($"load (pid {before}) exited unexpectedly", fixture.Progress.ToString(), StringComparison.Ordinal);
        Assert.Contains("load restarted", fixture.Progress.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_components_are_refused()
    {
        Assert.Throws<ArgumentException>(() => P.PidOf("nope"));
        await Assert.ThrowsAsync<ArgumentException>(() => P.SignalAsync("nope", ComponentSignal.Kill));
    }
}

/// <summary>Platform lifecycle without a shared platform: disposal stops every child by PID in reverse order, a restart on the same data directory, refusals before anything starts.</summary>
public sealed class PlatformLifecycleTests
{
    [Fact]
    public async Task Dispose_stops_every_child_and_a_new_start_is_then_allowed()
    {
        string data = Path.Combine(Path.GetTempPath(), "exh-up-test-" + Guid.NewGuid().ToString("N")[..10]);
        var progress = new StringWriter();
        try
        {
            var platform = await PlatformSupervisor.StartAsync(PlatformFixture.Options(data, OrderFlow.None), TextWriter.Synchronized(progress));
            Assert.DoesNotContain(ComponentNames.Load, platform.Components);
            var pids = platform.Components.Select(c => platform.PidOf(c)!.Value).ToList();
            await platform.SignalAsync(ComponentNames.Monitor, ComponentSignal.Stop); // a frozen child is thawed, then stopped
            await platform.DisposeAsync();

            foreach (int pid in pids) Assert.Null(PlatformFixture.ProcessState(pid));
            foreach (string c in platform.Components) Assert.Equal(ComponentState.Exited, platform.StateOf(c));
            string text = progress.ToString();
            Assert.True(text.IndexOf("canary stopped", StringComparison.Ordinal) < text.IndexOf("engine stopped", StringComparison.Ordinal), text);
            Assert.DoesNotContain("SIGKILL", text, StringComparison.Ordinal); // every child stopped on SIGTERM
            var manifest = PlatformManifest.TryRead(Path.Combine(data, PlatformSupervisor.ManifestFileName));
            Assert.NotNull(manifest);
            Assert.All(manifest.Components, c => Assert.Null(c.Pid));

            // The same data directory starts again, and the engine recovers the journal it had written.
            string stopped = System.Text.RegularExpressions.Regex.Match(File.ReadAllText(platform.LogOf(ComponentNames.Engine)), @"stopped at sequence (\d+)").Groups[1].Value;
            Assert.NotEqual("", stopped);
            await using var again = await PlatformSupervisor.StartAsync(PlatformFixture.Options(data, OrderFlow.None));
            Assert.Equal(ComponentState.Running, again.StateOf(ComponentNames.Engine));
            Assert.Contains($"recovered {Path.Combine(data, "engine")} to sequence {stopped} ", File.ReadAllText(again.LogOf(ComponentNames.Engine)), StringComparison.Ordinal);
        }
        finally
        {
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task A_taken_fixed_port_is_named_before_anything_starts()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        int port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        string data = Path.Combine(Path.GetTempPath(), "exh-up-port-" + Guid.NewGuid().ToString("N")[..10]);
        try
        {
            var options = PlatformFixture.Options(data, OrderFlow.None) with { Ports = PlatformPorts.Auto with { EngineHttp = port } };
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => PlatformSupervisor.StartAsync(options));
            Assert.Contains($"port {port} (engine HTTP)", e.Message, StringComparison.Ordinal);
            Assert.Contains("--ports-auto", e.Message, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(data, PlatformSupervisor.ManifestFileName))); // nothing was started
        }
        finally
        {
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public void A_manifest_PID_counts_only_while_it_runs_the_recorded_command()
    {
        var self = File.ReadAllText($"/proc/{Environment.ProcessId}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(PlatformManifest.IsSameProcess(Environment.ProcessId, self));
        Assert.False(PlatformManifest.IsSameProcess(Environment.ProcessId, ["/usr/bin/prometheus", "--config.file=/x"])); // a reused PID
        Assert.False(PlatformManifest.IsSameProcess(int.MaxValue - 1, self)); // gone
    }
}
