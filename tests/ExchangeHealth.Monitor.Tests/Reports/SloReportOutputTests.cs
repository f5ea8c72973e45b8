using ExchangeHealth.Chaos.Slack;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using ExchangeHealth.Cli;
using ExchangeHealth.Monitor.Reports;
using static ExchangeHealth.Monitor.Tests.Reports.SloReportFixture;

namespace ExchangeHealth.Monitor.Tests.Reports;

/// <summary>The report files (service and <c>exh slo report</c>) from the fixture's real Prometheus.</summary>
[Collection(nameof(SloReportCollection))]
public sealed partial class SloReportOutputTests(SloReportFixture fixture) : IDisposable
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "exh-report-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Service_WritesDatedMarkdownAndHtml_AndPublishesTheSummary()
    {
        string? published = null;
        var service = new SloReportService(fixture.Client, fixture.Specs, _dir, new FixedTimeProvider(At.AddMinutes(3)))
        {
            SummaryPublisher = (text, _) => { published = text; return Task.CompletedTask; },
        };
        var files = await service.GenerateAsync(At, CancellationToken.None);

        Assert.Equal(Path.Combine(Path.GetFullPath(_dir), "slo-report-2025-03-20.md"), files.MarkdownPath);
        Assert.Equal(Path.Combine(Path.GetFullPath(_dir), "slo-report-2025-03-20.html"), files.HtmlPath);
        Assert.Equal(["slo-report-2025-03-20.html", "slo-report-2025-03-20.md"], Directory.GetFiles(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(At.AddMinutes(3), files.Report.GeneratedAt);
        Assert.Equal(files.Summary, published);
        Assert.Contains("test/availability (market=BTC-USD): 99.97 % of 99.9 %, 38.6 min of budget left (86.6 %), 1 incident", published, StringComparison.Ordinal);
        Assert.Contains("test/latency: no data", published, StringComparison.Ordinal);
    }

    [Fact]
    public void Markdown_HasTheSummaryTable_WithHumanNumbers()
    {
        string md = SloReportMarkdown.Render(fixture.Report);
        var lines = md.Split('\n');
        int header = Array.IndexOf(lines, "| SLO | Series | Objective | Achieved | Met | Budget left | Budget burned | Burn rate | Incidents |");
        Assert.True(header > 0, md);
        Assert.Equal("|---|---|---|---|---|---|---|---|---|", lines[header + 1]);
        // Month to date, in spec order, series sorted.
        Assert.Equal("| test / availability | market=BTC-USD | 99.9 % | 99.97 % | yes | 86.6 % (38.6 min) | 6.0 min of 44.6 min | 0.21x | 1 |", lines[header + 2]);
        Assert.Equal("| test / availability | market=ETH-USD | 99.9 % | 100 % | yes | 100.0 % (44.6 min) | 0 s of 44.6 min | 0x | 0 |", lines[header + 3]);
        Assert.Equal("| test / probe | market=BTC-USD | 99 % | 99.57 % | yes | 73.1 % (5.4 h) | 2.0 h of 7.4 h | 0.43x | 0 |", lines[header + 4]);
        Assert.Equal("| test / latency | all | 99.5 % | no data | - | - | - | - | 0 |", lines[header + 6]);
        Assert.Contains("## March 2025 to date", md, StringComparison.Ordinal);
        Assert.Contains("## 30 days to 2025-03-20 12:00 UTC", md, StringComparison.Ordinal);
        // The incident table of BTC-USD in the month.
        Assert.Contains("| 2025-03-10 08:09:00 UTC | 2025-03-10 10:00:00 UTC | 1 h 51 min | page | TestAvailabilityBudgetBurn page-fast, TestAvailabilityBudgetBurn ticket-fast | 4.59 % | 5.1 min (11.4 % of the budget) |", md, StringComparison.Ordinal);
        Assert.Contains("Worst burn rates (1 h windows): 100x to 2025-02-25 11:00 UTC (error ratio 10 %); 100x to 2025-03-10 09:00 UTC (error ratio 10 %).", md, StringComparison.Ordinal);
    }

    [Fact]
    public void Html_IsSelfContained_WithTwoWellFormedSvgChartsPerSloSeriesAndPeriodWithData()
    {
        string html = SloReportHtml.Render(fixture.Report);
        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("src=", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("url(", html, StringComparison.OrdinalIgnoreCase);

        var svgs = SvgRegex().Matches(html).Select(m => XElement.Parse(m.Value)).ToList();
        int withData = fixture.Report.Slos.Sum(e => e.Results.Count(r => r.HasData));
        Assert.Equal(2 * withData, svgs.Count);
        Assert.Equal(2 * 4 * 2, svgs.Count); // availability and probe x 2 markets x 2 periods x 2 charts; latency has none
        foreach (var svg in svgs)
        {
            Assert.Equal(Svg + "svg", svg.Name);
            Assert.NotEmpty(svg.Element(Svg + "title")!.Value);
            Assert.NotEmpty(svg.Descendants(Svg + "polyline"));
            foreach (var poly in svg.Descendants(Svg + "polyline"))
            {
                foreach (var point in poly.Attribute("points")!.Value.Split(' '))
                {
                    var xy = point.Split(',').Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
                    Assert.InRange(xy[0], 0, SvgChart.Width);
                    Assert.InRange(xy[1], 0, SvgChart.Height);
                }
            }
        }
        // The burn-down of BTC-USD availability over 30 days ends at 72.2 % of the budget: its last point sits at that height.
        Assert.Contains(svgs, s => s.Element(Svg + "title")!.Value == "Error budget left (30 days to 2025-03-20 12:00 UTC)");
        Assert.Contains("No data: the SLI", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Cli_WritesTheReport_AndPrintsTheSummary()
    {
        string specs = Path.Combine(_dir, "specs");
        Directory.CreateDirectory(specs);
        File.WriteAllText(Path.Combine(specs, "test.yml"), SpecYaml);
        string output = Path.Combine(_dir, "out");
        var (code, stdout, stderr) = RunExh("slo", "report", "--prometheus", fixture.Prometheus.BaseAddress.ToString(), "--specs", specs,
            "--at", "2025-03-20T12:00:00Z", "--period", "30d", "--out", output);
        Assert.True(code == 0, stderr);
        Assert.Contains("wrote " + Path.Combine(Path.GetFullPath(output), "slo-report-2025-03-20.md"), stdout, StringComparison.Ordinal);
        string md = File.ReadAllText(Path.Combine(output, "slo-report-2025-03-20.md"));
        Assert.DoesNotContain("## March 2025 to date", md, StringComparison.Ordinal); // --period 30d only
        Assert.Contains("## 30 days to 2025-03-20 12:00 UTC", md, StringComparison.Ordinal);
        Assert.Contains("| test / availability | market=BTC-USD | 99.9 % | 99.97 % | yes | 72.2 % (31.2 min) | 12.0 min of 43.2 min | 0.28x | 2 |", md, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(output, "slo-report-2025-03-20.html")));
        Assert.Contains("30 days to 2025-03-20 12:00 UTC:", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cli_SlackChannelWithToken_PostsTheSummary()
    {
        await using var slack = await FakeSlackServer.StartAsync(channels: ["C0123"]);
        string spec = Path.Combine(_dir, "test.yml");
        Directory.CreateDirectory(_dir);
        File.WriteAllText(spec, SpecYaml);
        Environment.SetEnvironmentVariable("SLACK_BOT_TOKEN", slack.Token);
        Environment.SetEnvironmentVariable("SLACK_API_URL", slack.BaseUrl.ToString());
        try
        {
            var (code, stdout, stderr) = RunExh("slo", "report", "--prometheus", fixture.Prometheus.BaseAddress.ToString(), "--specs", spec,
                "--at", "2025-03-20T12:00:00Z", "--out", Path.Combine(_dir, "out"), "--slack-channel", "C0123");
            Assert.True(code == 0, stderr);
            Assert.Contains("posted the summary to Slack channel C0123", stdout, StringComparison.Ordinal);
            var message = Assert.Single(slack.Messages);
            Assert.Equal("C0123", message.Channel);
            Assert.StartsWith("*SLO report, 2025-03-20 12:00 UTC*", message.Text, StringComparison.Ordinal);
            Assert.Contains("test/availability (market=BTC-USD)", message.Text, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("SLACK_BOT_TOKEN", null);
            Environment.SetEnvironmentVariable("SLACK_API_URL", null);
        }
    }

    [Fact]
    public async Task Cli_SlackRefusesThePost_ExitsOneButKeepsTheFiles()
    {
        await using var slack = await FakeSlackServer.StartAsync(channels: ["C0123"]);
        string spec = Path.Combine(_dir, "test.yml");
        Directory.CreateDirectory(_dir);
        File.WriteAllText(spec, SpecYaml);
        string output = Path.Combine(_dir, "out");
        Environment.SetEnvironmentVariable("SLACK_BOT_TOKEN", slack.Token);
        Environment.SetEnvironmentVariable("SLACK_API_URL", slack.BaseUrl.ToString());
        try
        {
            var (code, _, stderr) = RunExh("slo", "report", "--prometheus", fixture.Prometheus.BaseAddress.ToString(), "--specs", spec,
                "--at", "2025-03-20T12:00:00Z", "--out", output, "--slack-channel", "C9999");
            Assert.Equal(1, code);
            Assert.Contains("the Slack post failed", stderr, StringComparison.Ordinal);
            Assert.Contains("channel_not_found", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain(slack.Token, stderr, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(output, "slo-report-2025-03-20.md")));
            Assert.Empty(slack.Messages);
        }
        finally
        {
            Environment.SetEnvironmentVariable("SLACK_BOT_TOKEN", null);
            Environment.SetEnvironmentVariable("SLACK_API_URL", null);
        }
    }

    [Fact]
    public void Cli_SlackChannelWithoutToken_WritesTheReportAndSaysWhyItDidNotPost()
    {
        Environment.SetEnvironmentVariable("SLACK_BOT_TOKEN", null);
        string spec = Path.Combine(_dir, "test.yml");
        Directory.CreateDirectory(_dir);
        File.WriteAllText(spec, SpecYaml);
        var (code, _, stderr) = RunExh("slo", "report", "--prometheus", fixture.Prometheus.BaseAddress.ToString(), "--specs", spec,
            "--at", "2025-03-20T12:00:00Z", "--out", Path.Combine(_dir, "out"), "--slack-channel", "C0123");
        Assert.Equal(0, code);
        Assert.Contains("not posting to Slack channel C0123: SLACK_BOT_TOKEN is not set", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Cli_PrometheusUnreachable_ExitsOneAndWritesNothing()
    {
        string spec = Path.Combine(_dir, "test.yml");
        Directory.CreateDirectory(_dir);
        File.WriteAllText(spec, SpecYaml);
        string output = Path.Combine(_dir, "out");
        var (code, _, stderr) = RunExh("slo", "report", "--prometheus", "http://127.0.0.1:1/", "--specs", spec, "--out", output);
        Assert.Equal(1, code);
        Assert.Contains("Prometheus at http://127.0.0.1:1/ is unreachable", stderr, StringComparison.Ordinal);
        Assert.Contains("no report written", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output));
    }

    [Theory]
    [InlineData("--period", "week", "--period: 'week' is not month, 30d or both")]
    [InlineData("--at", "2025-03-20", "--at: '2025-03-20' is not an RFC3339 time")]
    [InlineData("--at", "2025-03-20T12:00:00", "is not an RFC3339 time")]
    [InlineData("--prometheus", "localhost:9090", "--prometheus: 'localhost:9090' is not an http(s) URL")]
    [InlineData("--specs", "/nonexistent/slos", "/nonexistent/slos: no such spec file or directory")]
    public void Cli_BadArguments_ExitTwoWithTheReason(string option, string value, string message)
    {
        var (code, _, stderr) = RunExh("slo", "report", option, value);
        Assert.Equal(2, code);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Cli_InvalidSpec_NamesFileAndLine()
    {
        Directory.CreateDirectory(_dir);
        string spec = Path.Combine(_dir, "bad.yml");
        File.WriteAllText(spec, SpecYaml.Replace("objective: 99.9\n", "objective: 120\n", StringComparison.Ordinal));
        var (code, _, stderr) = RunExh("slo", "report", "--specs", spec);
        Assert.Equal(2, code);
        Assert.Matches(@"bad\.yml:\d+: .*objective", stderr);
    }

    [Fact]
    public void Cli_Help_TeachesPeriodsFilesAndExitCodes()
    {
        var (code, stdout, _) = RunExh("slo", "report", "--help");
        Assert.Equal(0, code);
        foreach (string expected in new[] { "--period", "month|30d|both", "--slack-channel", "SLACK_BOT_TOKEN", "slo-report-YYYY-MM-DD.md", "no data", "ALERTS", "Exit codes" })
            Assert.Contains(expected, stdout, StringComparison.Ordinal);
    }

    private static (int Code, string Out, string Error) RunExh(params string[] args)
    {
        TextWriter oldOut = Console.Out, oldError = Console.Error;
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try { return (Program.Main(args), stdout.ToString(), stderr.ToString()); }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldError);
        }
    }

    [GeneratedRegex("<svg[ >].*?</svg>", RegexOptions.Singleline)]
    private static partial Regex SvgRegex();
}
