using System.Globalization;
using System.Text.RegularExpressions;
using ExchangeHealth.Monitor.Slo;
using ExchangeHealth.TestKit.Prometheus;

namespace ExchangeHealth.Monitor.Tests.Slo;

/// <summary>The generator: Sloth's rule names and windows, our tiers, traffic guard, absent alert, inhibition rules, and byte-stable YAML.</summary>
public partial class SloRuleGeneratorTests
{
    private static SloServiceSpec Spec(string sloYaml, string service = "svc", string specLabels = "") =>
        Assert.Single(SloSpecParser.Parse($"""
            version: "prometheus/v1"
            service: "{service}"
            {specLabels}
            slos:
            {sloYaml}
            """, "test.yml"));

    private const string Events = """
          - name: "avail"
            objective: 99.9
            sli:
              events:
                error_query: sum by (market) (rate(e[{{.window}}]))
                total_query: sum by (market) (rate(t[{{.window}}]))
            alerting:
              name: SvcAvail
        """;

    private static IReadOnlyList<ParsedRule> Render(SloServiceSpec spec) =>
        SloTestSupport.ParseRuleFile(SloRuleGenerator.RenderRuleFile([spec], ["test"]));

    [Fact]
    public void Groups_EveryWindowRecordedWithSlothLabels()
    {
        var rules = Render(Spec(Events + "\n    labels: {team: core}", specLabels: "labels: {owner: me, team: all}"));
        var sli = rules.Where(r => r.Group == "sloth-slo-sli-recordings-svc-avail").ToList();
        Assert.Equal(["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"], sli.Select(r => r.Labels["sloth_window"]));
        Assert.Equal(sli.Select(r => "slo:sli_error:ratio_rate" + r.Labels["sloth_window"]), sli.Select(r => r.Record));
        Assert.All(sli, r =>
        {
            Assert.Equal("svc-avail", r.Labels["sloth_id"]);
            Assert.Equal("svc", r.Labels["sloth_service"]);
            Assert.Equal("avail", r.Labels["sloth_slo"]);
            Assert.Equal("me", r.Labels["owner"]);
            Assert.Equal("core", r.Labels["team"]); // the SLO's labels win over the spec's
        });
        foreach (var r in sli.Take(7))
        {
            string w = r.Labels["sloth_window"];
            Assert.Contains($"rate(e[{w}])", r.Expr, StringComparison.Ordinal);
            Assert.Contains($"rate(t[{w}])", r.Expr, StringComparison.Ordinal);
            Assert.DoesNotContain("{{", r.Expr, StringComparison.Ordinal);
        }
        Assert.Equal(
            ["slo:objective:ratio", "slo:error_budget:ratio", "slo:time_period:days", "slo:current_burn_rate:ratio", "slo:period_burn_rate:ratio", "slo:period_error_budget_remaining:ratio", "sloth_slo_info"],
            rules.Where(r => r.Group == "sloth-slo-meta-recordings-svc-avail").Select(r => r.Record));
        var info = rules.Single(r => r.Record == "sloth_slo_info");
        Assert.Equal("99.9", info.Labels["sloth_objective"]);
        Assert.Equal("prometheus/v1", info.Labels["sloth_spec"]);
        Assert.Equal("vector(30)", rules.Single(r => r.Record == "slo:time_period:days").Expr);
    }

