using System.Text.Json;
using ExchangeHealth.Engine.Tests.Replay;

namespace ExchangeHealth.Engine.Tests.Journal;

[Collection(nameof(ConsoleCollection))]
public sealed class JournalCliTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ReplayWithData_ThenJournalVerify_RecoversTheSameStateHash()
    {
        string data = _dir.Combine("data");
        var (code, output, error) = CliHarness.Run("replay", ReplayTestData.LobsterMessages, "--data", data,
            "--snapshot-every", "300", "--commit-every", "128", "--json", "--quiet");
        Assert.True(code == 0, error);
        using var doc = JsonDocument.Parse(output);
        string hash = doc.RootElement.GetProperty("state_hash").GetString()!;
        var journal = doc.RootElement.GetProperty("journal");
        long commands = doc.RootElement.GetProperty("commands").GetInt64();
        Assert.Equal(commands, journal.GetProperty("durable_sequence").GetInt64());
        Assert.Equal(2, journal.GetProperty("snapshots").GetInt32());

        var (vcode, verify, verror) = CliHarness.Run("journal", "verify", "--data", data);
        Assert.True(vcode == 0, verror);
        Assert.Contains("snapshot-00000000000000000768.snap", verify, StringComparison.Ordinal);
        Assert.Contains($"last sequence:   {commands}", verify, StringComparison.Ordinal);
        Assert.Contains($"state hash:      {hash}", verify, StringComparison.Ordinal);

        var (fcode, full, _) = CliHarness.Run("journal", "verify", "--data", data, "--full");
        Assert.Equal(0, fcode);
        Assert.Contains($"replayed:        {commands:N0} commands", full, StringComparison.Ordinal);
        Assert.Contains($"state hash:      {hash}", full, StringComparison.Ordinal);
    }

    [Fact]
    public void ReplayWithData_IntoNonEmptyDirectory_NeedsReset()
    {
        string data = _dir.Combine("data");
        Assert.Equal(0, CliHarness.Run("replay", ReplayTestData.SampleCsv, "--data", data, "--quiet").ExitCode);

        var (code, _, error) = CliHarness.Run("replay", ReplayTestData.SampleCsv, "--data", data, "--quiet");
        Assert.Equal(2, code);
        Assert.Contains("already holds a journal", error, StringComparison.Ordinal);

        Assert.Equal(0, CliHarness.Run("replay", ReplayTestData.SampleCsv, "--data", data, "--quiet", "--reset").ExitCode);
    }

    [Fact]
    public void JournalVerify_TornTail_ReportsWithoutRepairAndRepairsWithFlag()
    {
        string data = _dir.Combine("data");
        Assert.Equal(0, CliHarness.Run("replay", ReplayTestData.SampleCsv, "--data", data, "--quiet").ExitCode);
        string segment = Directory.GetFiles(Path.Combine(data, "journal"))[0];
        long length = new FileInfo(segment).Length;
        using (var f = new FileStream(segment, FileMode.Open)) f.SetLength(length - 10);

        var (code, output, _) = CliHarness.Run("journal", "verify", "--data", data);
        Assert.Equal(0, code);
        Assert.Contains("would truncate 54 byte(s) of torn tail", output, StringComparison.Ordinal);
        Assert.Equal(length - 10, new FileInfo(segment).Length);

        (code, output, _) = CliHarness.Run("journal", "verify", "--data", data, "--repair");
        Assert.Equal(0, code);
        Assert.Contains("truncated 54 byte(s)", output, StringComparison.Ordinal);
        Assert.Equal(length - 64, new FileInfo(segment).Length);
    }

    [Fact]
    public void JournalVerify_CorruptMiddle_ExitsOneAndNamesOffset()
    {
        string data = _dir.Combine("data");
        Assert.Equal(0, CliHarness.Run("replay", ReplayTestData.SampleCsv, "--data", data, "--quiet").ExitCode);
        string segment = Directory.GetFiles(Path.Combine(data, "journal"))[0];
        JournalTests.FlipByte(segment, 16 + 64 * 3 + 40);

        var (code, _, error) = CliHarness.Run("journal", "verify", "--data", data);
        Assert.Equal(1, code);
        Assert.Contains("offset 208", error, StringComparison.Ordinal);
        Assert.Contains("refusing to truncate", error, StringComparison.Ordinal);
    }
}

[Collection(nameof(ConsoleCollection))]
public sealed class ProgramTests
{
    [Theory]
    [InlineData("replay")]
    [InlineData("replay", "x.csv", "--bogus")]
    [InlineData("nosuchcommand")]
    public void BadUsage_ExitsTwoWithMessageAndHelpHint(params string[] args)
    {
        var (code, _, error) = CliHarness.Run(args);
        Assert.Equal(2, code);
        Assert.StartsWith("exh: ", error, StringComparison.Ordinal);
        Assert.Contains("--help' for usage.", error, StringComparison.Ordinal);
    }

    [Fact]
    public void NoArguments_PrintsHelpListingCommands()
    {
        var (code, output, _) = CliHarness.Run();
        Assert.Equal(0, code);
        Assert.Contains("replay", output, StringComparison.Ordinal);
        Assert.Contains("journal", output, StringComparison.Ordinal);
        Assert.Contains("bench", output, StringComparison.Ordinal);
    }
}
