using System.CommandLine;
using System.Globalization;
using ExchangeHealth.Benchmarks;
using Spectre.Console;

namespace ExchangeHealth.Cli;

/// <summary>
/// <c>exh bench</c>: runs <see cref="QuickBench"/> (matcher throughput against a same-run baseline,
/// steady-state allocation, open-loop latency at fixed rates, journal group commit, recovery
/// replay) and prints a table, or with
/// <c>--json</c> one JSON object. Exit codes: 0 passed, 1 an assertion failed (allocation in
/// steady state, or the engine did not reproduce the workload), 2 bad usage.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON object (fields include throughput_cmd_per_s) instead of the table." };
        var quick = new Option<bool>("--quick") { Description = "The short configuration CI can afford (300K commands, 3 runs, 0.25 s per rate, 200K journaled; well under a minute)." };
        var runs = new Option<int?>("--runs") { Description = "Timed throughput runs (median reported). Default 7, or 3 with --quick." };
        var commands = new Option<int?>("--commands") { Description = "Steady-state commands per run (and journaled per journal run). Default 1000000, or 300000 with --quick." };
        var rates = new Option<string?>("--rates") { Description = "Offered rates for the latency runs, commands/s, comma-separated. Default 250000,1000000,2000000." };
        var seconds = new Option<double?>("--latency-seconds") { Description = "Seconds per latency run (capped by --commands). Default 1, or 0.25 with --quick." };
        var warmup = new Option<int?>("--warmup") { Description = "Untimed warm-up runs. Default 2." };
        var seed = new Option<long?>("--seed") { Description = "Workload seed. Default 1." };
        var progress = new Option<bool>("--progress") { Description = "With --json, still print progress lines (to stderr)." };

        var command = new Command("bench",
            "Benchmark the matcher: throughput on one thread (goal 5M commands/s) against a same-run baseline, " +
            "zero allocation per command in steady state (asserted), open-loop latency at fixed offered rates, " +
            "journal throughput with group commit + fsync (goal 1M/s durable) and recovery replay speed (goal 5M/s). Results: bench/RESULTS.md.");
        foreach (Option o in new Option[] { json, quick, runs, commands, rates, seconds, warmup, seed, progress }) command.Options.Add(o);
        command.Subcommands.Add(CreateService());
        command.Subcommands.Add(CreateDetection());
        command.Subcommands.Add(CreateEvaluation());

        command.SetAction(parse =>
        {
            QuickBenchOptions options = parse.GetValue(quick) ? QuickBenchOptions.Quick : new QuickBenchOptions();
            if (parse.GetValue(runs) is int r) options = options with { Runs = r };
            if (parse.GetValue(commands) is int c) options = options with { Commands = c, JournalCommands = c };
            if (parse.GetValue(seconds) is double s) options = options with { LatencySeconds = s };
            if (parse.GetValue(warmup) is int w) options = options with { WarmupRuns = w };
            if (parse.GetValue(seed) is long sd) options = options with { Seed = sd };
            if (parse.GetValue(rates) is string text)
            {
                if (!TryParseRates(text, out var list))
                {
                    Console.Error.WriteLine($"exh bench: --rates: '{text}' is not a comma-separated list of positive integers");
                    return 2;
                }
                options = options with { Rates = list };
            }
            string? problem = options.Validate();
            if (problem is not null)
            {
                Console.Error.WriteLine($"exh bench: {problem}");
                return 2;
            }

            bool asJson = parse.GetValue(json);
            TextWriter? log = !asJson || parse.GetValue(progress) ? Console.Error : null;
            QuickBenchResult result;
            try
            {
                result = new QuickBench(options, log).Run();
            }
            catch (InvalidOperationException e)
            {
                Console.Error.WriteLine($"exh bench: FAILED: {e.Message}");
                return 1;
            }

            if (asJson) Console.Out.WriteLine(result.ToJson());
            else PrintTable(result);
            if (result.Recovery is { StateHashMatches: false })
            {
                Console.Error.WriteLine("exh bench: FAILED: the engine recovered from the journal is not in the generator's state");
                return 1;
            }
            if (!result.Allocation.Passed)
            {
                Console.Error.WriteLine(
                    $"exh bench: FAILED: {result.Allocation.BytesAllocated:N0} bytes allocated in steady state " +
                    $"({result.Allocation.BytesPerCommand:F4} B/command); the matcher must not allocate");
                return 1;
            }
            return 0;
        });
        return command;
    }

    private static Command CreateService()
    {
        var commands = new Option<int>("--commands") { Description = "Commands per run.", DefaultValueFactory = _ => 1_000_000 };
        var rounds = new Option<int>("--rounds") { Description = "Measured rounds (each runs metrics off and on). The median ratio is reported.", DefaultValueFactory = _ => 7 };
        var sample = new Option<int?>("--sample-every") { Description = "Time the matcher for one command in N (default: the engine's default)." };
        var fsync = new Option<bool>("--fsync") { Description = "fsync the journal (default off: measure the CPU path, not the disk)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var command = new Command("service",
            "Benchmark the engine service pipeline in process (ring -> sequencer + journal -> matcher -> receivers) with SLI metrics " +
            "off and on in the same run (the OpenTelemetry SDK listening as in `exh engine`), and report the on/off throughput ratio " +
            "(goal: metrics cost at most 3%, ratio >= 0.97).");
        foreach (Option o in new Option[] { commands, rounds, sample, fsync, json }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var options = new ServiceBenchOptions
            {
                Commands = parse.GetValue(commands),
                Rounds = parse.GetValue(rounds),
                FlushToDisk = parse.GetValue(fsync),
            };
            if (parse.GetValue(sample) is int n) options = options with { MatchLatencySampleEvery = n };
            if (options.Commands < 1000 || options.Rounds < 1 || options.MatchLatencySampleEvery < 1)
            {
                Console.Error.WriteLine("exh bench service: --commands must be at least 1000, --rounds and --sample-every at least 1");
                return 2;
            }
            bool asJson = parse.GetValue(json);
            var stage = new ServiceBenchResult(options,
                new MatcherStageBench(options.Commands, options.Rounds, options.MatchLatencySampleEvery, EngineTelemetry.StartListening, asJson ? null : Console.Error).Run());
            var result = new ServiceBench(options, EngineTelemetry.StartListening, asJson ? null : Console.Error).Run();
            if (asJson)
            {
                Console.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(new
                {
                    commands = options.Commands,
                    rounds = result.Rounds.Count,
                    match_latency_sample_every = options.MatchLatencySampleEvery,
                    fsync = options.FlushToDisk,
                    median_off_cmd_per_s = result.MedianOff,
                    median_on_cmd_per_s = result.MedianOn,
                    median_ratio = result.MedianRatio,
                    ratios = result.Rounds.Select(r => r.Ratio).ToArray(),
                    matcher_stage_median_off_cmd_per_s = stage.MedianOff,
                    matcher_stage_median_on_cmd_per_s = stage.MedianOn,
                    matcher_stage_median_ratio = stage.MedianRatio,
                    matcher_stage_ratios = stage.Rounds.Select(r => r.Ratio).ToArray(),
                }));
            }
            else
            {
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"service pipeline, {options.Commands:N0} commands x {result.Rounds.Count} rounds, match latency timed 1 in {options.MatchLatencySampleEvery}, fsync {(options.FlushToDisk ? "on" : "off")}"));
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"metrics off: {QuickBench.Format(result.MedianOff)} cmd/s, on: {QuickBench.Format(result.MedianOn)} cmd/s (medians); on/off ratio median {result.MedianRatio:F3} " +
                    $"(rounds: {string.Join(" ", result.Rounds.Select(r => r.Ratio.ToString("F3", CultureInfo.InvariantCulture)))}); goal >= 0.970"));
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"matcher thread alone (the service's per-slot code on one thread): off {QuickBench.Format(stage.MedianOff)} cmd/s, " +
                    $"on {QuickBench.Format(stage.MedianOn)} cmd/s; on/off ratio median {stage.MedianRatio:F3} " +
                    $"(rounds: {string.Join(" ", stage.Rounds.Select(r => r.Ratio.ToString("F3", CultureInfo.InvariantCulture)))}); goal >= 0.970"));
            }
            return 0;
        });
        return command;
    }

    internal static bool TryParseRates(string text, out IReadOnlyList<long> rates)
    {
        var list = new List<long>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!long.TryParse(part.Replace("_", "", StringComparison.Ordinal), NumberStyles.None, CultureInfo.InvariantCulture, out long v) || v <= 0)
            {
                rates = [];
                return false;
            }
            list.Add(v);
        }
        rates = list;
        return list.Count > 0;
    }

    private static void PrintTable(QuickBenchResult r)
    {
        // Redirected output (a file, CI log): no colors, and wider than Spectre's 80-column default.
        IAnsiConsole console = Cli.CreateConsole(Console.Out, interactive: !Console.IsOutputRedirected, plainWidth: 160);
        var m = r.Machine;
        console.MarkupLine($"[bold]exh bench[/]{(r.Options.IsQuick ? " (quick)" : "")}: {Markup.Escape(m.CpuModel)}, {m.LogicalCores} cores, " +
            $"{m.MemoryBytes / (1L << 30)} GiB, {Markup.Escape(m.Runtime)}, load {m.LoadAverage1Minute.ToString("F2", CultureInfo.InvariantCulture)} at start");
        var w = r.Workload;
        console.MarkupLine(
            $"workload: {w.Commands:N0} commands after a {w.PreFillCommands:N0}-order pre-fill, {w.Accounts:N0} accounts, " +
            $"resting {w.MinRestingOrders}..{w.MaxRestingOrders} over ~{w.PriceLevels} levels, trades/cmd {w.TradesPerCommand:F3}, " +
            $"rejects {w.RejectShare:P2}; mix {Markup.Escape(string.Join(" ", w.Mix.Where(kv => kv.Value > 0).Select(kv => $"{kv.Key} {kv.Value:P1}")))}");

        var table = new Table().Border(TableBorder.Rounded).Title("[bold]goals vs measured[/]");
        table.AddColumn("measure");
        table.AddColumn(new TableColumn("goal").RightAligned());
        table.AddColumn(new TableColumn("measured").RightAligned());
        table.AddColumn("");
        var t = r.Throughput;
        table.AddRow("matcher throughput, 1 thread, no journal (median)", "≥ 5M cmd/s",
            $"{QuickBench.Format(t.Median)} cmd/s (min {QuickBench.Format(t.Min)}, max {QuickBench.Format(t.Max)}, spread {t.SpreadPercent:F0}%)",
            Mark(t.Median >= QuickBenchResult.ThroughputGoal));
        table.AddRow("allocation per command, steady state", "0 B",
            $"{r.Allocation.BytesPerCommand:0.####} B ({r.Allocation.BytesAllocated:N0} B over {r.Allocation.CommandsMeasured:N0} cmds)",
            Mark(r.Allocation.Passed));
        foreach (var b in r.Baselines)
        {
            table.AddRow(Markup.Escape($"same-run baseline: {b.Name}"), "-",
                $"{QuickBench.Format(b.Throughput.Median)} cmd/s; matcher = {b.Ratio:F2}x (per-round median {b.MedianOfRoundRatios:F2}x)", "");
        }
        var at1M = r.Latency.FirstOrDefault(l => l.OfferedRate == 1_000_000);
        var ec = QuickBenchResult.ExchangeCoreLatencyAt1M;
        table.AddRow("latency @ 1M cmd/s: p50 / p99 / p99.99 / max", $"exchange-core {ec[0]} / {ec[1]} / {ec[2]} / {ec[3]} µs",
            at1M is null ? "not run" : $"{at1M.P50:F2} / {at1M.P99:F2} / {at1M.P9999:F1} / {at1M.Max:F0} µs", "");
        if (r.Journal is null)
        {
            table.AddRow("journal, group commit + fsync", "≥ 1M cmd/s durable", "not measured", "");
        }
        else
        {
            foreach (var j in r.Journal)
            {
                table.AddRow(Markup.Escape($"journal, {j.BatchSize} cmds per fsync ({r.JournalFileSystem ?? "?"})"), "≥ 1M cmd/s durable",
                    $"{QuickBench.Format(j.CommandsPerSecond)} cmd/s, {j.FsyncsPerSecond:F0} fsync/s", Mark(j.CommandsPerSecond >= QuickBenchResult.JournalGoal));
            }
        }
        table.AddRow("recovery replay (read + CRC + match)", "≥ 5M cmd/s",
            r.Recovery is null ? "not measured" : $"{QuickBench.Format(r.Recovery.CommandsPerSecond)} cmd/s ({r.Recovery.Commands:N0} cmds, state hash {(r.Recovery.StateHashMatches ? "matches" : "DIFFERS")})",
            r.Recovery is null ? "" : Mark(r.Recovery.CommandsPerSecond >= QuickBenchResult.RecoveryGoal));
        console.Write(table);

        var lat = new Table().Border(TableBorder.Rounded).Title("[bold]open-loop latency (µs, completion − intended start)[/]");
        foreach (string h in new[] { "offered", "achieved", "p50", "p90", "p99", "p99.9", "p99.99", "max", "late > " + r.Options.LateThresholdNanoseconds / 1000.0 + " µs", "service p50 / p99.99" })
            lat.AddColumn(new TableColumn(Markup.Escape(h)).RightAligned());
        foreach (var l in r.Latency)
        {
            lat.AddRow($"{QuickBench.Format(l.OfferedRate)}/s", $"{QuickBench.Format(l.AchievedRate)}/s", F(l.P50), F(l.P90), F(l.P99), F(l.P999),
                F(l.P9999), F(l.Max), $"{l.LateShare:P2}", $"{F(l.ServiceP50)} / {F(l.ServiceP9999)}");
        }
        console.Write(lat);
        foreach (string note in r.Notes) console.MarkupLine($"[grey]note: {Markup.Escape(note)}[/]");
        console.MarkupLine($"[grey]{r.ElapsedSeconds:F1} s; the machine is shared: compare ratios, not absolute figures, across runs[/]");
    }

    private static string Mark(bool ok) => ok ? "[green]met[/]" : "[yellow]not met[/]";

    private static string F(double micros) => micros >= 100
        ? micros.ToString("F0", CultureInfo.InvariantCulture)
        : micros.ToString("F2", CultureInfo.InvariantCulture);

    private static Command CreateDetection()
    {
        var runs = new Option<int>("--runs") { Description = "Independent runs (every component started afresh); medians are reported.", DefaultValueFactory = _ => 3 };
        var skipDefault = new Option<bool>("--skip-default") { Description = "Leave out the default-interval stack (15 s scrape and evaluation, 30 s group_wait: about a minute per run)." };
        var command = new Command("detection",
            "Detection latency of a hard-down engine (SIGKILL) to the first Slack request, three stacks on the same fault in the same run: " +
            "ours (Prometheus 1 s scrape + exh monitor 1 s evaluation, group_wait 0), Prometheus + Alertmanager tuned the same way " +
            "(1 s / 1 s / group_wait 0), and Prometheus + Alertmanager with Debian's defaults (15 s / 15 s / group_wait 30 s). " +
            "Needs the Debian packages prometheus and prometheus-alertmanager. Goal: ours / tuned <= 1.0.");
        command.Options.Add(runs);
        command.Options.Add(skipDefault);
        command.SetAction(async (parse, ct) =>
        {
            int n = parse.GetValue(runs);
            if (n < 1) { Console.Error.WriteLine("exh bench detection: --runs must be at least 1"); return 2; }
            var results = await new DetectionBench(n, !parse.GetValue(skipDefault), Console.Error).RunAsync(ct).ConfigureAwait(false);
            double ours = Stats.Median([.. results.Select(r => r.Ours)]);
            double tuned = Stats.Median([.. results.Select(r => r.Tuned)]);
            double ratio = Stats.Median([.. results.Select(r => r.Ratio)]);
            var defaults = results.Where(r => r.Default is not null).Select(r => r.Default!.Value).ToList();
            string line = string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"detection (median of {n}): ours {ours:F2} s, tuned Prometheus+Alertmanager {tuned:F2} s, ratio {ratio:F2} (goal <= 1.0)");
            if (defaults.Count > 0) line += string.Create(System.Globalization.CultureInfo.InvariantCulture, $", default Prometheus+Alertmanager {Stats.Median(defaults):F1} s");
            Console.Out.WriteLine(line);
            return 0;
        });
        return command;
    }

    private static Command CreateEvaluation()
    {
        var rules = new Option<int>("--rules") { Description = "Alerting rules (groups of 10).", DefaultValueFactory = _ => 100 };
        var series = new Option<int>("--series") { Description = "Series each rule selects.", DefaultValueFactory = _ => 100 };
        var seconds = new Option<int>("--seconds") { Description = "Measured seconds (after 3 s of warm-up).", DefaultValueFactory = _ => 20 };
        var runs = new Option<int>("--runs") { Description = "Runs; medians are reported.", DefaultValueFactory = _ => 3 };
        var command = new Command("evaluation",
            "Evaluation cost of the monitor: N alerting rules each selecting S series of a synthetic gauge, evaluated every second " +
            "against a real Prometheus scraping every second. Reports rule x series evaluated per second and the CPU of the monitor " +
            "and of Prometheus (which runs the queries). Needs the Debian package prometheus.");
        foreach (Option o in new Option[] { rules, series, seconds, runs }) command.Options.Add(o);
        command.SetAction(async (parse, ct) =>
        {
            int r = parse.GetValue(rules), s = parse.GetValue(series), d = parse.GetValue(seconds), n = parse.GetValue(runs);
            if (r < 1 || s < 1 || d < 1 || n < 1) { Console.Error.WriteLine("exh bench evaluation: --rules, --series, --seconds and --runs must be at least 1"); return 2; }
            var results = new List<EvaluationBenchResult>();
            for (int i = 0; i < n; i++) results.Add(await new EvaluationBench(r, s, TimeSpan.FromSeconds(d), Console.Error).RunAsync(ct).ConfigureAwait(false));
            Console.Out.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"evaluation (median of {n}): {r} rules x {s} series: {Stats.Median([.. results.Select(x => x.RuleSeriesPerSecond)]):N0} rule x series/s, " +
                $"monitor CPU {Stats.Median([.. results.Select(x => x.MonitorCores)]):P1} of a core, Prometheus CPU {Stats.Median([.. results.Select(x => x.PrometheusCores)]):P1}"));
            return 0;
        });
        return command;
    }
}
