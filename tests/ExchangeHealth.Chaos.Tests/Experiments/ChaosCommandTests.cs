using ExchangeHealth.Cli;

namespace ExchangeHealth.Chaos.Tests.Experiments;

public sealed class ChaosCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "exh-chaos-cli-" + Guid.NewGuid().ToString("N")[..8]);

    public ChaosCommandTests()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "freeze.yml"), ExperimentFileTests.DocsExample());
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Validate_GoodAndBadFile_Exit2AndOkForTheGoodOne()
    {
        string bad = Path.Combine(_dir, "bad.yml");
        File.WriteAllText(bad, "title: t\nmethod:\n  - pause: soon\n");
        var output = new StringWriter();

        Assert.Equal(0, ChaosCommand.ValidateFiles([Path.Combine(_dir, "freeze.yml")], output));
        Assert.Equal(2, ChaosCommand.ValidateFiles([Path.Combine(_dir, "freeze.yml"), bad], output));
        Assert.Contains("freeze.yml: ok (Gray freeze of the engine is detected and paged)", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void List_ShowsTitleFaultAndExpectations()
    {
        var output = new StringWriter();

        Assert.Equal(0, ChaosCommand.ListDirectory(_dir, output));
        string text = output.ToString();
        Assert.Contains("Gray freeze of the engine is detected and paged [engine, gray-failure, ci]", text, StringComparison.Ordinal);
        Assert.Contains("fault: freeze the engine (process.signal component=engine, signal=stop)", text, StringComparison.Ordinal);
        Assert.Contains("expect: EngineDown pending <= 5s; EngineDown firing <= 20s; incident <= 30s; Slack EngineDown <= 30s; recovery <= 1m; slack_delivered_once", text, StringComparison.Ordinal);
        Assert.Equal(2, ChaosCommand.ListDirectory(Path.Combine(_dir, "missing"), output));
    }

    [Fact]
    public async Task Run_WithoutPlatformSupervisor_Exit1AfterValidatingTheFile()
    {
        Assert.NotNull(ChaosCommand.PlatformFactory); // wired to the real supervisor
        var saved = ChaosCommand.PlatformFactory;
        ChaosCommand.PlatformFactory = null;
        try
        {
            var output = new StringWriter();
            Assert.Equal(1, await ChaosCommand.RunAsync(Path.Combine(_dir, "freeze.yml"), false, _dir, null, output, CancellationToken.None));
            Assert.Equal(2, await ChaosCommand.RunAsync(Path.Combine(_dir, "nope.yml"), false, _dir, null, output, CancellationToken.None));
        }
        finally
        {
            ChaosCommand.PlatformFactory = saved;
        }
    }

    [Fact]
    public void Root_HasChaosSubcommands()
    {
        var chaos = Program.BuildRoot().Subcommands.Single(c => c.Name == "chaos");
        Assert.Equal(["run", "validate", "list"], chaos.Subcommands.Select(c => c.Name));
    }

    [Fact]
    public void HandlesTermination_OnlyForChaosRun()
    {
        var root = Program.BuildRoot();
        Assert.True(ChaosCommand.HandlesTermination(root.Parse(["chaos", "run", "x.yml", "--short"])));
        Assert.False(ChaosCommand.HandlesTermination(root.Parse(["chaos", "list"])));
        Assert.False(ChaosCommand.HandlesTermination(root.Parse(["slo", "generate"])));
    }

    [Fact]
    public void ShippedExperiments_AllValidAndListed()
    {
        string dir = Path.Combine(ExperimentFileTests.RepositoryRoot(), "chaos");
        var files = Directory.GetFiles(dir, "*.yml");
        Assert.True(files.Length >= 7, string.Join(", ", files));
        var output = new StringWriter();

        Assert.Equal(0, ChaosCommand.ValidateFiles(files, output));
        Assert.Equal(0, ChaosCommand.ListDirectory(dir, output));
        foreach (string f in files)
        {
            var e = ExchangeHealth.Chaos.Experiments.ExperimentFile.Load(f, ChaosCommand.Actions, ChaosCommand.Invariants);
            Assert.NotNull(e.Short);                                                   // every shipped experiment has a CI variant
            // Each expects a page, or (network faults the engine's SLIs cannot see) that nothing acknowledged is lost.
            Assert.True(e.Expect.Alerts.Count > 0 || e.Expect.Invariants.Any(i => i.Name == "acknowledged_orders_durable"), f);
            Assert.Contains(e.Expect.Invariants, i => i.Name == "slack_delivered_once");
        }
    }
}
