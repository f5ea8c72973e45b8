using System.Net;
using ExchangeHealth.Alerting.Host;
using ExchangeHealth.Incidents.Http;
using ExchangeHealth.Incidents.Model;
using ExchangeHealth.Incidents.Store;
using ExchangeHealth.TestKit.Prometheus;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace ExchangeHealth.Incidents.Tests.Http;

/// <summary>
/// <c>exh incidents</c> against a real monitor (<see cref="MonitorHost"/> with the
/// <see cref="IncidentModule"/>, a real Prometheus, a firing page rule): the incident the page opened
/// is listed, shown with its alert, acknowledged from the CLI, and its timeline mixes the automatic
/// events (alerting) with the CLI's.
/// </summary>
[Collection(nameof(ConsoleCaptureCollection))]
public sealed class IncidentsCliMonitorTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "exh-iapi-mon-" + Guid.NewGuid().ToString("N"));
    private PrometheusServer? _prom;

    private string RulesDir => Path.Combine(_dir, "rules");

    private string DataDir => Path.Combine(_dir, "data");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(RulesDir);
        await File.WriteAllTextAsync(Path.Combine(RulesDir, "test.rules.yml"), """
            groups:
              - name: test
                interval: 500ms
                rules:
                  - alert: OrderRejectsHigh
                    expr: label_replace(vector(7), "market", "BTC-USD", "", "")
                    # Fires after the module has subscribed: MonitorHost starts rule evaluation
                    # before its modules, so a page flushed by the very first evaluation opens no
                    # incident (reported to the integrator).
                    for: 1s
                    labels:
                      severity: page
                    annotations:
                      summary: "BTC-USD rejects at 7 per second"
            """);
        _prom = await PrometheusServer.StartAsync(["127.0.0.1:1"], TimeSpan.FromSeconds(1));
    }

    public async Task DisposeAsync()
    {
        if (_prom is not null) await _prom.DisposeAsync();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task PageOpensAnIncident_TheCliListsShowsAndAcknowledgesIt()
    {
        var module = new IncidentModule();
        await using var monitor = await MonitorHost.StartAsync(new MonitorOptions
        {
            PrometheusUrl = _prom!.BaseAddress,
            RulesDirectory = RulesDir,
            DataDirectory = DataDir,
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            EvaluationInterval = TimeSpan.FromMilliseconds(500),
            ConsoleOut = TextWriter.Null,
            Modules = [module],
        });
        // What 'exh monitor' writes at start, and what the CLI reads.
        new MonitorEndpoints(Environment.ProcessId, monitor.BaseAddress, Path.Combine(DataDir, MonitorHost.TokenFileName), DateTimeOffset.UtcNow).Write(DataDir);

        var incident = await WaitForIncidentAsync(module, TimeSpan.FromSeconds(15), () => $"groups {monitor.Rules.Evaluators.Count}, last evaluation {monitor.Rules.Evaluators.FirstOrDefault()?.LastEvaluation?.Timestamp}, unreachable since {monitor.Rules.UnreachableSince}, dispatcher groups {monitor.Dispatcher.GetGroups().Count}, alerts {monitor.Dispatcher.GetAlerts().Count}, dropped {module.DroppedEvents}");
        string id = incident.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var list = await ExhCli.RunAsync("incidents", "list", "--data", DataDir);
        Assert.True(list.ExitCode == 0, list.Error);
        Assert.Matches($@"\n{id}\s+SEV2\s+triggered\s+\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+\S+\s+-\s+OrderRejectsHigh: BTC-USD rejects at 7 per second", list.Out);

        var show = await ExhCli.RunAsync("incidents", "show", id, "--data", DataDir);
        Assert.True(show.ExitCode == 0, show.Error);
        Assert.Contains("Alerts (1)", show.Out, StringComparison.Ordinal);
        Assert.Matches(@"OrderRejectsHigh\s+firing\s+.*market=BTC-USD", show.Out);

        var ack = await ExhCli.RunAsync("incidents", "ack", id, "--data", DataDir, "--by", "oncall-alice");
        Assert.True(ack.ExitCode == 0, ack.Error);
        Assert.Contains("acknowledged by cli:oncall-alice", ack.Out, StringComparison.Ordinal);
        var after = (await module.Service.GetAsync(incident.Id))!;
        Assert.Equal(IncidentStatus.Acknowledged, after.Status);
        Assert.Equal("cli:oncall-alice", after.AcknowledgedBy);

        var again = await ExhCli.RunAsync("incidents", "ack", id, "--data", DataDir);
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("already acknowledged by cli:oncall-alice", again.Error, StringComparison.Ordinal);

        await module.DrainAsync();
        var timeline = await ExhCli.RunAsync("incidents", "timeline", id, "--data", DataDir);
        Assert.True(timeline.ExitCode == 0, timeline.Error);
        Assert.Matches(@"\d\d:\d\d:\d\d\.\d{3}Z\s+alerting\s+\S+\s+alert\.firing\s", timeline.Out);
        Assert.Matches(@"\d\d:\d\d:\d\d\.\d{3}Z\s+incident\s+monitor\s+incident\.opened\s", timeline.Out);
        Assert.Matches(@"\d\d:\d\d:\d\d\.\d{3}Z\s+cli\s+cli:oncall-alice\s+incident\.acknowledged\s", timeline.Out);
    }

    private static async Task<Incident> WaitForIncidentAsync(IncidentModule module, TimeSpan timeout, Func<string> state)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            await module.DrainAsync();
            var open = await module.Service.ListAsync(IncidentFilter.Open);
            if (open.Count > 0) return open[0];
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no incident opened within {timeout}: {state()}");
            await Task.Delay(200);
        }
    }
}
