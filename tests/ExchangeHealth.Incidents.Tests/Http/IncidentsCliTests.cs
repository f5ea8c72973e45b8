using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ExchangeHealth.Alerting.Host;
using ExchangeHealth.Incidents.Model;
using ExchangeHealth.TestKit;

namespace ExchangeHealth.Incidents.Tests.Http;

/// <summary>
/// <c>exh incidents …</c> run in-process against a real Kestrel serving the incidents API (found the
/// way the CLI always finds the monitor: DATA/monitor.json and the token file): output, the actor it
/// records, exit codes 0 / 1 / 2.
/// </summary>
[Collection(nameof(ConsoleCaptureCollection))]
public sealed partial class IncidentsCliTests : IAsyncLifetime
{
    private IncidentApiHost _host = null!;

    public async Task InitializeAsync() => _host = await IncidentApiHost.StartAsync(IncidentApiHost.FileReports());

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private Task<(int ExitCode, string Out, string Error)> Exh(params string[] args) => ExhCli.RunAsync(["incidents", .. args, "--data", _host.DataDirectory]);

    private static string Me => "cli:" + Environment.UserName;

    [Fact]
    public async Task Declare_List_Show_Timeline_PrintAlignedTables()
    {
        var declared = await Exh("declare", "--title", "BTC-USD order acks slow", "--severity", "SEV2", "--market", "BTC-USD", "--market", "ETH-USD", "--commander", "alice");
        Assert.True(declared.ExitCode == 0, declared.Error);
        Assert.Equal("incident #1 declared: BTC-USD order acks slow (SEV2, triggered)", declared.Out.Trim());
        _host.Time.Advance(TimeSpan.FromMinutes(12) + TimeSpan.FromSeconds(5));
        Assert.Equal(0, (await Exh("declare", "--title", "second", "--severity", "4")).ExitCode);

        var list = await Exh("list");
        Assert.Equal(0, list.ExitCode);
        var lines = list.Out.TrimEnd().Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.Matches(@"^ID\s+SEV\s+STATUS\s+STARTED \(UTC\)\s+AGE\s+COMMANDER\s+TITLE$", lines[0]);
        Assert.Matches(@"^2\s+SEV4\s+triggered\s+2026-11-21 03:12:05Z\s+0s\s+-\s+second$", lines[1]);
        Assert.Matches(@"^1\s+SEV2\s+triggered\s+2026-11-21 03:00:00Z\s+12m05s\s+alice\s+BTC-USD order acks slow$", lines[2]);
        // Aligned: every column starts at the same offset on every line.
        Assert.Equal(lines[0].IndexOf("TITLE", StringComparison.Ordinal), lines[1].IndexOf("second", StringComparison.Ordinal));
        Assert.Equal(lines[0].IndexOf("AGE", StringComparison.Ordinal), lines[2].IndexOf("12m05s", StringComparison.Ordinal));

        Assert.Equal(0, (await Exh("ack", "1")).ExitCode);
        Assert.Equal(0, (await Exh("note", "1", "failover", "to", "matcher-2", "started")).ExitCode);
        var followUp = await Exh("followup", "1", "alert", "on", "fsync", "latency", "--owner", "bob");
        Assert.Equal(0, followUp.ExitCode);
        Assert.Contains("(follow-up #1)", followUp.Out, StringComparison.Ordinal);

        var show = await Exh("show", "1");
        Assert.Equal(0, show.ExitCode);
        Assert.StartsWith("Incident #1  SEV2  acknowledged", show.Out, StringComparison.Ordinal);
        Assert.Contains("  Title:        BTC-USD order acks slow", show.Out, StringComparison.Ordinal);
        Assert.Contains("  Markets:      BTC-USD, ETH-USD", show.Out, StringComparison.Ordinal);
        Assert.Contains($"  Acknowledged: 2026-11-21 03:12:05Z by {Me}", show.Out, StringComparison.Ordinal);
        Assert.Contains("  Resolved:     -", show.Out, StringComparison.Ordinal);
        Assert.Contains("Alerts (0)", show.Out, StringComparison.Ordinal);
        Assert.Contains("Follow-ups (1)", show.Out, StringComparison.Ordinal);
        Assert.Matches(@"\n  1\s+no\s+bob\s+alert on fsync latency", show.Out);

        var timeline = await Exh("timeline", "1");
        Assert.Equal(0, timeline.ExitCode);
        var rows = timeline.Out.TrimEnd().Split('\n');
        Assert.Matches(@"^TIME \(UTC\)\s+SOURCE\s+ACTOR\s+KIND\s+TEXT$", rows[0]);
        Assert.Equal(5, rows.Length);
        Assert.Matches(@"^2026-11-21 03:00:00\.000Z\s+cli\s+cli:\S+\s+incident\.opened\s+incident #1 declared", rows[1]);
        Assert.Matches(@"^2026-11-21 03:12:05\.000Z\s+cli\s+cli:\S+\s+incident\.acknowledged\s", rows[2]);
        Assert.Matches(@"^2026-11-21 03:12:05\.000Z\s+cli\s+cli:\S+\s+incident\.note\s+failover to matcher-2 started$", rows[3]);
        Assert.Contains("incident.follow_up", rows[4], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Actions_AreRecordedAsCliUser_WithSourceCli_AndByGetsThePrefix()
    {
        await Exh("declare", "--title", "t", "--severity", "SEV3");
        Assert.Equal(0, (await Exh("ack", "1")).ExitCode);
        Assert.Equal(0, (await Exh("commander", "1", "<@U0123>", "--by", "bob")).ExitCode);
        Assert.Equal(0, (await Exh("sev", "1", "SEV1", "--by", "cli:carol")).ExitCode);

        var timeline = (await _host.Service.GetDetailsAsync(1))!.Timeline;
        Assert.Equal(
            [(TimelineKinds.Opened, Me), (TimelineKinds.Acknowledged, Me), (TimelineKinds.CommanderAssigned, "cli:bob"), (TimelineKinds.SeverityChanged, "cli:carol")],
            timeline.Select(e => (e.Kind, e.Actor)));
        Assert.All(timeline, e => Assert.Equal(TimelineSources.Cli, e.Source));
        var incident = (await _host.Service.GetAsync(1))!;
        Assert.Equal(IncidentSeverity.Sev1, incident.Severity);
        Assert.Equal("<@U0123>", incident.Commander);
    }

    [Fact]
    public async Task ExitCodes_Are0Ok_2RefusedOrInvalid_1NotFoundOrUnreachable()
    {
        await Exh("declare", "--title", "t", "--severity", "SEV3");
        Assert.Equal(0, (await Exh("resolve", "1")).ExitCode);

        var refused = await Exh("ack", "1");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("monitor answered 409: incident #1 is resolved; an acknowledgement does not re-open it", refused.Error, StringComparison.Ordinal);
        Assert.Equal("", refused.Out);

        var badSeverity = await Exh("sev", "1", "SEV7");
        Assert.Equal(2, badSeverity.ExitCode);
        Assert.Contains("400", badSeverity.Error, StringComparison.Ordinal);
        Assert.Contains("(severity)", badSeverity.Error, StringComparison.Ordinal);

        var tooLong = await Exh("note", "1", new string('n', IncidentNames.MaxNoteLength + 1));
        Assert.Equal(2, tooLong.ExitCode);
        Assert.Contains("the limit is 4000", tooLong.Error, StringComparison.Ordinal);

        var unknown = await Exh("show", "99");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("404: no incident #99", unknown.Error, StringComparison.Ordinal);

        Assert.Equal(2, (await Exh("ack", "0")).ExitCode);
        Assert.Equal(2, (await Exh("ack", "abc")).ExitCode);
        Assert.Equal(2, (await Exh("declare", "--severity", "SEV1")).ExitCode); // --title is required

        string empty = Path.Combine(_host.Directory, "nothing-here");
        var noMonitor = await ExhCli.RunAsync("incidents", "list", "--data", empty);
        Assert.Equal(1, noMonitor.ExitCode);
        Assert.Contains("is 'exh monitor --data", noMonitor.Error, StringComparison.Ordinal);

        // A monitor that is gone: monitor.json points at a closed port.
        string gone = Path.Combine(_host.Directory, "gone");
        Directory.CreateDirectory(gone);
        new MonitorEndpoints(1, new Uri($"http://127.0.0.1:{LoopbackPort.Free()}/"), Path.Combine(_host.DataDirectory, "monitor-token"), DateTimeOffset.UtcNow).Write(gone);
        var unreachable = await ExhCli.RunAsync("incidents", "list", "--data", gone);
        Assert.Equal(1, unreachable.ExitCode);
        Assert.Contains("cannot reach the monitor", unreachable.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Json_PrintsTheApiAnswerAsIs()
    {
        var declared = await Exh("declare", "--title", "'); DROP TABLE incidents; --", "--severity", "1", "--json");
        Assert.Equal(0, declared.ExitCode);
        var json = JsonNode.Parse(declared.Out)!;
        Assert.Equal("'); DROP TABLE incidents; --", (string?)json["incident"]!["title"]);
        Assert.Equal("SEV1", (string?)json["incident"]!["severity"]);

        var list = JsonNode.Parse((await Exh("list", "--status", "all", "--json")).Out)!;
        Assert.Single(list["incidents"]!.AsArray());
        string direct = await _host.Client.GetStringAsync("api/v1/incidents/1/timeline");
        Assert.Equal(direct.Trim(), (await Exh("timeline", "1", "--json")).Out.Trim());
    }

    [Fact]
    public async Task Report_PrintsBothPaths_AndTheFilesExist()
    {
        await Exh("declare", "--title", "t", "--severity", "SEV3");
        var report = await Exh("report", "1");
        Assert.True(report.ExitCode == 0, report.Error);
        var match = ReportLines().Match(report.Out);
        Assert.True(match.Success, report.Out);
        Assert.True(File.Exists(match.Groups["md"].Value));
        Assert.EndsWith("incident-1.html", match.Groups["html"].Value, StringComparison.Ordinal);
        Assert.True(File.Exists(match.Groups["html"].Value));
        Assert.Equal(1, (await Exh("report", "7")).ExitCode);
    }

    [Fact]
    public async Task MultiLineNotes_AreIndentedUnderTheTextColumn()
    {
        await Exh("declare", "--title", "t", "--severity", "SEV3");
        await _host.Client.PostAsync("api/v1/incidents/1/notes", new StringContent("""{ "text": "first line\nsecond line" }""", System.Text.Encoding.UTF8, "application/json"));
        var rows = (await Exh("timeline", "1")).Out.TrimEnd().Split('\n');
        int textColumn = rows[0].IndexOf("TEXT", StringComparison.Ordinal);
        Assert.Equal(textColumn, rows[2].IndexOf("first line", StringComparison.Ordinal));
        Assert.Equal(new string(' ', textColumn) + "second line", rows[3]);
    }

    [Theory]
    [InlineData("list")]
    [InlineData("show")]
    [InlineData("timeline")]
    [InlineData("declare")]
    [InlineData("ack")]
    [InlineData("mitigate")]
    [InlineData("resolve")]
    [InlineData("close")]
    [InlineData("sev")]
    [InlineData("commander")]
    [InlineData("note")]
    [InlineData("followup")]
    [InlineData("report")]
    public async Task EverySubcommand_HasHelpWithAnExample(string subcommand)
    {
        var help = await ExhCli.RunAsync("incidents", subcommand, "--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains($"exh incidents {subcommand}", help.Out, StringComparison.Ordinal);
        Assert.Contains("Example", help.Out, StringComparison.Ordinal);
        Assert.Contains("--data", help.Out, StringComparison.Ordinal);
        Assert.Contains("--json", help.Out, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^markdown  (?<md>/\S+\.md)\nhtml      (?<html>/\S+\.html)\n$")]
    private static partial Regex ReportLines();
}
