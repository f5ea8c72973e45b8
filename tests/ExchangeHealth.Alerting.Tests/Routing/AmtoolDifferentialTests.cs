using ExchangeHealth.Alerting.Routing;
using ExchangeHealth.Engine;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Alerting.Tests.Routing;

/// <summary>
/// Our loader and route tree against the real Alertmanager 0.25 <c>amtool</c>: the same files
/// must be valid or invalid for both, and the same label sets must reach the same receivers.
/// </summary>
public sealed class AmtoolDifferentialTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("exh-amtool-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string R = "receivers: [{name: d}, {name: x}]";

    /// <summary>(name, file, valid per Alertmanager) — the expectation is asserted for both tools.</summary>
    public static readonly (string Name, string Yaml, bool Valid)[] CheckConfigCases =
    [
        ("minimal", $"route: {{receiver: d}}\n{R}", true),
        ("route tree", RouteTree, true),
        ("all supported keys", """
            global: {resolve_timeout: 1m, slack_api_url: 'https://slack.example/api/'}
            route:
              receiver: d
              group_by: [alertname, market]
              group_wait: 0s
              group_interval: 1m
              repeat_interval: 1h
              routes:
                - {matchers: ['a=b,c=~"d|e"', 'f!~g'], match: {h: i}, match_re: {j: 'k.*'}, continue: yes, receiver: x, group_by: ['...']}
                - {matchers: ['{a:b="c"}', ''], routes: []}
            receivers:
              - name: d
                slack_configs: [{channel: '#c', send_resolved: false, title: t, text: x}, {api_url: 'http://h/x'}]
                webhook_configs: [{url: 'http://127.0.0.1:1/x', max_alerts: 3, send_resolved: true}]
              - name: x
            inhibit_rules:
              - {source_matchers: [a=b], target_matchers: ['c=~"d"'], equal: [e, f]}
              - {source_match: {a: b}, source_match_re: {c: 'd+'}, target_match: {e: f}, target_match_re: {g: '(?P<n>h)'}}
            """, true),
        ("resolve_timeout 0", $"global: {{resolve_timeout: 0s}}\nroute: {{receiver: d}}\n{R}", true),
        ("child without receiver", $"route: {{receiver: d, routes: [{{group_by: [a]}}]}}\n{R}", true),
        ("unquoted matcher with ==", $"route: {{receiver: d, routes: [{{matchers: ['a==b']}}]}}\n{R}", true),
        ("empty config", "", false),
        ("no route", R, false),
        ("null route", $"route:\n{R}", false),
        ("unknown top-level key", $"route: {{receiver: d}}\nroutes: []\n{R}", false),
        ("unknown route key", $"route: {{receiver: d, foo: 1}}\n{R}", false),
        ("unknown receiver key", "route: {receiver: d}\nreceivers: [{name: d, slack: []}]", false),
        ("unknown slack key", "global: {slack_api_url: 'http://s/'}\nroute: {receiver: d}\nreceivers: [{name: d, slack_configs: [{chanel: x}]}]", false),
        ("unknown inhibit key", $"route: {{receiver: d}}\ninhibit_rules: [{{source_matchers: ['a=b'], foo: 1}}]\n{R}", false),
        ("duplicate key", $"route: {{receiver: d, receiver: x}}\n{R}", false),
        ("undefined receiver", $"route: {{receiver: nobody}}\n{R}", false),
        ("undefined child receiver", $"route: {{receiver: d, routes: [{{receiver: nobody}}]}}\n{R}", false),
        ("duplicate receiver", "route: {receiver: d}\nreceivers: [{name: d}, {name: d}]", false),
        ("receiver without name", "route: {receiver: d}\nreceivers: [{name: d}, {webhook_configs: []}]", false),
        ("root without receiver", $"route: {{group_by: [a]}}\n{R}", false),
        ("root with matchers", $"route: {{receiver: d, matchers: ['a=b']}}\n{R}", false),
        ("root with match", $"route: {{receiver: d, match: {{a: b}}}}\n{R}", false),
        ("root with continue", $"route: {{receiver: d, continue: true}}\n{R}", false),
        ("bad duration", $"route: {{receiver: d, group_wait: 30}}\n{R}", false),
        ("negative duration", $"route: {{receiver: d, group_wait: -1s}}\n{R}", false),
        ("zero group_interval", $"route: {{receiver: d, group_interval: 0s}}\n{R}", false),
        ("zero repeat_interval", $"route: {{receiver: d, repeat_interval: 0s}}\n{R}", false),
        ("bad resolve_timeout", $"global: {{resolve_timeout: 5 minutes}}\nroute: {{receiver: d}}\n{R}", false),
        ("bad match_re regex", $"route: {{receiver: d, routes: [{{match_re: {{a: '[a'}}}}]}}\n{R}", false),
        ("bad matchers regex", $"route: {{receiver: d, routes: [{{matchers: ['a=~\"(b\"']}}]}}\n{R}", false),
        ("look-ahead regex", $"route: {{receiver: d, routes: [{{matchers: ['a=~\"(?=b)\"']}}]}}\n{R}", false),
        ("bad matcher syntax", $"route: {{receiver: d, routes: [{{matchers: ['a b']}}]}}\n{R}", false),
        ("unescaped quote", $"route: {{receiver: d, routes: [{{matchers: ['a=\"b']}}]}}\n{R}", false),
        ("bad match label name", $"route: {{receiver: d, routes: [{{match: {{'a-b': c}}}}]}}\n{R}", false),
        ("group_by bad label", $"route: {{receiver: d, group_by: ['a:b']}}\n{R}", false),
        ("group_by duplicate", $"route: {{receiver: d, group_by: [a, a]}}\n{R}", false),
        ("group_by ... with others", $"route: {{receiver: d, group_by: ['...', a]}}\n{R}", false),
        ("continue quoted", $"route: {{receiver: d, routes: [{{continue: 'true'}}]}}\n{R}", false),
        ("slack without url", "route: {receiver: d}\nreceivers: [{name: d, slack_configs: [{channel: x}]}]", false),
        ("slack bad url", "route: {receiver: d}\nreceivers: [{name: d, slack_configs: [{api_url: 'not a url'}]}]", false),
        ("global slack bad url", $"global: {{slack_api_url: 'ftp://x/y'}}\nroute: {{receiver: d}}\n{R}", false),
        ("webhook without url", "route: {receiver: d}\nreceivers: [{name: d, webhook_configs: [{send_resolved: true}]}]", false),
        ("webhook ftp url", "route: {receiver: d}\nreceivers: [{name: d, webhook_configs: [{url: 'ftp://x/y'}]}]", false),
        ("webhook negative max_alerts", "route: {receiver: d}\nreceivers: [{name: d, webhook_configs: [{url: 'http://h/', max_alerts: -1}]}]", false),
        ("inhibit equal bad label", $"route: {{receiver: d}}\ninhibit_rules: [{{equal: ['a-b']}}]\n{R}", false),
        ("inhibit bad source label", $"route: {{receiver: d}}\ninhibit_rules: [{{source_match: {{'a-b': x}}}}]\n{R}", false),
        ("inhibit bad target regex", $"route: {{receiver: d}}\ninhibit_rules: [{{target_match_re: {{a: '(x'}}}}]\n{R}", false),
    ];

    public static TheoryData<string> CheckConfigCaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in CheckConfigCases) data.Add(c.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(CheckConfigCaseNames))]
    public void CheckConfig_AgreesWithAmtool(string name)
    {
        var (_, yaml, valid) = CheckConfigCases.Single(c => c.Name == name);
        string path = Path.Combine(_dir, "alertmanager.yml");
        File.WriteAllText(path, yaml);

        var (amValid, amOutput) = AmTool.CheckConfig(path);
        string? ours = null;
        try { RoutingConfig.Load(path); }
        catch (ConfigException e) { ours = e.Message; }

        Assert.True(amValid == valid, $"{name}: amtool says {(amValid ? "valid" : "invalid")}, the case table says otherwise:\n{amOutput}");
        Assert.True((ours is null) == amValid, $"{name}: amtool {(amValid ? "accepts" : "rejects")} it, we {(ours is null ? "accept" : "reject")} it ({ours})\namtool: {amOutput}");
    }

    private const string RouteTree = """
        route:
          receiver: default
          group_by: [alertname]
          routes:
            - matchers: ['severity="page"']
              receiver: pager
              continue: true
              routes:
                - matchers: ['market=~"BTC-.*"']
                  receiver: btc-pager
                - match_re: {market: 'ETH-.*|SOL-.*'}
                  receiver: alt-pager
                  continue: true
                - matchers: ['team!="exchange"']
                  receiver: other-team-pager
            - matchers: ['severity=~"page|ticket"', 'team="exchange"']
              receiver: exchange-tickets
              routes:
                - match: {alertname: EngineDown}
                  receiver: engine
                - matchers: ['instance!~"canary-.*"']
                  continue: true
                  routes:
                    - matchers: ['market=""']
                      receiver: no-market
                - matchers: [instance=~canary-.+]
                  receiver: canary
            - matchers: ['alertname=~"Watchdog|DeadMansSwitch"']
              receiver: heartbeat
            - matchers: [service=monitor]
              receiver: monitor
              continue: true
            - match: {service: monitor}
              receiver: monitor-2
        receivers:
          - name: default
          - name: pager
          - name: btc-pager
          - name: alt-pager
          - name: other-team-pager
          - name: exchange-tickets
          - name: engine
          - name: no-market
          - name: canary
          - name: heartbeat
          - name: monitor
          - name: monitor-2
        """;

    [Fact]
    public void RoutesTest_ReceiversEqualAmtools()
    {
        string path = Path.Combine(_dir, "tree.yml");
        File.WriteAllText(path, RouteTree);
        var root = RoutingConfig.Load(path).Root;

        // Hand-picked sets for the interesting paths, then seeded random ones over the label domains.
        var sets = new List<LabelSet>
        {
            LabelSet.Of("alertname", "HighLatency", "severity", "page", "market", "BTC-USD", "team", "exchange"),
            LabelSet.Of("alertname", "HighLatency", "severity", "page", "market", "ETH-USD", "team", "infra"),
            LabelSet.Of("alertname", "EngineDown", "severity", "ticket", "team", "exchange"),
            LabelSet.Of("alertname", "Errors", "severity", "ticket", "team", "exchange", "instance", "canary-1"),
            LabelSet.Of("alertname", "Errors", "severity", "ticket", "team", "exchange", "instance", "engine-1"),
            LabelSet.Of("alertname", "Watchdog"),
            LabelSet.Of("alertname", "Disk", "service", "monitor"),
            LabelSet.Of("alertname", "Other"),
            LabelSet.Of("alertname", "Errors", "severity", "ticket", "team", "exchange", "market", "BTC-USD"),
        };
        var random = new Random(4);
        string?[][] domains =
        [
            ["EngineDown", "HighLatency", "Watchdog", "Errors"],
            ["page", "ticket", "info", null],
            ["exchange", "infra", null],
            ["BTC-USD", "ETH-USD", "SOL-USD", "XRP-USD", null],
            ["canary-1", "engine-1", null],
            ["monitor", null],
        ];
        string[] names = ["alertname", "severity", "team", "market", "instance", "service"];
        while (sets.Count < 40)
        {
            var pairs = new List<string>();
            for (int i = 0; i < names.Length; i++)
            {
                string? v = domains[i][random.Next(domains[i].Length)];
                if (v is not null) { pairs.Add(names[i]); pairs.Add(v); }
            }
            sets.Add(LabelSet.Of([.. pairs]));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var labels in sets)
        {
            var expected = AmTool.RoutesTest(path, labels);
            var ours = root.Match(labels).Select(r => r.Receiver).ToList();
            Assert.True(expected.SequenceEqual(ours), $"{labels}: amtool {string.Join(",", expected)}, ours {string.Join(",", ours)}");
            seen.Add(string.Join(",", ours));
        }
        // The table exercises the tree: continue (several receivers), nesting, inheritance, fall-through.
        Assert.Contains("btc-pager,exchange-tickets", seen);
        Assert.Contains("alt-pager,other-team-pager", seen);
        Assert.Contains("exchange-tickets", seen);            // inherited receiver of the continue node
        Assert.Contains("monitor,monitor-2", seen);
        Assert.Contains("default", seen);
        Assert.True(seen.Count >= 8, $"only {seen.Count} distinct routings: {string.Join(" | ", seen)}");
    }
}