    [Fact]
    public void Alerts_FourTiersWithSreWorkbookWindowsFactorsAndLabels()
    {
        var alerts = Render(Spec(Events + "\n    exh: {group_by: [market]}")).Where(r => r.Alert == "SvcAvail").ToList();
        Assert.Equal(["page-fast", "page-slow", "ticket-fast", "ticket-slow"], alerts.Select(a => a.Labels["exh_tier"]));
        Assert.Equal(["page", "page", "ticket", "ticket"], alerts.Select(a => a.Labels["sloth_severity"]));
        Assert.Equal(["critical", "critical", "warning", "warning"], alerts.Select(a => a.Labels["severity"]));
        var expected = new[] { ("1h", "5m", "14.4"), ("6h", "30m", "6"), ("1d", "2h", "3"), ("3d", "6h", "1") };
        for (int i = 0; i < 4; i++)
        {
            var (longWindow, shortWindow, factor) = expected[i];
            var conditions = ConditionRegex().Matches(alerts[i].Expr).Select(m => (m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value)).ToList();
            Assert.Equal([(longWindow, factor, "0.0009999999999999432"), (shortWindow, factor, "0.0009999999999999432")], conditions);
            Assert.Contains("and ignoring (sloth_window)", alerts[i].Expr, StringComparison.Ordinal);
            Assert.Contains($"rate(t[{longWindow}]))) * {(long)Monitor.Prometheus.PromDuration.Parse(longWindow).TotalSeconds} >= ", alerts[i].Expr, StringComparison.Ordinal);
            Assert.Contains("and on (market)", alerts[i].Expr, StringComparison.Ordinal);
            Assert.Null(alerts[i].For);
            Assert.Contains("{{ $value | humanizePercentage }}", alerts[i].Annotations["description"], StringComparison.Ordinal);
            Assert.Contains("(market {{$labels.market}})", alerts[i].Annotations["description"], StringComparison.Ordinal);
        }
    }

    [GeneratedRegex(@"slo:sli_error:ratio_rate(\w+)\{[^}]*\} > \(([\d.]+) \* ([\d.eE-]+)\)")]
    private static partial Regex ConditionRegex();

    [Theory]
    [InlineData(99.95, 14.4, 417)]   // 3 / (14.4 * 0.0005) = 416.7
    [InlineData(99.95, 6, 1000)]
    [InlineData(99.95, 3, 2000)]
    [InlineData(99.95, 1, 6000)]
    [InlineData(99.9, 14.4, 209)]
    [InlineData(99, 1, 300)]
    public void AutoMinEvents_SmallestTrafficWhereThreeFailuresStayUnderTheThreshold(double objective, double factor, long expected)
    {
        long n = SloRuleGenerator.AutoMinEvents((100 - objective) / 100, factor);
        Assert.Equal(expected, n);
        // With n events, 3 failures are at most the threshold (the alert needs more); with n - 1, they are above it.
        double threshold = factor * (100 - objective) / 100;
        Assert.True(3.0 / n <= threshold + 1e-12);
        Assert.True(3.0 / (n - 1) > threshold);
    }

    [Fact]
    public void TrafficGuard_ExplicitZeroAndRawWithoutEventsQueryHaveNone_ExplicitNumberAndEventsQueryUsed()
    {
        var explicitGuard = Render(Spec(Events + "\n    exh: {min_events: 50, events_query: 'sum(increase(t[{{.window}}]))'}")).Where(r => r.Alert == "SvcAvail").ToList();
        Assert.All(explicitGuard, a => Assert.Matches(@"\(sum\(increase\(t\[\w+\]\)\)\) >= 50", a.Expr));
        Assert.Contains("and on ()", explicitGuard[0].Expr, StringComparison.Ordinal);

        var off = Render(Spec(Events + "\n    exh: {min_events: 0}")).Where(r => r.Alert == "SvcAvail").ToList();
        Assert.Equal(4, off.Count);
        Assert.All(off, a => Assert.DoesNotContain(">=", a.Expr, StringComparison.Ordinal));

        var raw = Spec("""
              - name: "up"
                objective: 99
                sli: {raw: {error_ratio_query: '1 - avg(avg_over_time(up[{{.window}}]))'}}
                alerting: {name: Up}
            """);
        Assert.All(SloRuleGenerator.Tiers, t => Assert.Equal(0, SloRuleGenerator.MinEventsFor(raw.Slos[0], t)));
        Assert.All(Render(raw).Where(r => r.Alert == "Up"), a => Assert.DoesNotContain(">=", a.Expr, StringComparison.Ordinal));
        Assert.Equal("(1 - avg(avg_over_time(up[3d])))", Render(raw).Single(r => r.Record == "slo:sli_error:ratio_rate3d").Expr);
    }

