using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using ExchangeHealth.TestKit.Alertmanager;
using ExchangeHealth.TestKit.Prometheus;

namespace ExchangeHealth.Monitor.Tests.Slo;

/// <summary>
/// The committed config/slo-inhibit-rules.yml in a real Alertmanager (Debian package
/// prometheus-alertmanager): amtool accepts it, and a faster burn-rate tier suppresses the slower
/// tiers of the same SLO and market only.
/// </summary>
public sealed class SloInhibitionTests
{
    private const string Route = """
        route:
          receiver: "null"
          group_by: [alertname, sloth_id]
        receivers:
          - name: "null"

        """;

    [Fact]
    public void AmtoolCheckConfig_AcceptsTheGeneratedInhibitRules()
    {
        using var dir = new SloTempDirectory();
        string config = dir.Write("alertmanager.yml", Route + File.ReadAllText(SloTestSupport.Repo("config", "slo-inhibit-rules.yml")));
        var (code, output) = Run(ExternalTool.Find("amtool", "prometheus-alertmanager"), ["check-config", config]);
        Assert.True(code == 0, output);
        Assert.Contains(" - 12 inhibit rules", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RealAlertmanager_FasterTierSuppressesSlowerTiersOfSameSloAndMarketOnly()
    {
        using var dir = new SloTempDirectory();
        await using var am = await AlertmanagerServer.StartAsync(Route + File.ReadAllText(SloTestSupport.Repo("config", "slo-inhibit-rules.yml")));
        using var amHttp = new HttpClient { BaseAddress = am.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };

        static Dictionary<string, object> Alert(string slo, string tier, string market) => new()
        {
            ["labels"] = new Dictionary<string, string>
            {
                ["alertname"] = "BudgetBurn",
                ["sloth_id"] = "exchange-" + slo,
                ["sloth_service"] = "exchange",
                ["sloth_slo"] = slo,
                ["exh_tier"] = tier,
                ["sloth_severity"] = tier.Split('-')[0],
                ["market"] = market,
            },
            ["startsAt"] = DateTimeOffset.UtcNow.AddMinutes(-1),
            ["endsAt"] = DateTimeOffset.UtcNow.AddMinutes(10),
        };
        using var post = await amHttp.PostAsJsonAsync("api/v2/alerts", new[]
        {
            Alert("order-entry-availability", "page-fast", "BTC/USD"),
            Alert("order-entry-availability", "page-slow", "BTC/USD"),    // muted by page-fast
            Alert("order-entry-availability", "ticket-slow", "BTC/USD"),  // muted by page-fast
            Alert("order-entry-availability", "page-slow", "ETH/USD"),    // other market: not muted
            Alert("order-entry-availability", "ticket-fast", "ETH/USD"),  // muted by ETH/USD page-slow
            Alert("order-ack-latency", "ticket-slow", "BTC/USD"),         // other SLO: not muted
        });
        Assert.True(post.IsSuccessStatusCode, await post.Content.ReadAsStringAsync());

        var expected = new Dictionary<string, string>
        {
            ["order-entry-availability page-fast BTC/USD"] = "active",
            ["order-entry-availability page-slow BTC/USD"] = "suppressed",
            ["order-entry-availability ticket-slow BTC/USD"] = "suppressed",
            ["order-entry-availability page-slow ETH/USD"] = "active",
            ["order-entry-availability ticket-fast ETH/USD"] = "suppressed",
            ["order-ack-latency ticket-slow BTC/USD"] = "active",
        };
        Dictionary<string, (string State, int InhibitedBy)> states = [];
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            using var doc = JsonDocument.Parse(await amHttp.GetStringAsync("api/v2/alerts"));
            states = doc.RootElement.EnumerateArray().ToDictionary(
                a => $"{a.GetProperty("labels").GetProperty("sloth_slo").GetString()} {a.GetProperty("labels").GetProperty("exh_tier").GetString()} {a.GetProperty("labels").GetProperty("market").GetString()}",
                a => (a.GetProperty("status").GetProperty("state").GetString()!, a.GetProperty("status").GetProperty("inhibitedBy").GetArrayLength()));
            if (expected.All(e => states.TryGetValue(e.Key, out var s) && s.State == e.Value)) break;
            await Task.Delay(100);
        }
        Assert.Equal(expected.OrderBy(e => e.Key, StringComparer.Ordinal), states.Select(s => KeyValuePair.Create(s.Key, s.Value.State)).OrderBy(e => e.Key, StringComparer.Ordinal));
        Assert.All(states.Where(s => s.Value.State == "suppressed"), s => Assert.True(s.Value.InhibitedBy > 0, s.Key));
    }

    private static (int Code, string Output) Run(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromSeconds(30))) { p.Kill(); throw new TimeoutException(file); }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
