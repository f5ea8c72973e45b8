using ExchangeHealth.Monitor.Slo;
using ExchangeHealth.TestKit.Prometheus;

namespace ExchangeHealth.Monitor.Tests.Slo;

/// <summary>
/// Our output for Sloth's own getting-started spec (TestData/sloth-getting-started.yml, from
/// github.com/slok/sloth examples/getting-started.yml) against Sloth's documented output for it
/// (examples/_gen/getting-started.yml at commit 886f97a25b61ed9917f761e4db6d4abaddde27b7): the same
/// groups, recording-rule names and windows, labels, metadata values, alert name, label sets and
/// burn-rate conditions (windows and 14.4/6/3/1 x error budget, digits included). The expectations
/// below are transcribed from that file.
/// </summary>
public class SlothComparisonTests
{
    private const string Id = "myservice-requests-availability";
    private const string Selector = "{sloth_id=\"myservice-requests-availability\", sloth_service=\"myservice\", sloth_slo=\"requests-availability\"}";
    private const string Budget = "0.0009999999999999432";

    // Sloth's documented output, transcribed.
    private static readonly string[] _slothGroups =
        [$"sloth-slo-sli-recordings-{Id}", $"sloth-slo-meta-recordings-{Id}", $"sloth-slo-alerts-{Id}"];
    private static readonly (string Record, string? Window)[] _slothSliRecords =
    [
        ("slo:sli_error:ratio_rate5m", "5m"), ("slo:sli_error:ratio_rate30m", "30m"), ("slo:sli_error:ratio_rate1h", "1h"),
        ("slo:sli_error:ratio_rate2h", "2h"), ("slo:sli_error:ratio_rate6h", "6h"), ("slo:sli_error:ratio_rate1d", "1d"),
        ("slo:sli_error:ratio_rate3d", "3d"), ("slo:sli_error:ratio_rate30d", "30d"),
    ];
    private static readonly (string Record, string Expr)[] _slothMeta =
    [
        ("slo:objective:ratio", "vector(0.9990000000000001)"),
        ("slo:error_budget:ratio", "vector(1-0.9990000000000001)"),
        ("slo:time_period:days", "vector(30)"),
        ("slo:current_burn_rate:ratio", $"slo:sli_error:ratio_rate5m{Selector}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\nslo:error_budget:ratio{Selector}"),
        ("slo:period_burn_rate:ratio", $"slo:sli_error:ratio_rate30d{Selector}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\nslo:error_budget:ratio{Selector}"),
        ("slo:period_error_budget_remaining:ratio", $"1 - slo:period_burn_rate:ratio{Selector}"),
        ("sloth_slo_info", "vector(1)"),
    ];
    private static readonly Dictionary<string, string> _slothRecordingLabels = new()
    {
        ["owner"] = "myteam", ["repo"] = "myorg/myservice", ["tier"] = "2",
        ["sloth_id"] = Id, ["sloth_service"] = "myservice", ["sloth_slo"] = "requests-availability",
    };
    // Sloth's two alert rules: severity, labels, and the (short, long, factor) window pairs OR-ed together.
    private static readonly (string Severity, Dictionary<string, string> Labels, (string Short, string Long, string Factor)[] Conditions)[] _slothAlerts =
    [
        ("page", new() { ["category"] = "availability", ["routing_key"] = "myteam", ["severity"] = "pageteam", ["sloth_severity"] = "page" },
            [("5m", "1h", "14.4"), ("30m", "6h", "6")]),
        ("ticket", new() { ["category"] = "availability", ["severity"] = "slack", ["slack_channel"] = "#alerts-myteam", ["sloth_severity"] = "ticket" },
            [("2h", "1d", "3"), ("6h", "3d", "1")]),
    ];

    private static (SloServiceSpec Spec, string Text, IReadOnlyList<ParsedRule> Rules) Generate()
    {
        var spec = Assert.Single(SloSpecParser.Load(SloTestSupport.Repo("tests", "ExchangeHealth.Monitor.Tests", "Slo", "TestData", "sloth-getting-started.yml")));
        string text = SloRuleGenerator.RenderRuleFile([spec], ["sloth getting-started"]);
        return (spec, text, SloTestSupport.ParseRuleFile(text));
    }

