using ExchangeHealth.Chaos.Slack;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using ExchangeHealth.Alerting.Host;
using ExchangeHealth.TestKit;
using ExchangeHealth.TestKit.Alertmanager;
using ExchangeHealth.TestKit.Prometheus;

namespace ExchangeHealth.Benchmarks;

/// <summary>One run of <see cref="DetectionBench"/>: seconds from the engine's SIGKILL to each stack's first Slack request.</summary>
/// <param name="Ours">Prometheus (1 s scrape) + exh monitor (1 s evaluation, group_wait 0) → Slack Web API.</param>
/// <param name="Tuned">Prometheus (1 s scrape and evaluation) + Alertmanager (group_wait 0, group_interval 1 s) → Slack.</param>
/// <param name="Default">Prometheus (15 s scrape and evaluation, Debian's defaults) + Alertmanager (default group_wait 30 s) → Slack; null when skipped.</param>
public sealed record DetectionRun(double Ours, double Tuned, double? Default)
{
    /// <summary>Ours divided by tuned (goal ≤ 1.0).</summary>
    public double Ratio => Ours / Tuned;
}

/// <summary>
/// Detection latency of a hard-down engine, three stacks side by side on the same fault in the same
/// run: one real engine process is scraped by two real Prometheus servers; a real Alertmanager
/// behind each, and our monitor beside the tuned one; all notify the same Slack-compatible fake,
/// which timestamps arrivals. The engine is killed with SIGKILL and the time to each stack's first
/// request naming <c>EngineDown</c> is measured. Rule for every stack: <c>up{job="exh-engine"} == 0</c>
/// with <c>for: 0s</c>. Each run starts every component afresh.
/// </summary>
public sealed class DetectionBench(int runs, bool includeDefault, TextWriter? progress)
{
    private const string Rule = """
        groups:
          - name: detection
            rules:
              - alert: EngineDown
                expr: up{job="exh-engine"} == 0
                labels:
                  severity: page
                annotations:
                  summary: "engine {{ $labels.instance }} is down"
        """;

