using ExchangeHealth.Alerting.Rules;
using ExchangeHealth.Engine;
using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.TestKit.Prometheus;

namespace ExchangeHealth.Alerting.Tests.Rules;

public sealed class RuleFileLoaderTests
{
    private const string GoodFile = """
        groups:
          - name: engine
            interval: 30s
            limit: 10
            rules:
              - alert: EngineDown
                expr: up{job="exh-engine"} == 0
                for: 1m
                keep_firing_for: 5m
                labels:
                  severity: page
                  tier: "{{ if gt $value 1.0 }}fast{{ else }}slow{{ end }}"
                annotations:
                  summary: "{{ $labels.instance }} is down"
                  description: |
                    The engine {{ $labels.instance }} has not been scraped ({{ $value }}).
              - record: job:exh_orders_received:rate5m
                expr: |
                  sum by (job) (
                    rate(exh_orders_received_total[5m])  # orders per second
                  )
                labels:
                  source: recording
          - name: latency
            rules:
              - alert: HighAckLatency
                expr: histogram_quantile(0.99, sum by (le) (rate(exh_order_ack_latency_seconds_bucket{market=~"BTC.*|(x)"}[5m]))) > 0.001
        """;

    [Fact]
    public void Parse_GoodFile_ReadsEveryField()
    {
        var groups = RuleFileLoader.Parse(GoodFile, "engine.rules.yml");

        Assert.Equal(2, groups.Count);
        var engine = groups[0];
        Assert.Equal(("engine", "engine.rules.yml", 2), (engine.Name, engine.File, engine.Line));
        Assert.Equal(TimeSpan.FromSeconds(30), engine.Interval);
        Assert.Equal(10, engine.Limit);
        Assert.Equal(LabelSet.Empty, engine.Labels);

        var alert = Assert.Single(engine.AlertingRules);
        Assert.Equal("EngineDown", alert.Name);
        Assert.Equal("up{job=\"exh-engine\"} == 0", alert.Expr);
        Assert.Equal(TimeSpan.FromMinutes(1), alert.For);
        Assert.Equal(TimeSpan.FromMinutes(5), alert.KeepFiringFor);
        Assert.Equal(LabelSet.Of("severity", "page", "tier", "{{ if gt $value 1.0 }}fast{{ else }}slow{{ end }}"), alert.Labels);
        Assert.Equal(("engine.rules.yml", 6), (alert.File, alert.Line));
        Assert.Equal(["description", "summary"], alert.Annotations.Select(a => a.Key));
        var series = LabelSet.Of("instance", "engine-1:9100", "job", "exh-engine");
        Assert.Equal("engine-1:9100 is down", alert.Annotations[1].Value.Render(series, 0));
        Assert.Equal("The engine engine-1:9100 has not been scraped (0).\n", alert.Annotations[0].Value.Render(series, 0));
        Assert.Equal(["severity", "tier"], alert.LabelTemplates.Select(l => l.Key));
        Assert.Equal("slow", alert.LabelTemplates[1].Value.Render(series, 0));
        Assert.Equal("fast", alert.LabelTemplates[1].Value.Render(series, 2));

        var record = Assert.Single(engine.RecordingRules);
        Assert.Equal("job:exh_orders_received:rate5m", record.Record);
        Assert.StartsWith("sum by (job) (", record.Expr, StringComparison.Ordinal);
        Assert.EndsWith(")", record.Expr, StringComparison.Ordinal);
        Assert.Equal(LabelSet.Of("source", "recording"), record.Labels);
        Assert.Equal(17, record.Line);

        var latency = groups[1];
        Assert.Null(latency.Interval);
        Assert.Equal(0, latency.Limit);
        var high = Assert.Single(latency.AlertingRules);
        Assert.Equal(TimeSpan.Zero, high.For);
        Assert.Equal(TimeSpan.Zero, high.KeepFiringFor);
        Assert.Empty(high.Annotations);
        Assert.Empty(latency.RecordingRules);
    }

    [Fact]
    public void GoodFile_IsAlsoValidForPromtool()
    {
        using var dir = new RulesTempDirectory();
        string file = dir.Write("engine.rules.yml", GoodFile);
        var (exitCode, output) = PromTool.Run(["check", "rules", file]);
        Assert.True(exitCode == 0, output);
        Assert.Contains("SUCCESS: 3 rules found", output, StringComparison.Ordinal);
        Assert.Equal(3, RuleFileLoader.LoadFile(file).Sum(g => g.AlertingRules.Count + g.RecordingRules.Count));
    }

