using ExchangeHealth.Chaos.Platform;
using ExchangeHealth.Chaos.Slack;
using ExchangeHealth.TestKit.Prometheus;

namespace ExchangeHealth.Chaos.Tests.Platform;

/// <summary>The files the supervisor generates, checked by the real tools that read them.</summary>
public sealed class PlatformConfigTests
{
    private static string Root => PlatformSupervisor.FindRepositoryRoot() ?? throw new InvalidOperationException("repository root not found");

    [Fact]
    public void The_generated_prometheus_yml_passes_promtool_with_the_repository_rules()
    {
        string dir = Directory.CreateTempSubdirectory("exh-up-config-").FullName;
        try
        {
            string yaml = PlatformConfig.PrometheusYaml(TimeSpan.FromSeconds(1), Path.Combine(Root, "alert-rules"), "127.0.0.1:7080", "127.0.0.1:7091", ["127.0.0.1:7090", "127.0.0.1:7092"]);
            string file = Path.Combine(dir, "prometheus.yml");
            File.WriteAllText(file, yaml);
            var (code, output) = PromTool.Run(["check", "config", file]);
            Assert.True(code == 0, output);
            // promtool followed rule_files into the repository's rules (engine and SLO files), so Prometheus evaluates the same rules as the monitor.
            Assert.Contains("engine.rules.yml", output, StringComparison.Ordinal);
            Assert.Contains("slo-exchange.rules.yml", output, StringComparison.Ordinal);
            foreach (string job in new[] { "job_name: exh-engine", "job_name: exh-canary", "job_name: exh-monitor", "\"127.0.0.1:7092\"", "scrape_interval: 1000ms", "evaluation_interval: 1000ms" })
                Assert.Contains(job, yaml, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void The_routing_file_for_a_Slack_stand_in_changes_only_the_api_url()
    {
        string original = File.ReadAllText(Path.Combine(Root, "config", "alertmanager.yml"));
        string routed = PlatformConfig.RoutingWithSlackApi(original, new Uri("http://127.0.0.1:4567/api"));
        Assert.Contains("  slack_api_url: \"http://127.0.0.1:4567/api/\"", routed, StringComparison.Ordinal);
        Assert.DoesNotContain("https://slack.com/api/", routed, StringComparison.Ordinal);
        var before = original.Split('\n').Where(l => !l.Contains("slack_api_url", StringComparison.Ordinal));
        var after = routed.Split('\n').Where(l => !l.Contains("slack_api_url", StringComparison.Ordinal));
        Assert.Equal(before, after);
        // A file without the key gets it under global:.
        Assert.Contains("global:\n  slack_api_url: \"http://h:1/\"", PlatformConfig.RoutingWithSlackApi("global:\n  resolve_timeout: 5m\nroute:\n  receiver: x\n", new Uri("http://h:1/")), StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => PlatformConfig.RoutingWithSlackApi("route:\n  receiver: x\n", new Uri("http://h:1/")));
    }

    [Fact]
    public async Task With_a_Slack_stand_in_the_monitor_routes_through_the_generated_file_with_Slack_on()
    {
        await using var slack = await FakeSlackServer.StartAsync(FakeSlackServer.DefaultToken, ["C0EXONCALL", "C0EXALERTS"]);
        string data = Path.Combine(Path.GetTempPath(), "exh-up-slack-" + Guid.NewGuid().ToString("N")[..10]);
        try
        {
            await using (var platform = await PlatformSupervisor.StartAsync(PlatformFixture.Options(data, OrderFlow.None) with { SlackApi = slack.BaseUrl }))
            {
                Assert.Equal(slack.BaseUrl, platform.Endpoints.SlackApi);
                string routing = Path.Combine(data, "alertmanager.yml");
                Assert.Contains(slack.BaseUrl.AbsoluteUri, File.ReadAllText(routing), StringComparison.Ordinal);
                string log = platform.LogTail(ComponentNames.Monitor, 200);
                Assert.Contains($"routing {routing}", log, StringComparison.Ordinal);
                Assert.Contains("Slack on", log, StringComparison.Ordinal);
                // The token is in the monitor's environment only: never in up.json or the log.
                Assert.DoesNotContain(FakeSlackServer.DefaultToken, File.ReadAllText(platform.ManifestPath), StringComparison.Ordinal);
                Assert.DoesNotContain(FakeSlackServer.DefaultToken, log, StringComparison.Ordinal);
            }
        }
        finally
        {
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }
}
