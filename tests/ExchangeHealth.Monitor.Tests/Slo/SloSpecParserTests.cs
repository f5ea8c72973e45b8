using ExchangeHealth.Engine;
using ExchangeHealth.Monitor.Slo;

namespace ExchangeHealth.Monitor.Tests.Slo;

/// <summary>The Sloth prometheus/v1 parser: real specs load, and every kind of bad input names file and line.</summary>
public class SloSpecParserTests
{
    private const string Valid = """
        version: "prometheus/v1"
        service: "svc"
        slos:
          - name: "avail"
            objective: 99.9
            sli:
              events:
                error_query: sum(rate(e[{{.window}}]))
                total_query: sum(rate(t[{{.window}}]))
            alerting:
              name: SvcAvail

        """;

    [Fact]
    public void Parse_ExchangeSpec_FourSlosWithTheirSlisAndExtensions()
    {
        var spec = Assert.Single(SloSpecParser.Load(SloTestSupport.Repo("slos", "exchange.yml")));
        Assert.Equal("exchange", spec.Service);
        Assert.Equal(["order-entry-availability", "order-ack-latency", "matching-uptime", "canary-success"], spec.Slos.Select(s => s.Name));
        Assert.Equal(["exchange-order-entry-availability", "exchange-order-ack-latency", "exchange-matching-uptime", "exchange-canary-success"], spec.Slos.Select(s => s.Id));
        Assert.Equal([99.95, 99.9, 99.95, 99.9], spec.Slos.Select(s => s.ObjectivePercent));
        Assert.Equal([true, true, false, false], spec.Slos.Select(s => s.Sli.IsEvents));
        Assert.Equal(["market", "market", "instance", "market"], spec.Slos.Select(s => Assert.Single(s.Extensions.GroupBy)));
        Assert.All(spec.Slos, s =>
        {
            Assert.Equal(TimeSpan.FromSeconds(10), s.Intervals.SliError);
            Assert.Equal(TimeSpan.FromMinutes(1), s.Intervals.Metadata);
            Assert.Equal(TimeSpan.FromSeconds(10), s.Intervals.Alert);
            Assert.Equal("exchange-core", s.Labels["owner"]);
            Assert.StartsWith("docs/runbooks.md#", s.Alerting.Annotations["runbook_url"], StringComparison.Ordinal);
            Assert.Equal("critical", s.Alerting.Page.Labels["severity"]);
        });
        var latency = spec.Slos[1];
        Assert.Contains("le=\"0.001\"", latency.Sli.ErrorQuery, StringComparison.Ordinal);
        Assert.Contains("job=\"exh-engine\"", latency.Sli.TotalQuery, StringComparison.Ordinal);
        Assert.Contains("job=\"exh-canary\"", spec.Slos[3].Sli.ErrorRatioQuery, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SlothGettingStarted_LoadsUnchanged()
    {
        var spec = Assert.Single(SloSpecParser.Load(SloTestSupport.Repo("tests", "ExchangeHealth.Monitor.Tests", "Slo", "TestData", "sloth-getting-started.yml")));
        Assert.Equal("myservice", spec.Service);
        Assert.Equal("2", spec.Labels["tier"]);
        var slo = Assert.Single(spec.Slos);
        Assert.Equal("myservice-requests-availability", slo.Id);
        Assert.Equal(0.9990000000000001, slo.ObjectiveRatio);
        Assert.Equal(0.0009999999999999432, slo.ErrorBudgetRatio);
        Assert.Equal("MyServiceHighErrorRate", slo.Alerting.Name);
        Assert.Equal("myteam", slo.Alerting.Page.Labels["routing_key"]);
        Assert.Equal("#alerts-myteam", slo.Alerting.Ticket.Labels["slack_channel"]);
        Assert.Equal("High error rate on 'myservice' requests responses", slo.Alerting.Annotations["summary"]);
        Assert.Equal(SloExtensions.Default, slo.Extensions);
    }

    [Fact]
    public void Parse_MultiDocumentRawSliAndSlothSpellings()
    {
        var specs = SloSpecParser.Parse("""
            version: "prometheus/v1"
            service: "a"
            slos:
              - name: "x"
                objective: 95
                interval: {all: 30s, alert: 1m}
                sli:
                  raw:
                    errorRatioQuery: |
                      1 - avg(avg_over_time(ok[{{ .window }}]))
                alerting:
                  page_alert: {disable: true}
                  ticket_alert: {disable: True}
            ---
            version: "prometheus/v1"
            service: "b"
            slos:
              - name: "x"
                objective: 99
                sli: {events: {error_query: 'sum(rate(e[{{.window}}]))', total_query: 'sum(rate(t[{{.window}}]))'}}
                alerting:
                  name: B
                  page_alert: {for: 5m}
                exh: {min_events: 0, absent_for: 0s, group_by: [market, instance]}
            """, "multi.yml");
        Assert.Equal(2, specs.Count);
        var raw = specs[0].Slos[0];
        Assert.False(raw.Sli.IsEvents);
        Assert.Equal("1 - avg(avg_over_time(ok[{{ .window }}]))", raw.Sli.ErrorRatioQuery);
        Assert.Equal("1 - avg(avg_over_time(ok[5m]))", SloSpecParser.ExpandWindow(raw.Sli.ErrorRatioQuery!, "5m"));
        Assert.Null(raw.Alerting.Name);
        Assert.True(raw.Alerting.Page.Disabled && raw.Alerting.Ticket.Disabled);
        Assert.Equal(new SloIntervals(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1)), raw.Intervals);
        var b = specs[1].Slos[0];
        Assert.Equal("b-x", b.Id);
        Assert.Equal(TimeSpan.FromMinutes(5), b.Alerting.Page.For);
        Assert.Equal(0, b.Extensions.MinEvents);
        Assert.Equal(TimeSpan.Zero, b.Extensions.AbsentFor);
        Assert.Equal(["market", "instance"], b.Extensions.GroupBy);
    }

    public static TheoryData<string, string, string, int, string> Errors() => new()
    {
        // name, text to replace in Valid, replacement, expected line, expected reason fragment
        { "unknown top-level key", "service: \"svc\"", "service: \"svc\"\nservces: 1", 3, "unknown key 'servces'" },
        { "unknown SLO key", "    objective: 99.9", "    objective: 99.9\n    objectve: 99", 6, "unknown key 'objectve'" },
        { "objective 100", "objective: 99.9", "objective: 100", 5, "outside (0, 100)" },
        { "objective 0", "objective: 99.9", "objective: 0", 5, "outside (0, 100)" },
        { "objective not a number", "objective: 99.9", "objective: high", 5, "'high' is not a number" },
        { "no {{.window}}", "sum(rate(e[{{.window}}]))", "sum(rate(e[5m]))", 8, "no '{{.window}}' placeholder" },
        { "unknown template", "sum(rate(e[{{.window}}]))", "sum(rate(e{x=\"{{.Labels.x}}\"}[{{.window}}]))", 8, "unknown template '{{.Labels.x}}'" },
        { "name not a label value", "name: \"avail\"", "name: \"my slo\"", 4, "'my slo' is not a valid SLO name" },
        { "service not a label value", "service: \"svc\"", "service: \"svc\\\"x\"", 2, "is not a valid name" },
        { "duplicate SLO name", "      name: SvcAvail\n", "      name: SvcAvail\n  - name: \"avail\"\n    objective: 99\n    sli: {raw: {error_ratio_query: 'x[{{.window}}]'}}\n    alerting: {name: B}\n", 12, "SLO name 'avail' is already used by the SLO at line 4" },
        { "SLI plugin", "      events:\n        error_query: sum(rate(e[{{.window}}]))\n        total_query: sum(rate(t[{{.window}}]))", "      plugin:\n        id: sloth-common/kubernetes/apiserver/availability", 7, "SLI plugins are not supported" },
        { "SLO plugins", "slos:", "slo_plugins:\n  chain: [{id: sloth.dev/contrib/alert_for/v1}]\nslos:", 3, "SLO plugins are not supported" },
        { "wrong version", "version: \"prometheus/v1\"", "version: \"prometheus/v2\"", 1, "'prometheus/v2' is not supported" },
        { "Kubernetes manifest", "version: \"prometheus/v1\"", "apiVersion: sloth.slok.dev/v1\nversion: \"prometheus/v1\"", 1, "Kubernetes PrometheusServiceLevel manifests are not supported" },
        { "alert name missing", "      name: SvcAvail", "      labels: {category: x}", 11, "alerting.name is required" },
        { "alert name invalid", "      name: SvcAvail", "      name: Svc-Avail", 11, "'Svc-Avail' is not a valid alert name" },
        { "bad label name", "slos:", "labels: {bad-name: x}\nslos:", 3, "'bad-name' is not a valid Prometheus label name" },
        { "reserved label", "      name: SvcAvail", "      name: SvcAvail\n      labels: {sloth_id: x}", 12, "'sloth_id' is set by the generator" },
        { "events and raw", "      events:", "      raw: {error_ratio_query: 'x[{{.window}}]'}\n      events:", 7, "exactly one of 'events'" },
        { "missing total_query", "        total_query: sum(rate(t[{{.window}}]))\n", "", 8, "missing required key 'total_query'" },
        { "unknown exh key", "      name: SvcAvail\n", "      name: SvcAvail\n    exh: {min_event: 5}\n", 12, "unknown key 'min_event'" },
        { "bad min_events", "      name: SvcAvail\n", "      name: SvcAvail\n    exh:\n      min_events: -1\n", 13, "'-1' is not a whole number" },
        { "bad group_by label", "      name: SvcAvail\n", "      name: SvcAvail\n    exh:\n      group_by: [market, 9x]\n", 13, "'9x' is not a valid label name" },
        { "bad for", "      name: SvcAvail\n", "      name: SvcAvail\n      page_alert: {for: 5 minutes}\n", 12, "page_alert.for: '5 minutes': unknown unit" },
        { "bad disable", "      name: SvcAvail\n", "      name: SvcAvail\n      ticket_alert:\n        disable: maybe\n", 13, "'maybe' is not true or false" },
        { "zero interval", "    objective: 99.9", "    objective: 99.9\n    interval: {slierror: 0s}", 6, "must be greater than 0" },
        { "not YAML", "    objective: 99.9", "    objective: \"99.9", 5, "not valid YAML" },
        { "sli not a mapping", "    sli:\n      events:\n        error_query: sum(rate(e[{{.window}}]))\n        total_query: sum(rate(t[{{.window}}]))", "    sli: [a, b]", 6, "sli: expected a mapping" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Parse_InvalidSpec_ConfigExceptionWithFileAndLine(string name, string find, string replace, int line, string reason)
    {
        Assert.Contains(find, Valid, StringComparison.Ordinal);
        string yaml = Valid.Replace(find, replace, StringComparison.Ordinal);
        var e = Assert.Throws<ConfigException>(() => SloSpecParser.Parse(yaml, "slos/bad.yml"));
        Assert.True(e.Reason.Contains(reason, StringComparison.Ordinal), $"{name}: '{e.Message}' does not contain '{reason}'");
        Assert.Equal("slos/bad.yml", e.File);
        Assert.True(line == e.Line, $"{name}: line {e.Line}, expected {line}: {e.Message}");
        Assert.StartsWith($"slos/bad.yml:{line}: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DuplicateSloAcrossDocumentsOfOneService_Rejected()
    {
        string doc = Valid.TrimEnd();
        var e = Assert.Throws<ConfigException>(() => SloSpecParser.Parse(doc + "\n---\n" + doc, "two.yml"));
        Assert.Equal(16, e.Line);
        Assert.Contains("already defined at line 4", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFileAndEmptyFile_ConfigException()
    {
        var missing = Assert.Throws<ConfigException>(() => SloSpecParser.Load("/nonexistent/slo.yml"));
        Assert.Contains("cannot read", missing.Message, StringComparison.Ordinal);
        var empty = Assert.Throws<ConfigException>(() => SloSpecParser.Parse("# nothing\n", "empty.yml"));
        Assert.Equal("empty.yml:1: no SLO spec in the file (expected 'version: \"prometheus/v1\"', 'service' and 'slos')", empty.Message);
    }
}
