using ExchangeHealth.Alerting.Routing;
using ExchangeHealth.Engine;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Alerting.Tests.Routing;

public sealed class RoutingConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("exh-routing-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string Full = """
        global:
          resolve_timeout: 2m
          slack_api_url: https://slack.example/api/T0/B0/secret-token
        route:
          receiver: default
          group_by: [market, alertname]
          group_wait: 10s
          routes:
            - matchers: ['severity="page"', 'market=~"BTC.*"']
              receiver: oncall
              continue: true
              repeat_interval: 1h
              routes:
                - match: {team: exchange}
                  match_re: {instance: 'engine-.*'}
                  group_by: ['...']
            - matchers: [severity=ticket]
              receiver: hook
              group_by: []
              group_interval: 10m
        receivers:
          - name: default
          - name: oncall
            slack_configs:
              - channel: '#exchange-oncall'
                title: Exchange alert
                text: See the runbook
                mention: '<!here>'
                escalate_after: 15m
                escalation_mention: '<!subteam^S0ABC>'
              - channel: '#quiet'
                api_url: https://other.example/hook
                send_resolved: false
          - name: hook
            webhook_configs:
              - url: http://127.0.0.1:9000/hook
                max_alerts: 10
                send_resolved: false
        inhibit_rules:
          - source_matchers: [severity="page"]
            target_matchers: [severity="ticket"]
            equal: [market, alertname]
          - source_match: {alertname: EngineDown}
            target_match_re: {alertname: '.*Latency.*'}
        """;

    [Fact]
    public void Parse_ReadsEveryField_AndChildrenInheritTheirParentsOptions()
    {
        var c = RoutingConfig.Parse(Full, "alertmanager.yml");
        Assert.Equal(TimeSpan.FromMinutes(2), c.Global.ResolveTimeout);
        Assert.Equal("https://slack.example/api/T0/B0/secret-token", c.Global.SlackApiUrl);

        var root = c.Root;
        Assert.Equal("default", root.Receiver);
        Assert.Equal(["alertname", "market"], root.Options.GroupBy);
        Assert.Equal(TimeSpan.FromSeconds(10), root.Options.GroupWait);
        Assert.Equal(TimeSpan.FromMinutes(5), root.Options.GroupInterval);   // Alertmanager default
        Assert.Equal(TimeSpan.FromHours(4), root.Options.RepeatInterval);    // Alertmanager default
        Assert.Equal("{}", root.Key);
        Assert.Equal(5, root.Line);

        var oncall = root.Routes[0];
        Assert.Equal("oncall", oncall.Receiver);
        Assert.True(oncall.Continue);
        Assert.Equal(TimeSpan.FromHours(1), oncall.Options.RepeatInterval);
        Assert.Equal(TimeSpan.FromSeconds(10), oncall.Options.GroupWait);    // inherited
        Assert.Equal(["alertname", "market"], oncall.Options.GroupBy);       // inherited
        Assert.Equal("{}/{market=~\"BTC.*\",severity=\"page\"}", oncall.Key);  // sorted as Alertmanager
        Assert.Equal(9, oncall.Line);

        var leaf = oncall.Routes[0];
        Assert.Equal("oncall", leaf.Receiver);                               // inherited
        Assert.True(leaf.Options.GroupByAll);
        Assert.Equal(TimeSpan.FromHours(1), leaf.Options.RepeatInterval);    // inherited from its parent
        Assert.Equal(["instance=~\"engine-.*\"", "team=\"exchange\""], leaf.Matchers.Select(m => m.ToString()));

        var tickets = root.Routes[1];
        Assert.Empty(tickets.Options.GroupBy);                               // group_by: [] overrides
        Assert.False(tickets.Options.GroupByAll);
        Assert.Equal(TimeSpan.FromMinutes(10), tickets.Options.GroupInterval);

        var slack = c.Receiver("oncall").SlackConfigs;
        Assert.Equal(2, slack.Count);
        Assert.Equal("https://slack.example/api/T0/B0/secret-token", slack[0].ApiUrl); // from global
        Assert.Equal("#exchange-oncall", slack[0].Channel);
        Assert.True(slack[0].SendResolved);                                  // ExchangeHealth default
        Assert.Equal("Exchange alert", slack[0].Title);
        Assert.Equal("See the runbook", slack[0].Text);
        Assert.Equal("<!here>", slack[0].Mention);
        Assert.Equal(TimeSpan.FromMinutes(15), slack[0].EscalateAfter);
        Assert.Equal("<!subteam^S0ABC>", slack[0].EscalationMention);
        Assert.Equal("https://other.example/hook", slack[1].ApiUrl);
        Assert.False(slack[1].SendResolved);
        Assert.Null(slack[1].EscalateAfter);
        Assert.True(c.Receiver("oncall").SendResolved);

        var hook = Assert.Single(c.Receiver("hook").WebhookConfigs);
        Assert.Equal("http://127.0.0.1:9000/hook", hook.Url);
        Assert.Equal(10, hook.MaxAlerts);
        Assert.False(c.Receiver("hook").SendResolved);
        Assert.Empty(c.Receiver("default").SlackConfigs);

        Assert.Equal(2, c.InhibitRules.Count);
        Assert.Equal(["market", "alertname"], c.InhibitRules[0].Equal);
        Assert.Equal("severity=\"page\"", Assert.Single(c.InhibitRules[0].SourceMatchers).ToString());
        Assert.Equal("alertname=~\".*Latency.*\"", Assert.Single(c.InhibitRules[1].TargetMatchers).ToString());
        Assert.Equal(40, c.InhibitRules[0].Line);
    }

    [Fact]
    public void Secrets_AreNotPrinted()
    {
        var c = RoutingConfig.Parse(Full, "alertmanager.yml");
        Assert.DoesNotContain("secret-token", c.Global.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("secret-token", c.Receiver("oncall").SlackConfigs[0].ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("9000/hook", c.Receiver("hook").WebhookConfigs[0].ToString(), StringComparison.Ordinal);
        var e = Assert.Throws<ConfigException>(() => RoutingConfig.Parse("""
            route: {receiver: d}
            receivers: [{name: d, webhook_configs: [{url: 'ftp://host/path-with-token'}]}]
            """, "a.yml"));
        Assert.DoesNotContain("path-with-token", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_AreAlertmanagers()
    {
        var c = RoutingConfig.Parse("route: {receiver: d}\nreceivers: [{name: d}]\n", "min.yml");
        Assert.Equal(TimeSpan.FromMinutes(5), c.Global.ResolveTimeout);
        Assert.Null(c.Global.SlackApiUrl);
        Assert.Equal(TimeSpan.FromSeconds(30), c.Root.Options.GroupWait);
        Assert.Equal(TimeSpan.FromMinutes(5), c.Root.Options.GroupInterval);
        Assert.Equal(TimeSpan.FromHours(4), c.Root.Options.RepeatInterval);
        Assert.Empty(c.Root.Options.GroupBy);
        Assert.Empty(c.InhibitRules);
    }

    public static TheoryData<string, string, int, string> Errors => new()
    {
        { "unknown key", "route:\n  receiver: d\n  group_whit: 30s\nreceivers: [{name: d}]", 3, "unknown key 'group_whit'" },
        { "unknown receiver", "route:\n  receiver: d\n  routes:\n    - receiver: nobody\nreceivers: [{name: d}]", 4, "undefined receiver \"nobody\"" },
        { "duplicate receiver", "route: {receiver: d}\nreceivers:\n  - name: d\n  - name: d", 4, "\"d\" is not unique" },
        { "bad duration", "route:\n  receiver: d\n  group_wait: 30 s\nreceivers: [{name: d}]", 3, "group_wait" },
        { "zero group_interval", "route:\n  receiver: d\n  group_interval: 0s\nreceivers: [{name: d}]", 3, "group_interval cannot be zero" },
        { "bad regex", "route:\n  receiver: d\n  routes:\n    - match_re:\n        market: '[BTC'\nreceivers: [{name: d}]", 5, "bad regex" },
        { "bad matcher syntax", "route:\n  receiver: d\n  routes:\n    - matchers:\n        - 'severity page'\nreceivers: [{name: d}]", 5, "bad matcher format" },
        { "unescaped quote", "route:\n  receiver: d\n  routes:\n    - matchers: ['a=\"b']\nreceivers: [{name: d}]", 4, "unescaped double quote" },
        { "root with matchers", "route:\n  receiver: d\n  matchers: [a=b]\nreceivers: [{name: d}]", 2, "root route must not have any matchers" },
        { "root without receiver", "route:\n  group_by: [a]\nreceivers: [{name: d}]", 2, "root route must specify a default receiver" },
        { "root with continue", "route:\n  receiver: d\n  continue: true\nreceivers: [{name: d}]", 3, "cannot have continue in root route" },
        { "group_by bad label", "route:\n  receiver: d\n  group_by: [alertname, 'market-id']\nreceivers: [{name: d}]", 3, "invalid label name \"market-id\" in group_by" },
        { "group_by ... and others", "route:\n  receiver: d\n  group_by: ['...', a]\nreceivers: [{name: d}]", 3, "wildcard group_by" },
        { "escalate_after on webhook", "route: {receiver: d}\nreceivers:\n  - name: d\n    webhook_configs:\n      - url: http://h/x\n        escalate_after: 5m", 6, "escalate_after is only valid in slack_configs" },
        { "escalate_after bad", "global: {slack_api_url: 'http://s/'}\nroute: {receiver: d}\nreceivers:\n  - name: d\n    slack_configs:\n      - escalate_after: soon", 6, "escalate_after" },
        { "slack without url", "route: {receiver: d}\nreceivers:\n  - name: d\n    slack_configs:\n      - channel: '#x'", 5, "no global Slack API URL" },
        { "webhook without url", "route: {receiver: d}\nreceivers:\n  - name: d\n    webhook_configs:\n      - send_resolved: true", 5, "url" },
        { "email receiver", "route: {receiver: d}\nreceivers:\n  - name: d\n    email_configs: [{to: a@b.c}]", 4, "'email_configs' is not supported" },
        { "slack color", "global: {slack_api_url: 'http://s/'}\nroute: {receiver: d}\nreceivers:\n  - name: d\n    slack_configs:\n      - color: danger", 6, "'color' is not supported" },
        { "templates", "route: {receiver: d}\nreceivers: [{name: d}]\ntemplates:\n  - '/etc/am/*.tmpl'", 4, "templates are not supported" },
        { "time intervals", "route: {receiver: d}\nreceivers: [{name: d}]\ntime_intervals: []", 3, "'time_intervals' is not supported" },
        { "inhibit equal bad label", "route: {receiver: d}\nreceivers: [{name: d}]\ninhibit_rules:\n  - equal: ['a b']", 4, "not a valid label name" },
        { "inhibit bad matcher", "route: {receiver: d}\nreceivers: [{name: d}]\ninhibit_rules:\n  - source_matchers: ['a=~\"(\"']", 4, "bad regex" },
        { "invalid yaml", "route:\n  receiver: d\n   bad: indent\nreceivers: [{name: d}]", 3, "not valid YAML" },
        { "no route", "receivers: [{name: d}]", 1, "no route provided" },
        { "continue not bool", "route:\n  receiver: d\n  routes:\n    - continue: 'true'\nreceivers: [{name: d}]", 4, "continue: expected true or false" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Parse_Invalid_NamesFileLineAndReason(string name, string yaml, int line, string reason)
    {
        var e = Assert.Throws<ConfigException>(() => RoutingConfig.Parse(yaml, "alertmanager.yml"));
        Assert.True(e.Line == line, $"{name}: expected line {line}, got {e.Message}");
        Assert.Equal("alertmanager.yml", e.File);
        Assert.Contains(reason, e.Reason, StringComparison.Ordinal);
        Assert.StartsWith($"alertmanager.yml:{line}: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MergesExtraInhibitRuleFiles_AndReportsTheirErrorsWithTheirName()
    {
        string main = Path.Combine(_dir, "alertmanager.yml");
        File.WriteAllText(main, Full);
        string extra = Path.Combine(_dir, "slo-inhibit-rules.yml");
        File.WriteAllText(extra, """
            # generated by exh slo generate
            inhibit_rules:
              - source_matchers: ['exh_tier="fast"']
                target_matchers: ['exh_tier="slow"']
                equal: [sloth_id, market]
            """);
        var c = RoutingConfig.Load(main, [extra]);
        Assert.Equal(3, c.InhibitRules.Count);
        var rule = c.InhibitRules[2];
        Assert.Equal(extra, rule.Source);
        Assert.Equal(3, rule.Line);
        Assert.Equal(["sloth_id", "market"], rule.Equal);

        string bad = Path.Combine(_dir, "bad-inhibit.yml");
        File.WriteAllText(bad, "inhibit_rules: []\nroute: {receiver: d}\n");
        var e = Assert.Throws<ConfigException>(() => RoutingConfig.Load(main, [bad]));
        Assert.Equal(bad, e.File);
        Assert.Equal(2, e.Line);
        Assert.Contains("unknown key 'route'", e.Reason, StringComparison.Ordinal);

        var missing = Assert.Throws<ConfigException>(() => RoutingConfig.Load(Path.Combine(_dir, "nope.yml")));
        Assert.Contains("cannot read", missing.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void SiblingsWithTheSameMatchers_GetDistinctKeys()
    {
        var c = RoutingConfig.Parse("""
            route:
              receiver: a
              routes:
                - {matchers: [x=y], receiver: a, continue: true}
                - {matchers: [x=y], receiver: a}
            receivers: [{name: a}]
            """, "dup.yml");
        Assert.Equal("{}/{x=\"y\"}", c.Root.Routes[0].Key);
        Assert.Equal("{}/{x=\"y\"}#1", c.Root.Routes[1].Key);
        Assert.Equal(2, c.Root.Match(LabelSet.Of("x", "y")).Count);
    }
}
