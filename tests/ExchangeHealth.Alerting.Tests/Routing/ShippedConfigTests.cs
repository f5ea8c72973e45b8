using ExchangeHealth.Alerting.Routing;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Alerting.Tests.Routing;

public class ShippedConfigTests
{
    private static string RepoFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(Path.Combine(dir.FullName, "ExchangeHealth.sln")) && File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException(relative);
    }

    [Fact]
    public void ConfigAlertmanagerYml_LoadsAndRoutesAsItsCommentsSay()
    {
        var c = RoutingConfig.Load(RepoFile("config/alertmanager.yml"));
        string Receivers(params string[] labels) => string.Join(",", c.Root.Match(LabelSet.Of(labels)).Select(r => r.Receiver));
        Assert.Equal("exchange-oncall", Receivers("alertname", "SloBurn", "severity", "page", "market", "BTC-USD"));
        Assert.Equal("exchange-alerts", Receivers("alertname", "SloBurn", "severity", "ticket"));
        Assert.Equal("exchange-alerts", Receivers("alertname", "Unlabelled"));
        Assert.Equal(TimeSpan.FromMinutes(15), Assert.Single(c.Receiver("exchange-oncall").SlackConfigs).EscalateAfter);
        Assert.True(Assert.Single(c.Root.Match(LabelSet.Of("alertname", "SloBurn", "severity", "page"))).Options.Page);
        Assert.False(Assert.Single(c.Root.Match(LabelSet.Of("alertname", "SloBurn", "severity", "ticket"))).Options.Page);
        Assert.Single(c.InhibitRules);
    }

    [Fact]
    public void ConfigAlertmanagerYml_WithoutOurExtensionKeys_IsValidForAmtool()
    {
        string[] extensions = ["mention:", "escalate_after:", "escalation_mention:", "page:"];
        var lines = File.ReadAllLines(RepoFile("config/alertmanager.yml"))
            .Where(l => !extensions.Any(e => l.TrimStart().StartsWith(e, StringComparison.Ordinal)));
        string path = Path.Combine(Path.GetTempPath(), $"exh-am-{Guid.NewGuid():N}.yml");
        File.WriteAllLines(path, lines);
        try
        {
            var (valid, output) = AmTool.CheckConfig(path);
            Assert.True(valid, output);
            RoutingConfig.Load(path);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
