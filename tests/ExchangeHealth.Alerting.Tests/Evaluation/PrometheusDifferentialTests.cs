using System.Net.Http.Json;
using System.Text.Json;
using ExchangeHealth.Alerting.Evaluation;
using ExchangeHealth.Alerting.Rules;
using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.TestKit.Prometheus;
using Xunit.Abstractions;

namespace ExchangeHealth.Alerting.Tests.Evaluation;

/// <summary>
/// The same rule file loaded into a real Prometheus (Debian package) and into our evaluator, on
/// the same data: at each of Prometheus's evaluation times the sets of pending and firing alerts
/// agree. The data are functions of the evaluation time (<c>time()</c>), so both sides see exactly
/// the same values with no scrape race; a recording rule in the group marks every evaluation time.
/// </summary>
public class PrometheusDifferentialTests(ITestOutputHelper output)
{
    private const string Rules = """
        groups:
          - name: differential
            interval: 1s
            rules:
              - record: exh_eval_marker
                expr: vector(1)
              - alert: SawTooth
                expr: label_replace(vector(time() % 12), "series", "a", "", "") > 5 or label_replace(vector((time() + 4) % 9), "series", "b", "", "") > 3
                for: 3s
                labels:
                  severity: page
                  phase: "p-{{ $labels.series }}"
                annotations:
                  summary: "value {{ $value }}"
              - alert: Immediate
                expr: label_replace(vector(time() % 7), "series", "c", "", "") < 3
              - alert: Flapping
                expr: label_replace(vector(time() % 4), "series", "d", "", "") < 2
                for: 1s
              - alert: NeverLongEnough
                expr: label_replace(vector(time() % 5), "series", "e", "", "") < 2
                for: 4s
        """;

    [Fact]
    public async Task PendingAndFiringSets_AgreeWithRealPrometheus_AtEveryEvaluation()
    {
        string dir = Path.Combine(Path.GetTempPath(), "exh-diff-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string file = Path.Combine(dir, "differential.rules.yml");
            await File.WriteAllTextAsync(file, Rules);
            await using var prom = await PrometheusServer.StartAsync(["127.0.0.1:1"], TimeSpan.FromSeconds(1), dir);
            await Task.Delay(TimeSpan.FromSeconds(22));

            using var http = new HttpClient { BaseAddress = prom.BaseAddress };
            var evalTimes = (await RawSamplesAsync(http, "exh_eval_marker[60s]")).SelectMany(s => s.Points.Select(p => p.Time)).Distinct().Order().ToList();
            var alertSeries = await RawSamplesAsync(http, "ALERTS[60s]");
            Assert.True(evalTimes.Count >= 15, $"only {evalTimes.Count} evaluations recorded");

            var expected = new Dictionary<DateTimeOffset, SortedSet<string>>();
            foreach (var t in evalTimes) expected[t] = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var s in alertSeries)
            {
                string state = s.Labels["alertstate"];
                string key = s.Labels.Without("__name__", "alertstate") + " " + state;
                foreach (var (time, _) in s.Points)
                {
                    // ALERTS is read after the markers: an evaluation that ran between the two reads is not compared.
                    if (time > evalTimes[^1]) continue;
                    Assert.True(expected.ContainsKey(time), $"ALERTS sample at {time:O} is not at an evaluation time");
                    expected[time].Add(key);
                }
            }

            var group = Assert.Single(RuleFileLoader.LoadFile(file));
            using var client = new PrometheusApiClient(prom.BaseAddress);
            var evaluator = new RuleGroupEvaluator(group, client, store: null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), "", evalTimes[0]);
            int compared = 0, nonEmpty = 0;
            var statesSeen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var t in evalTimes)
            {
                var evaluation = await evaluator.EvaluateAsync(t);
                Assert.Equal(0, evaluation.FailedRules);
                var actual = new SortedSet<string>(StringComparer.Ordinal);
                int index = evalTimes.IndexOf(t);
                foreach (var rule in evaluator.Rules)
                {
                    foreach (var a in evaluator.SnapshotAlerts(rule))
                    {
                        if (a.State == AlertState.Inactive) continue;
                        string state = a.State == AlertState.Firing ? "firing" : "pending";
                        actual.Add(a.Labels + " " + state);
                        statesSeen.Add(rule.Rule.Name + ":" + state);
                    }
                }
                // Prometheus 2.42 writes no ALERTS samples before its rules are "restored": the rule
                // manager evaluates the group twice (waiting one interval for fresh scrapes) and only
                // then runs RestoreForState. The state exists, so we evaluate those times too and
                // compare from the third evaluation on.
                if (index < 2) continue;
                Assert.True(expected[t].SetEquals(actual),
                    $"evaluation #{index} at {t:O} (first at {evalTimes[0]:O}): Prometheus [{string.Join("; ", expected[t])}] vs ours [{string.Join("; ", actual)}]");
                compared++;
                if (actual.Count > 0) nonEmpty++;
            }
            output.WriteLine($"compared {compared} evaluations ({nonEmpty} with alerts); states seen: {string.Join(", ", statesSeen.Order())}");
            // The data must have exercised every transition, or the comparison proves little.
            Assert.Contains("SawTooth:pending", statesSeen);
            Assert.Contains("SawTooth:firing", statesSeen);
            Assert.Contains("Immediate:firing", statesSeen);
            Assert.Contains("Flapping:firing", statesSeen);
            Assert.Contains("NeverLongEnough:pending", statesSeen);
            Assert.DoesNotContain("NeverLongEnough:firing", statesSeen);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private sealed record RawSeries(LabelSet Labels, List<(DateTimeOffset Time, double Value)> Points);

    /// <summary>Raw samples of a range selector (a matrix instant query), with their exact timestamps.</summary>
    private static async Task<List<RawSeries>> RawSamplesAsync(HttpClient http, string selector)
    {
        using var doc = await http.GetFromJsonAsync<JsonDocument>("api/v1/query?query=" + Uri.EscapeDataString(selector));
        Assert.NotNull(doc);
        var list = new List<RawSeries>();
        foreach (var item in doc.RootElement.GetProperty("data").GetProperty("result").EnumerateArray())
        {
            var labels = LabelSet.From(item.GetProperty("metric").EnumerateObject().Select(p => new KeyValuePair<string, string>(p.Name, p.Value.GetString() ?? "")));
            var points = item.GetProperty("values").EnumerateArray()
                .Select(v => (DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(v[0].GetDouble() * 1000)), PrometheusApiClient.ParseValue(v[1].GetString() ?? "NaN")))
                .ToList();
            list.Add(new RawSeries(labels, points));
        }
        return list;
    }
}