    [Fact]
    public void GettingStarted_SameGroupsRecordingRulesWindowsLabelsAndMetadataAsSloth()
    {
        var (_, _, rules) = Generate();
        Assert.Equal(_slothGroups, rules.Select(r => r.Group).Distinct());

        var sli = rules.Where(r => r.Group == _slothGroups[0]).ToList();
        Assert.Equal(_slothSliRecords.Select(r => r.Record), sli.Select(r => r.Record));
        Assert.Equal(_slothSliRecords.Select(r => r.Window), sli.Select(r => r.Labels["sloth_window"]));
        foreach (var rule in sli)
            foreach (var (name, value) in _slothRecordingLabels) Assert.Equal(value, rule.Labels[name]);
        // Sloth's 30d rule, as Sloth builds it (mean of the 5m ratios).
        Assert.Equal($"sum_over_time(slo:sli_error:ratio_rate5m{Selector}[30d])\n/ ignoring (sloth_window)\ncount_over_time(slo:sli_error:ratio_rate5m{Selector}[30d])", sli[^1].Expr);
        // Each window queries the spec's queries over that window.
        Assert.Contains("sum(rate(http_request_duration_seconds_count{job=\"myservice\",code=~\"(5..|429)\"}[2h]))", sli[3].Expr, StringComparison.Ordinal);
        Assert.Contains("sum(rate(http_request_duration_seconds_count{job=\"myservice\"}[2h]))", sli[3].Expr, StringComparison.Ordinal);

        var meta = rules.Where(r => r.Group == _slothGroups[1]).ToList();
        Assert.Equal(_slothMeta, meta.Select(r => (r.Record!, r.Expr)));
        foreach (var rule in meta)
            foreach (var (name, value) in _slothRecordingLabels) Assert.Equal(value, rule.Labels[name]);
        var info = meta[^1].Labels;
        Assert.Equal(("cli-gen-prom", "99.9", "prometheus/v1"), (info["sloth_mode"], info["sloth_objective"], info["sloth_spec"]));
    }

    [Fact]
    public void GettingStarted_SameAlertNameLabelsAndBurnRateConditionsAsSloth()
    {
        var (_, _, rules) = Generate();
        var alerts = rules.Where(r => r.Group == _slothGroups[2] && r.Alert == "MyServiceHighErrorRate").ToList();
        foreach (var (severity, labels, conditions) in _slothAlerts)
        {
            // Sloth ORs two conditions in one rule; we give each its own rule (tier), same alert name.
            var ours = alerts.Where(a => a.Labels["sloth_severity"] == severity).ToList();
            Assert.Equal(conditions.Length, ours.Count);
            for (int i = 0; i < conditions.Length; i++)
            {
                var (shortWindow, longWindow, factor) = conditions[i];
                foreach (var (name, value) in labels) Assert.Equal(value, ours[i].Labels[name]);
                // Sloth's exact condition text: window, selector, factor and error-budget digits.
                Assert.Contains($"slo:sli_error:ratio_rate{shortWindow}{Selector} > ({factor} * {Budget})", ours[i].Expr, StringComparison.Ordinal);
                Assert.Contains($"slo:sli_error:ratio_rate{longWindow}{Selector} > ({factor} * {Budget})", ours[i].Expr, StringComparison.Ordinal);
                Assert.Contains("and ignoring (sloth_window)", ours[i].Expr, StringComparison.Ordinal);
                // Sloth's annotations: the spec's summary wins; Sloth's default title.
                Assert.Equal("High error rate on 'myservice' requests responses", ours[i].Annotations["summary"]);
                Assert.Equal($"({severity}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} SLO error budget burn rate is too fast.", ours[i].Annotations["title"]);
            }
        }
        Assert.Equal(4, alerts.Count);
        // Beyond Sloth: the SLI-absent alert, and nothing else in the alert group.
        Assert.Equal(["MyServiceHighErrorRate", "MyServiceHighErrorRateSLIAbsent"], rules.Where(r => r.Alert is not null).Select(r => r.Alert).Distinct());
    }

    [Fact]
    public void GettingStarted_OurOutputPassesPromtoolCheckRules()
    {
        using var dir = new SloTempDirectory();
        string file = dir.Write("getting-started.rules.yml", Generate().Text);
        var (code, output) = PromTool.Run(["check", "rules", file]);
        Assert.True(code == 0, output);
        Assert.Contains("SUCCESS: 20 rules found", output, StringComparison.Ordinal);
    }
}