    [Fact]
    public void AbsentAlert_DefaultTenMinutesOnTheFiveMinuteSli_OffWithZeroOrWithoutAlerts()
    {
        var absent = Render(Spec(Events)).Single(r => r.Alert == "SvcAvailSLIAbsent");
        Assert.Equal("absent(slo:sli_error:ratio_rate5m{sloth_id=\"svc-avail\", sloth_service=\"svc\", sloth_slo=\"avail\"})", absent.Expr);
        Assert.Equal("10m", absent.For);
        Assert.Equal("warning", absent.Labels["severity"]);
        Assert.False(absent.Labels.ContainsKey("exh_tier"));

        Assert.DoesNotContain(Render(Spec(Events + "\n    exh: {absent_for: 0}")), r => r.Alert is not null && r.Alert.EndsWith("SLIAbsent", StringComparison.Ordinal));
        Assert.Equal("2m", Render(Spec(Events + "\n    exh: {absent_for: 2m}")).Single(r => r.Alert == "SvcAvailSLIAbsent").For);

        var noAlerts = Render(Spec("""
              - name: "quiet"
                objective: 99.99
                sli: {events: {error_query: 'sum(rate(e[{{.window}}]))', total_query: 'sum(rate(t[{{.window}}]))'}}
                alerting:
                  page_alert: {disable: true}
                  ticket_alert: {disable: true}
            """));
        Assert.DoesNotContain(noAlerts, r => r.Alert is not null);
        Assert.DoesNotContain(noAlerts, r => r.Group.StartsWith("sloth-slo-alerts-", StringComparison.Ordinal));
    }

    [Fact]
    public void InhibitRules_FasterTierMutesSlowerTiersOfTheSameSloAndGroup()
    {
        var spec = Spec(Events + "\n    exh: {group_by: [market, instance]}");
        var rules = SloRuleGenerator.InhibitRules(spec);
        Assert.Equal(3, rules.Count);
        Assert.Equal(["sloth_id=\"svc-avail\"", "exh_tier=\"page-fast\""], rules[0].SourceMatchers);
        Assert.Equal(["sloth_id=\"svc-avail\"", "exh_tier=~\"page-slow|ticket-fast|ticket-slow\""], rules[0].TargetMatchers);
        Assert.Equal(["sloth_id", "market", "instance"], rules[0].Equal);
        Assert.Equal("exh_tier=~\"ticket-fast|ticket-slow\"", rules[1].TargetMatchers[1]);
        Assert.Equal("exh_tier=\"ticket-slow\"", rules[2].TargetMatchers[1]);

        var pageOnly = Spec(Events + "\n      ticket_alert: {disable: true}");
        var single = Assert.Single(SloRuleGenerator.InhibitRules(pageOnly));
        Assert.Equal("exh_tier=\"page-slow\"", single.TargetMatchers[1]);
        Assert.Equal(["sloth_id"], single.Equal);
        Assert.Equal(["page-fast", "page-slow"], Render(pageOnly).Where(r => r.Alert == "SvcAvail").Select(r => r.Labels["exh_tier"]));

        string file = SloRuleGenerator.RenderInhibitFile([spec], ["x"]);
        var stream = new YamlDotNet.RepresentationModel.YamlStream();
        stream.Load(new StringReader(file));
        var root = (YamlDotNet.RepresentationModel.YamlMappingNode)stream.Documents[0].RootNode;
        Assert.Equal(["inhibit_rules"], root.Children.Keys.Select(k => k.ToString()));
    }

    [Fact]
    public void Yaml_AwkwardLabelAndAnnotationValuesRoundTrip()
    {
        var spec = Spec("""
              - name: "avail"
                objective: 99.9
                sli:
                  events:
                    error_query: sum(rate(e[{{.window}}]))
                    total_query: sum(rate(t[{{.window}}]))
                labels:
                  yes_like: "yes"
                  number_like: "2"
                  colon: "a: b"
                  hash: "#alerts"
                  quote: 'say "hi" \ bye'
                  braces: "{x}"
                  spaces: " padded "
                  empty: ""
                  unicode: "µs ≤ 1"
                alerting:
                  name: SvcAvail
                  annotations:
                    multi: |
                      line one
                        indented: two
                    trailing: "ends with space "
                    dollar: "{{ $labels.market }} at {{ $value | humanize }}"
            """);
        var slo = spec.Slos[0];
        var rules = Render(spec);
        var first = rules[0];
        foreach (var (name, value) in slo.Labels) Assert.Equal(value, first.Labels[name]);
        var alert = rules.First(r => r.Alert == "SvcAvail");
        foreach (var (name, value) in slo.Alerting.Annotations) Assert.Equal(value, alert.Annotations[name]);
    }

