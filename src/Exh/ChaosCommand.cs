using ExchangeHealth.Chaos;
using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using ExchangeHealth.Chaos.Experiments;
using ExchangeHealth.Chaos.Platform;
using ExchangeHealth.Engine;
using Command = System.CommandLine.Command;

namespace ExchangeHealth.Cli;

/// <summary>
/// <c>exh chaos run|validate|list</c>: chaos experiment files (docs/chaos.md) and their runner
/// (<see cref="ExperimentRunner"/>). Exit codes: 0 passed (or valid), 1 failed, aborted or steady
/// state not met (or no platform supervisor), 2 bad file or usage.
/// </summary>
internal static class ChaosCommand
{
    /// <summary>
    /// Starts the platform an experiment asks for: the supervisor behind <c>exh up</c> through
    /// <see cref="ChaosPlatform.StartAsync"/> (free ports, this process's own exh). Null makes
    /// <c>exh chaos run</c> say "platform supervisor not available".
    /// </summary>
    public static Func<PlatformRequest, CancellationToken, Task<IPlatform>>? PlatformFactory { get; set; } =
        (request, ct) => ChaosPlatform.StartAsync(request, exh: null, repositoryRoot: null, Console.Error, ct);

    /// <summary>Action providers known to files and the runner: the built-ins and the fault providers (<see cref="ChaosPlatform.Register"/>).</summary>
    public static ChaosActionRegistry Actions { get; } = ChaosActionRegistry.CreateDefault();

    /// <summary>Invariants known to files and the runner: <c>slack_delivered_once</c> and the loss checks.</summary>
    public static InvariantRegistry Invariants { get; } = InvariantRegistry.CreateDefault();

    static ChaosCommand() => ChaosPlatform.Register(Actions, Invariants);

    private const string RunDescription =
        "Run a chaos experiment: start the Slack stand-in (when the file asks) and the platform, check the steady-state\n" +
        "hypothesis, run the method (abort_when checked every second), observe the expectations from the fault on\n" +
        "(alerts pending/firing, the Slack message, the incident), run the rollbacks (always), wait for recovery, check\n" +
        "the invariants, and write REPORT_DIR/<experiment>-<UTC timestamp>/report.md and report.json.\n" +
        "Ctrl-C stops the method; rollbacks still run and the report says aborted.\n" +
        "\n" +
        "Examples:\n" +
        "  exh chaos run chaos/engine-crash.yml\n" +
        "  exh chaos run chaos/gray-freeze.yml --short --report-dir /tmp/chaos\n" +
        "\n" +
        "Exit codes: 0 passed; 1 failed, aborted or steady state not met; 2 invalid file (file:line) or arguments.";

    public static Command Create()
    {
        var command = new Command("chaos",
            "Chaos experiments (docs/chaos.md): run one, validate files, list them.\n\n" +
            "Examples:\n  exh chaos list                       experiments in chaos/\n" +
            "  exh chaos validate chaos/*.yml       check files without running\n" +
            "  exh chaos run chaos/engine-crash.yml --short");
        command.Subcommands.Add(Run());
        command.Subcommands.Add(Validate());
        command.Subcommands.Add(List());
        return command;
    }