    /// <summary>Runs the benchmark.</summary>
    public async Task<IReadOnlyList<DetectionRun>> RunAsync(CancellationToken cancellationToken = default)
    {
        var results = new List<DetectionRun>();
        for (int i = 1; i <= runs; i++)
        {
            var run = await RunOnceAsync(cancellationToken).ConfigureAwait(false);
            progress?.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"run {i}/{runs}: ours {run.Ours:F2} s, tuned Prometheus+Alertmanager {run.Tuned:F2} s (ratio {run.Ratio:F2}){(run.Default is { } d ? $", default stack {d:F1} s" : "")}"));
            results.Add(run);
        }
        return results;
    }

    private async Task<DetectionRun> RunOnceAsync(CancellationToken ct)
    {
        string dir = Path.Combine(Path.GetTempPath(), "exh-detection-" + Guid.NewGuid().ToString("N"));
        string rules = Path.Combine(dir, "rules");
        Directory.CreateDirectory(rules);
        await File.WriteAllTextAsync(Path.Combine(rules, "detection.rules.yml"), Rule, ct).ConfigureAwait(false);
        try
        {
            await using var slack = await FakeSlackServer.StartAsync().ConfigureAwait(false);
            await using var engine = await EngineProcess.StartAsync(Path.Combine(dir, "engine")).ConfigureAwait(false);
            string target = engine.HttpAddress.Authority;
            var jobs = new Dictionary<string, IEnumerable<string>> { ["exh-engine"] = [target] };

            await using var amTuned = await AlertmanagerServer.StartAsync(AlertmanagerConfig(slack.BaseUrl + "am-tuned", tuned: true), ct).ConfigureAwait(false);
            await using var promTuned = await PrometheusServer.StartAsync(jobs, TimeSpan.FromSeconds(1), rules, [amTuned.BaseAddress.Authority], ct).ConfigureAwait(false);
            AlertmanagerServer? amDefault = null;
            PrometheusServer? promDefault = null;
            try
            {
                if (includeDefault)
                {
                    amDefault = await AlertmanagerServer.StartAsync(AlertmanagerConfig(slack.BaseUrl + "am-default", tuned: false), ct).ConfigureAwait(false);
                    promDefault = await PrometheusServer.StartAsync(jobs, TimeSpan.FromSeconds(15), rules, [amDefault.BaseAddress.Authority], ct).ConfigureAwait(false);
                }
                string routing = Path.Combine(dir, "routing.yml");
                await File.WriteAllTextAsync(routing, $"""
                    route:
                      receiver: oncall
                      group_by: [alertname]
                      group_wait: 0s
                      group_interval: 1s
                    receivers:
                      - name: oncall
                        slack_configs:
                          - channel: C0DETECT
                            api_url: {slack.BaseUrl}
                    """, ct).ConfigureAwait(false);
                await using var monitor = await MonitorHost.StartAsync(new MonitorOptions
                {
                    PrometheusUrl = promTuned.BaseAddress,
                    RulesDirectory = rules,
                    RoutingFile = routing,
                    DataDirectory = Path.Combine(dir, "monitor"),
                    Listen = new IPEndPoint(IPAddress.Loopback, 0),
                    SlackBotToken = FakeSlackServer.DefaultToken,
                    EvaluationInterval = TimeSpan.FromSeconds(1),
                    ConsoleOut = TextWriter.Null,
                }, cancellationToken: ct).ConfigureAwait(false);

                // Every stack must have seen the engine up before the fault.
                await promTuned.WaitForAsync("up{job=\"exh-engine\"} == 1", r => r.Count == 1, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
                if (promDefault is not null)
                    await promDefault.WaitForAsync("up{job=\"exh-engine\"} == 1", r => r.Count == 1, TimeSpan.FromSeconds(60), ct).ConfigureAwait(false);
                for (int wait = 0; wait < 150 && !monitor.Rules.AlignedToScrapes; wait++) await Task.Delay(100, ct).ConfigureAwait(false);
                await Task.Delay(TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);
                if (slack.Requests.Count > 0) throw new InvalidOperationException("a stack notified before the fault: " + slack.Requests[0].Method);

                long firstFiring = 0;
                DateTimeOffset firstFiringTs = default;
                monitor.Rules.Evaluated += (_, e) =>
                {
                    if (e.Alerts.Count > 0 && Interlocked.CompareExchange(ref firstFiring, Stopwatch.GetTimestamp(), 0) == 0) firstFiringTs = e.Timestamp;
                };
                long killedAt = Stopwatch.GetTimestamp();
                var killedWall = DateTimeOffset.UtcNow;
                await engine.KillAsync().ConfigureAwait(false);

                var ours = await slack.WaitForRequestAsync(r => r.Method == "chat.postMessage" && r.Body.ToJsonString().Contains("EngineDown", StringComparison.Ordinal), TimeSpan.FromSeconds(60)).ConfigureAwait(false);
                var tuned = await slack.WaitForRequestAsync(r => r.Method == "am-tuned", TimeSpan.FromSeconds(60)).ConfigureAwait(false);
                double? @default = null;
                if (promDefault is not null)
                {
                    var d = await slack.WaitForRequestAsync(r => r.Method == "am-default", TimeSpan.FromSeconds(150)).ConfigureAwait(false);
                    @default = Seconds(killedAt, d.ArrivedTimestamp);
                }
                progress?.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  ours: first firing evaluation at {(firstFiringTs - killedWall).TotalSeconds:F2} s after the kill (it ran at {Seconds(killedAt, firstFiring):F2} s), Slack request at {Seconds(killedAt, ours.ArrivedTimestamp):F2} s"));
                return new DetectionRun(Seconds(killedAt, ours.ArrivedTimestamp), Seconds(killedAt, tuned.ArrivedTimestamp), @default);
            }
            finally
            {
                if (promDefault is not null) await promDefault.DisposeAsync().ConfigureAwait(false);
                if (amDefault is not null) await amDefault.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static double Seconds(long from, long to) => (to - from) / (double)Stopwatch.Frequency;

    private static string AlertmanagerConfig(string slackUrl, bool tuned) => tuned
        ? $"""
          route:
            receiver: slack
            group_by: [alertname]
            group_wait: 0s
            group_interval: 1s
            repeat_interval: 1h
          receivers:
            - name: slack
              slack_configs:
                - api_url: {slackUrl}
                  channel: "#detect"
                  title: '{"{{"} .CommonLabels.alertname {"}}"}'
          """
        : $"""
          route:
            receiver: slack
            group_by: [alertname]
          receivers:
            - name: slack
              slack_configs:
                - api_url: {slackUrl}
                  channel: "#detect"
          """;
}