    [Fact]
    public void Render_SameSpecTwice_ByteIdentical_AndAnnotationOrderIndependent()
    {
        string a = SloRuleGenerator.RenderRuleFile([Spec(Events + "\n      annotations: {b: 1, a: 2}")], ["h"]);
        string b = SloRuleGenerator.RenderRuleFile([Spec(Events + "\n      annotations: {b: 1, a: 2}")], ["h"]);
        string c = SloRuleGenerator.RenderRuleFile([Spec(Events + "\n      annotations: {a: 2, b: 1}")], ["h"]);
        Assert.Equal(a, b);
        Assert.Equal(a, c);
        Assert.DoesNotContain("\r", a, StringComparison.Ordinal);
        Assert.EndsWith("\n", a, StringComparison.Ordinal);
    }

    [Fact]
    public void SliExpression_EventsGiveZeroWithoutTrafficOrErrors_CheckedByPromtool()
    {
        // Evaluated by the real promtool: no error series at all (a labelled counter before its first
        // event) and no traffic on a market record 0, where Sloth's error / total gives nothing or NaN.
        using var dir = new SloTempDirectory();
        var spec = Spec("""
              - name: "avail"
                objective: 99.9
                sli:
                  events:
                    error_query: sum by (market) (rate(errors_total[{{.window}}]))
                    total_query: sum by (market) (rate(requests_total[{{.window}}]))
                alerting: {name: A}
            """);
        dir.Write("rules.yml", SloRuleGenerator.RenderRuleFile([spec], ["test"]));
        dir.Write("test.yml", """
            rule_files: [rules.yml]
            evaluation_interval: 1m
            tests:
              - interval: 1m
                input_series:
                  - {series: 'requests_total{market="busy"}', values: '0+100x20'}
                  - {series: 'requests_total{market="idle"}', values: '5x20'}
                promql_expr_test:
                  - expr: slo:sli_error:ratio_rate5m
                    eval_time: 10m
                    exp_samples:
                      - {labels: 'slo:sli_error:ratio_rate5m{market="busy",sloth_id="svc-avail",sloth_service="svc",sloth_slo="avail",sloth_window="5m"}', value: 0}
                      - {labels: 'slo:sli_error:ratio_rate5m{market="idle",sloth_id="svc-avail",sloth_service="svc",sloth_slo="avail",sloth_window="5m"}', value: 0}
              - interval: 1m
                input_series:
                  - {series: 'requests_total{market="busy"}', values: '0+100x20'}
                  - {series: 'errors_total{market="busy"}', values: '0+10x20'}
                promql_expr_test:
                  - expr: round(slo:sli_error:ratio_rate5m, 0.001)
                    eval_time: 10m
                    exp_samples:
                      - {labels: '{market="busy",sloth_id="svc-avail",sloth_service="svc",sloth_slo="avail",sloth_window="5m"}', value: 0.1}
            """);
        var (code, output) = PromTool.Run(["test", "rules", dir.Combine("test.yml")]);
        Assert.True(code == 0, output);
    }

    [Fact]
    public void Number_ShortestRoundTripLikeSlothAndPrometheus()
    {
        Assert.Equal("0.9990000000000001", SloRuleGenerator.Number(99.9 / 100));
        Assert.Equal("0.0009999999999999432", SloRuleGenerator.Number((100 - 99.9) / 100));
        Assert.Equal("14.4", SloRuleGenerator.Number(14.4));
        Assert.Equal(CultureInfo.InvariantCulture, CultureInfo.InvariantCulture); // formatting never depends on the culture
    }
}