    private static Command Run()
    {
        var file = new Argument<string>("FILE") { Description = "The experiment file (YAML)." };
        var shortRun = new Option<bool>("--short") { Description = "Apply the file's short: overrides (shorter pauses and fault durations, for CI)." };
        var reportDir = new Option<string>("--report-dir") { Description = "Directory of run reports.", DefaultValueFactory = _ => "reports/chaos", HelpName = "DIR" };
        var data = new Option<string?>("--data") { Description = "The platform's data directory (default: RUN_DIR/data).", HelpName = "DIR" };
        var command = new Command("run", RunDescription) { file, shortRun, reportDir, data };
        command.SetAction(async (parse, ct) =>
        {
            // First Ctrl-C (or SIGTERM): stop the method, run the rollbacks, write the report.
            // A second one: the default action (quit at once).
            using var interrupt = CancellationTokenSource.CreateLinkedTokenSource(ct);
            int signals = 0;
            void OnSignal(PosixSignalContext c)
            {
                if (Interlocked.Increment(ref signals) > 1) return;
                c.Cancel = true;
                Console.Error.WriteLine("exh chaos: interrupted; running the rollbacks and writing the report (again to quit at once)");
                interrupt.Cancel();
            }
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
            return await RunAsync(parse.GetValue(file)!, parse.GetValue(shortRun), parse.GetValue(reportDir)!, parse.GetValue(data), Console.Out, interrupt.Token).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>True for <c>exh chaos run</c>, which handles SIGINT/SIGTERM itself (rollbacks outlast System.CommandLine's 2 s termination grace).</summary>
    internal static bool HandlesTermination(ParseResult parse) =>
        parse.CommandResult.Command.Name == "run" && parse.CommandResult.Parent is System.CommandLine.Parsing.CommandResult { Command.Name: "chaos" };

    internal static async Task<int> RunAsync(string path, bool shortRun, string reportDir, string? data, TextWriter output, CancellationToken ct)
    {
        Experiment experiment;
        try { experiment = ExperimentFile.Load(path, Actions, Invariants); }
        catch (ConfigException e) { return Cli.Fail(e.Message); }
        if (PlatformFactory is not { } factory) return Cli.Fail("platform supervisor not available (this build cannot start the platform for 'exh chaos run')", 1);
        var runner = new ExperimentRunner(factory, Actions, Invariants, TimeProvider.System);
        ExperimentReport report;
        try
        {
            report = await runner.RunAsync(experiment, new ExperimentRunOptions
            {
                Short = shortRun,
                ReportDirectory = reportDir,
                DataDirectory = data,
                Log = line => output.WriteLine(line),
            }, ct).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            return Cli.Fail($"cannot write the report: {e.Message}", 1);
        }
        output.WriteLine();
        output.Write(ExperimentReportWriter.Summary(report));
        output.WriteLine($"report: {Path.Combine(report.ReportDirectory, "report.md")}");
        return report.Outcome == ExperimentOutcome.Passed ? 0 : 1;
    }

    private static Command Validate()
    {
        var files = new Argument<string[]>("FILE") { Description = "Experiment files.", Arity = ArgumentArity.OneOrMore };
        var command = new Command("validate", "Check experiment files without running them (unknown keys, durations, providers and their arguments, templates).\nExit codes: 0 all valid; 2 an invalid file (file:line: key: reason).") { files };
        command.SetAction(parse => ValidateFiles(parse.GetValue(files)!, Console.Out));
        return command;
    }

    internal static int ValidateFiles(IEnumerable<string> files, TextWriter output)
    {
        int bad = 0;
        foreach (string f in files)
        {
            try
            {
                var e = ExperimentFile.Load(f, Actions, Invariants);
                output.WriteLine($"{f}: ok ({e.Title})");
            }
            catch (ConfigException e)
            {
                Cli.Fail(e.Message);
                bad++;
            }
        }
        return bad == 0 ? 0 : 2;
    }

    private static Command List()
    {
        var dir = new Argument<string>("DIR") { Description = "Directory of experiment files.", DefaultValueFactory = _ => "chaos", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("list", "List the experiments of a directory (*.yml, *.yaml): title, fault, expectations.\nExit codes: 0 listed; 2 missing directory or an invalid file.") { dir };
        command.SetAction(parse => ListDirectory(parse.GetValue(dir)!, Console.Out));
        return command;
    }

    internal static int ListDirectory(string dir, TextWriter output)
    {
        if (!Directory.Exists(dir)) return Cli.Fail($"{dir}: no such directory");
        var files = Directory.EnumerateFiles(dir, "*.yml").Concat(Directory.EnumerateFiles(dir, "*.yaml")).Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0) { output.WriteLine($"{dir}: no experiment files"); return 0; }
        int bad = 0;
        foreach (string f in files)
        {
            Experiment e;
            try { e = ExperimentFile.Load(f, Actions, Invariants); }
            catch (ConfigException ex) { Cli.Fail(ex.Message); bad++; continue; }
            var fault = e.FaultStep;
            string args = string.Join(", ", fault.Arguments.Select(a => $"{a.Key}={a.Value.Text ?? "..."}"));
            output.WriteLine($"{f}: {e.Title}{(e.Tags.Count > 0 ? " [" + string.Join(", ", e.Tags) + "]" : "")}");
            output.WriteLine($"  fault: {fault.Name} ({fault.Provider}{(args.Length > 0 ? " " + args : "")})");
            var x = e.Expect;
            var parts = new List<string>();
            parts.AddRange(x.Alerts.Select(a => $"{a.AlertName} {a.State} <= {Monitor.Prometheus.PromDuration.Format(a.Within)}"));
            if (x.Incident is { } i) parts.Add($"incident <= {Monitor.Prometheus.PromDuration.Format(i.Within)}");
            parts.AddRange(x.Slack.Select(s => $"Slack {s.AlertName} <= {Monitor.Prometheus.PromDuration.Format(s.Within)}"));
            if (x.RecoveryWithin is { } r) parts.Add($"recovery <= {Monitor.Prometheus.PromDuration.Format(r)}");
            parts.AddRange(x.Invariants.Select(v => v.Name));
            output.WriteLine($"  expect: {(parts.Count == 0 ? "(nothing)" : string.Join("; ", parts))}");
            if (e.AbortWhen.Count > 0)
                output.WriteLine($"  abort when: {string.Join("; ", e.AbortWhen.Select(a => a.Query + (a.Above is { } ab ? " > " + ab.ToString(CultureInfo.InvariantCulture) : "") + (a.Below is { } be ? " < " + be.ToString(CultureInfo.InvariantCulture) : "")))}");
        }
        return bad == 0 ? 0 : 2;
    }
}
