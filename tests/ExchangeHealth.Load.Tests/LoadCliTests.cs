using System.Text.Json;
using ExchangeHealth.Load.Tests.Support;
using ExchangeHealth.TestKit;
using Xunit.Abstractions;

namespace ExchangeHealth.Load.Tests;

[Collection(nameof(ConsoleCollection))]
public sealed class LoadCliTests(ITestOutputHelper output) : IDisposable
{
    private const string Key = "0123456789abcdef0123";
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("p99<1xs", "threshold 'p99<1xs': unknown unit 'xs'")]
    [InlineData("errors=1%", "threshold 'errors=1%': '=' is not a comparison")]
    public void Load_BadThreshold_Exit2NamingIt(string threshold, string expected)
    {
        var (code, _, error) = CliHarness.Run("load", "--api-key", Key, "--threshold", "p99<1ms", "--threshold", threshold);
        Assert.Equal(2, code);
        Assert.Contains("exh load: " + expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_EngineDataWithoutEngineJson_Exit2NamingTheFile()
    {
        var (code, _, error) = CliHarness.Run("load", "--engine-data", _dir.Path, "--duration", "1s");
        Assert.Equal(2, code);
        Assert.Contains($"--engine-data: cannot read {Path.Combine(_dir.Path, "engine.json")}", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_EngineDataWithMalformedEngineJson_Exit2()
    {
        File.WriteAllText(Path.Combine(_dir.Path, "engine.json"), "{\"pid\": 1}");
        var (code, _, error) = CliHarness.Run("load", "--engine-data", _dir.Path, "--duration", "1s");
        Assert.Equal(2, code);
        Assert.Contains("is not an engine endpoints file", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "--target", "10.0.0.5:7001" }, "is not a loopback address")]
    [InlineData(new[] { "--target", "127.0.0.1:0" }, "is not a port")]
    [InlineData(new[] { "--rate", "1000", "--concurrency", "4" }, "cannot be combined")]
    [InlineData(new[] { "--rate", "1000", "--ramp", "1:2:3s" }, "only one of --rate, --ramp and --stages")]
    [InlineData(new[] { "--rate", "fast" }, "--rate 'fast' is not a positive number")]
    [InlineData(new[] { "--ramp", "1000:2000" }, "expected FROM:TO:DURATION")]
    [InlineData(new[] { "--stages", "10s" }, "is not DURATION:RATE")]
    [InlineData(new[] { "--duration", "forever" }, "--duration 'forever'")]
    [InlineData(new[] { "--workload", "magic" }, "--workload 'magic'")]
    [InlineData(new[] { "--workload", "replay" }, "needs --file")]
    [InlineData(new[] { "--format", "xml", "--workload", "replay", "--file", "x.csv" }, "--format 'xml'")]
    [InlineData(new[] { "--market-ids", "1,x" }, "--market-ids: 'x'")]
    [InlineData(new[] { "--connections", "0" }, "--connections must be in")]
    [InlineData(new[] { "--late-threshold", "soon" }, "--late-threshold 'soon'")]
    [InlineData(new[] { "--workload", "replay", "--file", "/nonexistent/flow.csv" }, "no such file")]
    public void Load_BadArguments_Exit2(string[] args, string expected)
    {
        var (code, _, error) = CliHarness.Run(["load", "--api-key", Key, .. args]);
        Assert.Equal(2, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.StartsWith("exh", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingCredentialsFile_Exit2WithHint()
    {
        var (code, _, error) = CliHarness.Run("load", "--credentials", _dir.Combine("none.yaml"));
        Assert.Equal(2, code);
        Assert.Contains("none.yaml", error, StringComparison.Ordinal);
        Assert.Contains("--api-key", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnknownOption_Exit2()
    {
        var (code, _, error) = CliHarness.Run("load", "--rattle", "5");
        Assert.Equal(2, code);
        Assert.Contains("exh load --help", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_Help_DocumentsDefinitionsAndExitCodes()
    {
        var (code, help, _) = CliHarness.Run("load", "--help");
        Assert.Equal(0, code);
        foreach (string s in new[] { "INTENDED send time", "late send", "dropped send", "unacknowledged", "+-0.4%", "--threshold", "--allow-remote", "load-report.csv", "Exit codes" })
            Assert.Contains(s, help, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_NothingListening_Exit1()
    {
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }
        var (code, _, error) = CliHarness.Run("load", "--api-key", Key, "--target", $"127.0.0.1:{port}", "--duration", "1s", "--quiet");
        Assert.Equal(1, code);
        Assert.Contains("could not open every connection", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_AgainstEngine_WritesReportsAndPassesThresholds()
    {
        await using var engine = await TestEngine.StartAsync();
        string dir = _dir.Combine("reports");
        var (code, stdout, error) = CliHarness.Run("load", "--credentials", engine.CredentialsFile, "--target", $"127.0.0.1:{engine.Port}",
            "--connections", "2", "--rate", "500", "--duration", "1.5s", "--resting-orders", "100",
            "--threshold", "errors<=0", "--threshold", "p99<2s", "--report-dir", dir);
        output.WriteLine(error);
        output.WriteLine(stdout);
        Assert.True(code == 0, error + stdout);
        Assert.Contains("s] offered 500/s", error, StringComparison.Ordinal);        // a progress line
        Assert.Contains("achieved rate", stdout, StringComparison.Ordinal);
        Assert.Contains("all 2 thresholds passed", stdout, StringComparison.Ordinal);
        foreach (string f in new[] { "load-report.md", "load-report.csv", "load-report.json" })
            Assert.True(File.Exists(Path.Combine(dir, f)), f);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "load-report.json")));
        Assert.Equal(750, json.RootElement.GetProperty("counts").GetProperty("sent").GetInt64());
        Assert.Equal(750, json.RootElement.GetProperty("counts").GetProperty("acknowledged").GetInt64());
    }

    [Fact]
    public async Task Load_AgainstAnExhEngineProcess_EveryCommandAcknowledgedAfterFsync()
    {
        await using var engine = await EngineProcess.StartAsync(_dir.Combine("engine"));
        var (code, stdout, error) = CliHarness.Run("load", "--credentials", Path.Combine(engine.DataDirectory, "credentials.yaml"),
            "--target", $"127.0.0.1:{engine.TcpEndPoint.Port}", "--connections", "2", "--rate", "1000", "--duration", "1s",
            "--threshold", "errors<=0", "--json", "--quiet");
        Assert.True(code == 0, error + engine.Log);
        using var json = JsonDocument.Parse(stdout);
        var counts = json.RootElement.GetProperty("counts");
        Assert.Equal(1000, counts.GetProperty("sent").GetInt64());
        Assert.Equal(1000, counts.GetProperty("acknowledged").GetInt64());
        Assert.Equal(0, counts.GetProperty("errors").GetInt64());
        Assert.Equal(0, await engine.TerminateAsync());
    }

    [Fact]
    public async Task Load_FailedThresholdWithJson_Exit1AndSaysWhich()
    {
        await using var engine = await TestEngine.StartAsync();
        var (code, stdout, error) = CliHarness.Run("load", "--api-key", engine.ApiKeys[0], "--target", $"localhost:{engine.Port}",
            "--concurrency", "2", "--count", "200", "--no-prefill", "--json", "--quiet", "--threshold", "p50<1ns");
        Assert.Equal(1, code);
        Assert.Contains("exh load: threshold failed: p50<1ns (actual ", error, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal("closed", json.RootElement.GetProperty("model").GetString());
        Assert.Equal(200, json.RootElement.GetProperty("counts").GetProperty("acknowledged").GetInt64());
        Assert.False(json.RootElement.GetProperty("thresholds")[0].GetProperty("passed").GetBoolean());
    }
}
