using System.Text.Json;
using ExchangeHealth.Cli;
using ExchangeHealth.Engine.Replay;

namespace ExchangeHealth.Engine.Tests.Replay;

[Collection(nameof(ConsoleCollection))]
public sealed class ReplayCliTests
{
    private static (int ExitCode, string Out, string Error) Exh(params string[] args) => CliHarness.Run(args);

    private static string ExpectedHash(string path)
    {
        using var source = OrderFlowSources.Open(path);
        return new ReplayRunner(source).Run().StateHash;
    }

    [Fact]
    public void Replay_ExampleCsv_ExitsZeroAndPrintsStateHash()
    {
        var (code, output, error) = Exh("replay", ReplayTestData.SampleCsv);

        Assert.Equal(0, code);
        Assert.Contains(ExpectedHash(ReplayTestData.SampleCsv), output, StringComparison.Ordinal);
        Assert.Contains("trades", output, StringComparison.Ordinal);
        Assert.Contains("BTC/USD", output, StringComparison.Ordinal);
        Assert.EndsWith("state hash " + ExpectedHash(ReplayTestData.SampleCsv), output.TrimEnd(), StringComparison.Ordinal);
        // Plain progress lines go to stderr when stdout is not a terminal (the test host redirects it).
        if (Console.IsOutputRedirected) Assert.Contains("100.0%", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Replay_Json_PrintsOneObject()
    {
        var (code, output, _) = Exh("replay", ReplayTestData.SampleCsv, "--json", "--quiet", "--format", "csv");

        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal(ExpectedHash(ReplayTestData.SampleCsv), root.GetProperty("state_hash").GetString());
        Assert.Equal("csv", root.GetProperty("format").GetString());
        Assert.Equal(23, root.GetProperty("commands").GetInt64());
        Assert.Equal(6, root.GetProperty("trades").GetInt64());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("error").ValueKind);
        Assert.Equal("60020", root.GetProperty("top_of_book")[0].GetProperty("ask").GetString());
    }

    [Fact]
    public void Replay_MissingFile_ExitsTwo()
    {
        var (code, _, error) = Exh("replay", "/nonexistent/flow.csv", "--quiet");
        Assert.Equal(2, code);
        Assert.Contains("/nonexistent/flow.csv: no such file", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Replay_MalformedLine_ExitsTwoNamingFileAndLineAfterSummary()
    {
        using var dir = new TempDirectory();
        string path = dir.Write("flow.csv",
            "command,market,account,order_id,side,price,quantity\n" +
            "new,BTC/USD,1,1,buy,59990,0.5\n" +
            "new,BTC/USD,1,2,buy,59990,zero\n");

        var (code, output, error) = Exh("replay", path, "--quiet");

        Assert.Equal(2, code);
        Assert.Contains($"{path}:3:7: quantity: 'zero' is not a decimal number", error, StringComparison.Ordinal);
        Assert.Contains("stopped at a malformed line", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Replay_Help_TeachesWithExamples()
    {
        var (code, output, _) = Exh("replay", "--help");
        Assert.Equal(0, code);
        Assert.Contains("Examples:", output, StringComparison.Ordinal);
        Assert.Contains("--format", output, StringComparison.Ordinal);
        Assert.Contains("docs/order-flow-csv.md", output, StringComparison.Ordinal);
    }
}