    [Fact]
    public void Parse_GroupLabels_MergedUnderRuleLabels()
    {
        var group = Assert.Single(RuleFileLoader.Parse("""
            groups:
              - name: g
                labels: {team: exchange, severity: ticket}
                rules:
                  - alert: A
                    expr: vector(1)
                    labels: {severity: page}
                  - record: r
                    expr: vector(1)
            """, "g.yml"));
        Assert.Equal(LabelSet.Of("severity", "ticket", "team", "exchange"), group.Labels);
        Assert.Equal(LabelSet.Of("severity", "page", "team", "exchange"), group.AlertingRules[0].Labels);
        Assert.Equal(["severity", "team"], group.AlertingRules[0].LabelTemplates.Select(l => l.Key));
        Assert.Equal(LabelSet.Of("severity", "ticket", "team", "exchange"), group.RecordingRules[0].Labels);
    }

    [Theory]
    [InlineData("")]
    [InlineData("# only a comment\n")]
    [InlineData("groups:\n")]
    [InlineData("groups: []\n")]
    public void Parse_EmptyFile_HasNoGroups(string yaml)
    {
        Assert.Empty(RuleFileLoader.Parse(yaml, "empty.yml"));
    }

    /// <summary>
    /// One case per error class: the YAML, the line we must report, a part of the reason, and
    /// whether Prometheus 2.42 refuses the file too (then promtool check rules must fail on it).
    /// </summary>
    public static TheoryData<string, string, int, string, bool> Errors => new()
    {
        { "invalid YAML", "groups:\n  - name: g\n    rules: [\n", 4, "not valid YAML", true },
        { "YAML tab", "groups:\n\t- name: g\n", 2, "not valid YAML", true },
        { "unknown top-level key", "groups: []\nalerts: []\n", 2, "field alerts not found in the rule file (known fields: groups)", true },
        { "unknown group key", "groups:\n  - name: g\n    evaluation: 1m\n    rules: []\n", 3, "field evaluation not found in a rule group (known fields: name, interval, limit, labels, rules)", true },
        { "unknown rule key", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        summary: x\n", 6, "field summary not found in a rule (known fields: record, alert, expr, for, keep_firing_for, labels, annotations)", true },
        { "missing group name", "groups:\n  - rules:\n      - alert: A\n        expr: up\n", 2, "Groupname must not be empty", true },
        { "missing expr", "groups:\n  - name: g\n    rules:\n      - alert: A\n        for: 1m\n", 4, "group \"g\", rule 1, \"A\": field 'expr' must be set in rule", true },
        { "both alert and record", "groups:\n  - name: g\n    rules:\n      - alert: A\n        record: b\n        expr: up\n", 5, "only one of 'record' and 'alert' must be set", true },
        { "neither alert nor record", "groups:\n  - name: g\n    rules:\n      - expr: up\n", 4, "group \"g\", rule 1, \"\": one of 'record' or 'alert' must be set", true },
        { "duplicate group", "groups:\n  - name: g\n    rules: []\n  - name: h\n    rules: []\n  - name: g\n    rules: []\n", 6, "groupname: \"g\" is repeated in the same file (first at line 2)", true },
        { "invalid alert name", "groups:\n  - name: g\n    rules:\n      - alert: High Latency\n        expr: up\n", 4, "invalid alert name: High Latency", false },
        { "invalid record name", "groups:\n  - name: g\n    rules:\n      - record: job-rate\n        expr: up\n", 4, "invalid recording rule name: job-rate", true },
        { "invalid label name", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        labels:\n          ok: x\n          bad-name: y\n", 8, "invalid label name: bad-name", true },
        { "reserved label name", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        labels:\n          __name__: y\n", 7, "invalid label name: __name__", true },
        { "reserved label prefix", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        labels:\n          __tier: y\n", 7, "invalid label name: __tier", false },
        { "invalid annotation name", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotations:\n          run-book: y\n", 7, "invalid annotation name: run-book", true },
        { "invalid for", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        for: 5 minutes\n", 6, "for: not a valid duration string: \"5 minutes\"", true },
        { "invalid keep_firing_for", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        keep_firing_for: 1h5x\n", 6, "keep_firing_for: not a valid duration string", true },
        { "invalid interval", "groups:\n  - name: g\n    interval: fast\n    rules: []\n", 3, "interval: not a valid duration string: \"fast\"", true },
        { "for on recording rule", "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n        for: 1m\n", 6, "invalid field 'for' in recording rule", true },
        { "keep_firing_for on recording rule", "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n        keep_firing_for: 1m\n", 6, "invalid field 'keep_firing_for' in recording rule", true },
        { "annotations on recording rule", "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n        annotations: {a: b}\n", 6, "invalid field 'annotations' in recording rule", true },
        { "negative limit", "groups:\n  - name: g\n    limit: -1\n    rules: []\n", 3, "limit must not be negative", false },
        { "non-integer limit", "groups:\n  - name: g\n    limit: lots\n    rules: []\n", 3, "limit: 'lots' is not an integer", true },
        { "template error", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotations:\n          summary: ok\n          description: \"{{ $labels.instance \"\n", 8, "annotation \"description\": template error at 1:1: unclosed action", true },
        { "unknown template function", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotations:\n          summary: '{{ query \"up\" | first | value }}'\n", 7, "annotation \"summary\": template error at 1:4: unknown function \"query\" (supported: and, eq, ge, gt, humanize,", false },
        { "label template error", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        labels:\n          tier: '{{ if }}'\n", 7, "label \"tier\": template error at 1:7: missing value for if", true },
        { "unclosed parenthesis", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: sum(rate(x[5m])\n", 5, "could not parse expression: 1:4: parse error: unclosed left parenthesis", true },
        { "unexpected right bracket", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: rate(x[5m]]) > 0\n", 5, "could not parse expression: 1:11: parse error: unexpected right bracket ']' (left parenthesis opened at 1:5 is not closed)", true },
        { "unclosed brace", "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: 'x{job=\"a\"'\n", 5, "1:2: parse error: unclosed left brace", true },
        { "unterminated string", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: 'x{job=\"a}'\n", 5, "1:7: parse error: unterminated quoted string", true },
        { "unterminated raw string", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: 'x{job=`a}'\n", 5, "1:7: parse error: unterminated raw string", true },
        { "multi-line expr", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: |\n          sum(\n            rate(x[5m]\n          )\n", 6, "could not parse expression: 1:4: parse error: unclosed left parenthesis", true },
        { "multi-line expr, later line", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: |\n          sum(\n            rate(x[5m]))\n          ) > 0\n", 8, "could not parse expression: 3:1: parse error: unexpected right parenthesis ')'", true },
        { "comment-only expr", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: |\n          # nothing here\n", 5, "could not parse expression: no expression found in input", true },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Parse_Invalid_ReportsFileLineAndReason(string what, string yaml, int line, string reason, bool prometheusRefusesToo)
    {
        var e = Assert.Throws<ConfigException>(() => RuleFileLoader.Parse(yaml, "bad.rules.yml"));
        Assert.Equal("bad.rules.yml", e.File);
        Assert.True(line == e.Line, $"{what}: expected line {line}, got {e.Line}: {e.Message}");
        Assert.Contains(reason, e.Reason, StringComparison.Ordinal);
        Assert.StartsWith($"bad.rules.yml:{line}: ", e.Message, StringComparison.Ordinal);

        // Parity where Prometheus also refuses the file: promtool must reject it too.
        if (prometheusRefusesToo)
        {
            using var dir = new RulesTempDirectory();
            var (exitCode, output) = PromTool.Run(["check", "rules", dir.Write("bad.rules.yml", yaml)]);
            Assert.True(exitCode != 0, $"{what}: promtool accepted a file we refuse: {output}");
        }
    }

    [Fact]
    public void Parse_BracketsInsideStringsAndComments_AreNotCounted()
    {
        var group = Assert.Single(RuleFileLoader.Parse("""
            groups:
              - name: g
                rules:
                  - alert: A
                    expr: |
                      count(x{path="/a(b]", re=~'[{'} or y{v=`)`})  # unbalanced ) ] } in a comment
            """, "ok.yml"));
        Assert.StartsWith("count(", group.AlertingRules[0].Expr, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadFile_MissingFile_IsConfigErrorNamingIt()
    {
        string path = Path.Combine(Path.GetTempPath(), "exh-no-such-" + Guid.NewGuid().ToString("N") + ".yml");
        var e = Assert.Throws<ConfigException>(() => RuleFileLoader.LoadFile(path));
        Assert.Equal(path, e.File);
        Assert.Contains("cannot read the rule file", e.Reason, StringComparison.Ordinal);
    }
}
