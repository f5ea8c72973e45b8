using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Gateway;
using ExchangeHealth.Engine.Replay;
using ExchangeHealth.Load;
using Spectre.Console;
using Command = System.CommandLine.Command;

namespace ExchangeHealth.Cli;

/// <summary>
/// <c>exh load</c>: drives the engine's order-entry TCP server with many connections in the open
/// (arrival rate) or closed (concurrency) model and reports latency without coordinated omission,
/// rates, rejects and errors; thresholds make it a pass/fail check. The work is
/// <see cref="LoadRunner"/>; this is the command-line shell.
/// </summary>
internal static class LoadCommand
{
    private const string Description =
        "Load the engine's order-entry server (binary TCP) and report latency, rates, rejects and errors.\n" +
        "\n" +
        "Models:\n" +
        "  open    (default) commands arrive on a schedule whatever the engine does: --rate N (commands/s over all\n" +
        "          connections), --ramp FROM:TO:DURATION, or --stages DUR:RATE|DUR:FROM-TO,... Latency is measured from\n" +
        "          each command's INTENDED send time, so a driver or engine that falls behind shows up in the latency\n" +
        "          (no coordinated omission).\n" +
        "  closed  --concurrency N: each connection keeps N requests in flight and sends the next on an\n" +
        "          acknowledgement; latency is measured from the send.\n" +
        "\n" +
        "Definitions (also in every report):\n" +
        "  response time   intended send time (closed: send time) -> acknowledgement arrives\n" +
        "  service time    actual send -> acknowledgement\n" +
        "  acknowledgement the first report answering a request: accepted, rejected, amended, cancelled, cancel-all done\n" +
        "  late send       sent more than --late-threshold (default 1ms) after its intended time; still sent and measured\n" +
        "  dropped send    not sent because its connection already had --max-in-flight requests outstanding\n" +
        "  unacknowledged  sent, but no acknowledgement within --drain-timeout after the run or before the connection was lost\n" +
        "  errors          unacknowledged + not sent (connection down) + session errors + connection errors\n" +
        "  percentiles     log-linear histograms, buckets 1/128 (0.78%) of the value wide: each percentile is within\n" +
        "                  +-0.4% of the exact value; min, mean and max are exact\n" +
        "\n" +
        "Workloads: 'generator' (exchange-core style: a pre-fill of resting orders, then ~80% moves, GTC/IOC/FOK orders,\n" +
        "cancels; one generator account per connection) or 'replay' (an order-flow file: bitfinex, lobster or our CSV;\n" +
        "sent at the load's rate, not the file's timestamps; set_state lines are skipped). Each connection logs on with\n" +
        "the next API key of the credentials file (cycling; the 'canary' key is left out) and uses fresh client order ids of its account.\n" +
        "\n" +
        "Reports: a summary on stdout (--json: the JSON report instead); with --report-dir DIR also load-report.md\n" +
        "(everything, with definitions), load-report.csv (one row per second: offered, sent, acknowledged, rejected,\n" +
        "errors, late, dropped, in flight, p50/p90/p99/max in microseconds) and load-report.json. Progress once per\n" +
        "second on stderr (--quiet: none). Ctrl+C (SIGINT) or SIGTERM stops early and still reports.\n" +
        "\n" +
        "Thresholds (repeatable): p50|p99|p99.9|...|max|mean < 1ms (units ns, us, µs, ms, s); errors|rejects|dropped|late\n" +
        "< 0.1% (share) or < 10 (count); rate >= 5000 (acknowledgements/s). Operators <, <=, >, >=.\n" +
        "\n" +
        "Safety: only loopback targets (127.0.0.1, ::1, localhost) unless --allow-remote.\n" +
        "\n" +
        "Examples:\n" +
        "  exh load --rate 5000 --duration 30s --connections 4\n" +
        "  exh load --ramp 1000:20000:30s --connections 8 --threshold 'p99<1ms' --threshold 'errors<0.1%'\n" +
        "  exh load --stages 10s:1000,30s:1000-20000,20s:20000 --report-dir reports/load\n" +
        "  exh load --concurrency 16 --connections 2 --count 100000 --json > load.json\n" +
        "  exh load --workload replay --file examples/orderflow-sample.csv --rate 100\n" +
        "\n" +
        "Exit codes: 0 done and every threshold passed; 1 a threshold failed, or connections failed; 2 bad arguments or input.";

    public static Command Create()
    {
        var target = new Option<string>("--target") { Description = "The engine's order-entry server, HOST:PORT.", DefaultValueFactory = _ => "127.0.0.1:7001", HelpName = "HOST:PORT" };
        var allowRemote = new Option<bool>("--allow-remote") { Description = "Allow a target that is not a loopback address (load tests target 127.0.0.1 only)." };
        var credentials = new Option<string>("--credentials") { Description = "The engine's credentials.yaml (its api_keys are cycled over the connections).", DefaultValueFactory = _ => "data/engine/credentials.yaml", HelpName = "FILE" };
        var engineData = new Option<string?>("--engine-data") { Description = "An engine's data directory: take the target from its engine.json (written by a running 'exh engine', also with port 0) and the credentials from its credentials.yaml, instead of --target and --credentials.", HelpName = "DIR" };
        var apiKeys = new Option<string[]>("--api-key") { Description = "An API key to log on with (repeatable; replaces --credentials).", HelpName = "KEY", AllowMultipleArgumentsPerToken = false };
        var connections = new Option<int>("--connections", "-c") { Description = "TCP sessions, each with its own API key/account (cycling over the keys).", DefaultValueFactory = _ => 1, HelpName = "N" };
        var rate = new Option<string?>("--rate", "-r") { Description = "Open model: constant arrival rate, commands/s over all connections (default 1000).", HelpName = "N" };
        var ramp = new Option<string?>("--ramp") { Description = "Open model: linear ramp FROM:TO:DURATION (e.g. 1000:20000:30s), then TO holds.", HelpName = "FROM:TO:DUR" };
        var stages = new Option<string?>("--stages") { Description = "Open model: stages DUR:RATE or DUR:FROM-TO, comma-separated (e.g. 10s:1000,30s:1000-20000); the last rate holds.", HelpName = "LIST" };
        var concurrency = new Option<int?>("--concurrency") { Description = "Closed model: requests in flight per connection; the next is sent on an acknowledgement.", HelpName = "N" };
        var duration = new Option<string?>("--duration", "-d") { Description = "Length of the measured run (default 10s, or the length of --ramp/--stages; none with only --count).", HelpName = "DUR" };
        var count = new Option<long?>("--count", "-n") { Description = "Stop after N commands (the pre-fill not counted).", HelpName = "N" };
        var workload = new Option<string>("--workload", "-w") { Description = "Where commands come from.", DefaultValueFactory = _ => "generator", HelpName = "generator|replay" };
        var file = new Option<string?>("--file", "-f") { Description = "Replay: the order-flow file.", HelpName = "PATH" };
        var format = new Option<string>("--format") { Description = "Replay: the file's format.", DefaultValueFactory = _ => "auto", HelpName = "auto|bitfinex|lobster|csv" };
        var markets = new Option<FileInfo?>("--markets", "-m") { Description = "The engine's markets file (default: the embedded config/markets.yaml).", HelpName = "FILE" };
        var marketIds = new Option<string>("--market-ids") { Description = "Generator: market ids that receive orders, comma-separated.", DefaultValueFactory = _ => "1", HelpName = "IDS" };
        var seed = new Option<long>("--seed") { Description = "Generator: seed of the command stream.", DefaultValueFactory = _ => 1 };
        var resting = new Option<int>("--resting-orders") { Description = "Generator: resting orders to pre-fill and keep.", DefaultValueFactory = _ => 1000, HelpName = "N" };
        var noPreFill = new Option<bool>("--no-prefill") { Description = "Generator: skip the pre-fill (not measured) before the run." };
        var late = new Option<string>("--late-threshold") { Description = "A send more than this behind its intended time counts as late.", DefaultValueFactory = _ => "1ms", HelpName = "DUR" };
        var maxInFlight = new Option<int>("--max-in-flight") { Description = "Open model: in-flight bound per connection; a command due at the bound is dropped (counted).", DefaultValueFactory = _ => 10_000, HelpName = "N" };
        var drain = new Option<string>("--drain-timeout") { Description = "After the last send, wait this long for outstanding acknowledgements.", DefaultValueFactory = _ => "5s", HelpName = "DUR" };
        var idBase = new Option<ulong?>("--cl-ord-id-base") { Description = "First client order id of every account (default: the engine's last durable sequence + 1, unused by earlier runs).", HelpName = "N" };
        var thresholds = new Option<string[]>("--threshold", "-t") { Description = "Pass/fail criterion, e.g. 'p99<1ms', 'errors<0.1%', 'rejects<1%', 'rate>=5000' (repeatable).", HelpName = "EXPR", AllowMultipleArgumentsPerToken = false };
        var reportDir = new Option<string?>("--report-dir") { Description = "Write load-report.md, load-report.csv (per-second timeline) and load-report.json here.", HelpName = "DIR" };
        var json = new Option<bool>("--json") { Description = "Print the JSON report on stdout instead of the summary table." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress lines on stderr." };

        var command = new Command("load", Description);
        foreach (Option o in new Option[]
        {
            target, allowRemote, credentials, engineData, apiKeys, connections, rate, ramp, stages, concurrency, duration, count, workload, file, format,
            markets, marketIds, seed, resting, noPreFill, late, maxInFlight, drain, idBase, thresholds, reportDir, json, quiet,
        })
        {
            command.Options.Add(o);
        }

        command.SetAction(parse =>
        {
            string targetText = parse.GetValue(target)!, credentialsPath = parse.GetValue(credentials)!;
            if (parse.GetValue(engineData) is string dataDir)
            {
                if (!EngineEndpoints.TryRead(dataDir, out var endpoints, out string? problem))
                    return Fail($"--engine-data: {problem}; is 'exh engine --data {dataDir}' running?");
                targetText = endpoints!.Tcp.ToString();
                credentialsPath = Path.Combine(dataDir, EngineCredentials.FileName);
            }
            var args = new Args(
                targetText, parse.GetValue(allowRemote), credentialsPath, parse.GetValue(apiKeys) ?? [],
                parse.GetValue(connections), parse.GetValue(rate), parse.GetValue(ramp), parse.GetValue(stages), parse.GetValue(concurrency),
                parse.GetValue(duration), parse.GetValue(count), parse.GetValue(workload)!, parse.GetValue(file), parse.GetValue(format)!,
                parse.GetValue(markets), parse.GetValue(marketIds)!, parse.GetValue(seed), parse.GetValue(resting), parse.GetValue(noPreFill),
                parse.GetValue(late)!, parse.GetValue(maxInFlight), parse.GetValue(drain)!, parse.GetValue(idBase), parse.GetValue(thresholds) ?? [],
                parse.GetValue(reportDir), parse.GetValue(json), parse.GetValue(quiet));
            return Run(args);
        });
        return command;
    }

    internal sealed record Args(
        string Target, bool AllowRemote, string Credentials, string[] ApiKeys, int Connections, string? Rate, string? Ramp, string? Stages,
        int? Concurrency, string? Duration, long? Count, string Workload, string? File, string Format, FileInfo? Markets, string MarketIds,
        long Seed, int RestingOrders, bool NoPreFill, string LateThreshold, int MaxInFlight, string DrainTimeout, ulong? ClOrdIdBase,
        string[] Thresholds, string? ReportDir, bool Json, bool Quiet);

    private static int Run(Args a)
    {
        if (!TryBuildOptions(a, out var options, out string? error)) return Fail(error!);

        using var cts = new CancellationTokenSource();
        int interrupts = 0;
        void OnSignal(PosixSignalContext context)
        {
            // First SIGINT/SIGTERM: stop sending, drain, report. A second one terminates as usual.
            if (Interlocked.Increment(ref interrupts) != 1) return;
            context.Cancel = true;
            Console.Error.WriteLine($"exh load: {context.Signal}: stopping (waiting for outstanding acknowledgements; again to abort)");
            cts.Cancel();
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        LoadReport report;
        try
        {
            IProgress<LoadProgress>? progress = a.Quiet ? null : new ProgressLines(Console.Error, options!.Model);
            if (!a.Quiet) Console.Error.WriteLine($"exh load: {Describe(options!)}");
            report = LoadRunner.RunAsync(options!, progress, cts.Token).GetAwaiter().GetResult();
        }
        catch (ArgumentException e)
        {
            return Fail(e.Message.Split(" (Parameter")[0]);
        }
        catch (FileNotFoundException e)
        {
            return Fail(e.Message);
        }
        catch (ReplayFormatException e)
        {
            return Fail(e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ConfigException)
        {
            return Fail(e.Message);
        }

        if (a.ReportDir is { } dir)
        {
            try
            {
                var files = LoadReportWriter.WriteAll(report, dir);
                if (!a.Quiet) Console.Error.WriteLine($"exh load: reports written: {string.Join(", ", files)}");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"exh load: cannot write the reports to {dir}: {e.Message}");
                return 2;
            }
        }
        if (a.Json) Console.Out.WriteLine(LoadReportWriter.ToJson(report));
        else PrintSummary(report);

        if (report.StopReason == LoadStopReason.ConnectFailed)
        {
            foreach (var e in report.ConnectionErrors) Console.Error.WriteLine($"exh load: {e.Message}");
            return Fail("could not open every connection; nothing was sent (is the engine running? is the key right?)", 1);
        }
        if (report.StopReason == LoadStopReason.InputError)
            return Fail($"{report.StopMessage}\nexh load: stopped at that record; the report covers the commands before it.");
        bool failed = false;
        foreach (var t in report.Thresholds)
        {
            if (t.Passed) continue;
            failed = true;
            Console.Error.WriteLine($"exh load: threshold failed: {t.Threshold.Text} (actual {t.ActualText})");
        }
        return failed ? 1 : 0;
    }

    private static int Fail(string message, int exitCode = 2)
    {
        Console.Error.WriteLine($"exh load: {message}");
        return exitCode;
    }

    /// <summary>Turns the command line into <see cref="LoadOptions"/>; false with the problem for exit code 2.</summary>
    internal static bool TryBuildOptions(Args a, out LoadOptions? options, out string? error)
    {
        options = null;
        if (!LoadRunner.TryParseTarget(a.Target, out string host, out int port, out error)) return false;

        int shapes = (a.Rate is null ? 0 : 1) + (a.Ramp is null ? 0 : 1) + (a.Stages is null ? 0 : 1);
        if (shapes > 1) { error = "give only one of --rate, --ramp and --stages"; return false; }
        if (a.Concurrency is not null && shapes > 0) { error = "--concurrency (closed model) cannot be combined with --rate, --ramp or --stages (open model)"; return false; }
        RateSchedule schedule = RateSchedule.Constant(1000);
        if (a.Rate is { } rateText)
        {
            if (!RateSchedule.TryParseRate(rateText, out double r) || r <= 0) { error = $"--rate '{rateText}' is not a positive number of commands per second"; return false; }
            schedule = RateSchedule.Constant(r);
        }
        else if (a.Ramp is { } rampText && !TryAssign(RateSchedule.TryParseRamp(rampText, out var s1, out error), s1, ref schedule)) return false;
        else if (a.Stages is { } stagesText && !TryAssign(RateSchedule.TryParseStages(stagesText, out var s2, out error), s2, ref schedule)) return false;

        TimeSpan? duration;
        if (a.Duration is { } durationText)
        {
            if (!LoadDurations.TryParse(durationText, out var d) || d <= TimeSpan.Zero) { error = $"--duration '{durationText}' is not a positive duration (e.g. 30s, 2m, 500ms)"; return false; }
            duration = d;
        }
        else if (a.Count is not null) duration = null;
        else if (a.Ramp is not null || a.Stages is not null) duration = schedule.StagesDuration;
        else duration = TimeSpan.FromSeconds(10);

        if (!LoadDurations.TryParse(a.LateThreshold, out var lateThreshold)) { error = $"--late-threshold '{a.LateThreshold}' is not a duration (e.g. 1ms, 500us)"; return false; }
        if (!LoadDurations.TryParse(a.DrainTimeout, out var drainTimeout)) { error = $"--drain-timeout '{a.DrainTimeout}' is not a duration (e.g. 5s)"; return false; }

        LoadWorkloadKind kind;
        switch (a.Workload.ToLowerInvariant())
        {
            case "generator": kind = LoadWorkloadKind.Generator; break;
            case "replay": kind = LoadWorkloadKind.Replay; break;
            default: error = $"--workload '{a.Workload}' is not one of generator, replay"; return false;
        }
        if (kind == LoadWorkloadKind.Generator && a.File is not null) { error = "--file is for --workload replay"; return false; }
        if (!OrderFlowSources.TryParseFormat(a.Format, out var format)) { error = $"--format '{a.Format}' is not one of auto, bitfinex, lobster, csv"; return false; }

        var ids = new List<ushort>();
        foreach (string part in a.MarketIds.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!ushort.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out ushort id) || id == 0)
            {
                error = $"--market-ids: '{part}' is not a market id (1..{MarketDefinition.MaxMarketId})";
                return false;
            }
            ids.Add(id);
        }

        var thresholds = new List<LoadThreshold>();
        foreach (string t in a.Thresholds)
        {
            if (!LoadThreshold.TryParse(t, out var threshold, out error)) return false;
            thresholds.Add(threshold!);
        }

        IReadOnlyList<MarketDefinition>? marketDefinitions = null;
        if (a.Markets is not null)
        {
            try { marketDefinitions = MarketsFile.Load(a.Markets.ToString()); }
            catch (ConfigException e) { error = e.Message; return false; }
        }

        IReadOnlyList<string> keys;
        if (a.ApiKeys.Length > 0)
        {
            keys = a.ApiKeys;
        }
        else
        {
            try
            {
                var credentials = EngineCredentials.Load(a.Credentials);
                // The canary's key is its own account's: load must not trade on it (docs/canary.md).
                keys = credentials.ApiKeys.Where(k => k.Name != EngineCredentials.CanaryKeyName).Select(k => k.Key).ToList();
            }
            catch (ConfigException e)
            {
                error = $"{e.Message} (start the engine to create it, or pass --credentials FILE or --api-key KEY)";
                return false;
            }
            if (keys.Count == 0) { error = $"{a.Credentials}: no api_keys"; return false; }
        }

        options = new LoadOptions
        {
            Host = host,
            Port = port,
            AllowRemote = a.AllowRemote,
            ApiKeys = keys,
            Connections = a.Connections,
            Model = a.Concurrency is null ? LoadModel.Open : LoadModel.Closed,
            Rate = schedule,
            Concurrency = a.Concurrency ?? 1,
            Duration = duration,
            Count = a.Count,
            Workload = kind,
            ReplayFile = a.File,
            ReplayFormat = format,
            Markets = marketDefinitions,
            GeneratorMarketIds = ids,
            Seed = a.Seed,
            TargetRestingOrders = a.RestingOrders,
            PreFill = !a.NoPreFill,
            LateThreshold = lateThreshold,
            MaxInFlightPerConnection = a.MaxInFlight,
            DrainTimeout = drainTimeout,
            ClOrdIdBase = a.ClOrdIdBase,
            Thresholds = thresholds,
        };
        error = options.Validate();
        if (error is not null)
        {
            options = null;
            return false;
        }
        try
        {
            // The safety rule is checked before anything connects (and again by the runner).
            LoadRunner.ResolveTarget(host, port, a.AllowRemote);
        }
        catch (ArgumentException e)
        {
            error = e.Message.Split(" (Parameter")[0];
            options = null;
            return false;
        }
        return true;
    }

    private static bool TryAssign(bool ok, RateSchedule? parsed, ref RateSchedule schedule)
    {
        if (ok) schedule = parsed!;
        return ok;
    }

    private static string Describe(LoadOptions o)
    {
        string shape = o.Model == LoadModel.Open ? $"open model, {o.Rate}" : $"closed model, {o.Concurrency} in flight per connection";
        string bounds = (o.Duration is { } d ? LoadDurations.Format(d) : "no time bound") + (o.Count is { } n ? $", at most {n:N0} commands" : "");
        string work = o.Workload == LoadWorkloadKind.Generator ? "generator" : $"replay of {o.ReplayFile}";
        return string.Create(CultureInfo.InvariantCulture, $"{o.Host}:{o.Port}, {o.Connections} connection(s), {shape}, {bounds}, {work}");
    }

    // ------------------------------------------------------------------ output

    private sealed class ProgressLines(TextWriter writer, LoadModel model) : IProgress<LoadProgress>
    {
        private readonly object _gate = new();

        public void Report(LoadProgress p)
        {
            string offered = model == LoadModel.Open ? $"offered {LoadDurations.FormatRate(p.OfferedRate)}  " : "";
            string line = string.Create(CultureInfo.InvariantCulture,
                $"[{p.Elapsed.TotalSeconds,6:0.0}s] {offered}sent {LoadDurations.FormatRate(p.SentRate)}  achieved {LoadDurations.FormatRate(p.AchievedRate)}  " +
                $"in flight {p.InFlight:N0}  p50 {LoadDurations.FormatLatency(p.P50Nanoseconds)}  p99 {LoadDurations.FormatLatency(p.P99Nanoseconds)}  " +
                $"rejects {p.Rejected:N0}  errors {p.Errors:N0}");
            if (model == LoadModel.Open) line += string.Create(CultureInfo.InvariantCulture, $"  late {p.Late:N0}  dropped {p.Dropped:N0}");
            lock (_gate) writer.WriteLine(line);
        }
    }

    private static void PrintSummary(LoadReport r)
    {
        IAnsiConsole console = Cli.CreateConsole(Console.Out, interactive: !Console.IsOutputRedirected, plainWidth: 120);
        static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
        static string Pct(long part, long whole) => whole == 0 ? "" : string.Create(CultureInfo.InvariantCulture, $" ({100.0 * part / whole:0.###}%)");

        console.MarkupLine(Markup.Escape(
            $"exh load: {r.Target}, {r.LoadShape}, {r.Connections} connection(s), {r.Workload}; stopped by {LoadReportWriter.StopReasonName(r.StopReason)}" +
            (r.StopMessage is null ? "" : $" ({r.StopMessage})")));

        var main = new Table().Border(TableBorder.Rounded).AddColumn("measure").AddColumn(new TableColumn("value").RightAligned());
        main.AddRow("offered rate", r.OfferedRate is { } o ? LoadDurations.FormatRate(o) : "- (closed model)");
        main.AddRow("sent rate", LoadDurations.FormatRate(r.SentRate));
        main.AddRow("achieved rate", LoadDurations.FormatRate(r.AchievedRate));
        main.AddRow("send window / elapsed", string.Create(CultureInfo.InvariantCulture, $"{r.SendWindow.TotalSeconds:0.###} s / {r.Elapsed.TotalSeconds:0.###} s"));
        main.AddRow("sent", N(r.Sent));
        main.AddRow("acknowledged", N(r.Acknowledged));
        main.AddRow("rejected", N(r.Rejected) + Pct(r.Rejected, r.Acknowledged));
        if (r.Model == LoadModel.Open)
        {
            main.AddRow(Markup.Escape($"late sends (> {LoadDurations.FormatLatency(r.LateThreshold.TotalNanoseconds)})"),
                N(r.Late) + Pct(r.Late, r.Scheduled) + $", max {LoadDurations.FormatLatency(r.MaxLateness.TotalNanoseconds)}");
            main.AddRow(Markup.Escape($"dropped sends (at {N(r.MaxInFlightPerConnection)} in flight)"), N(r.Dropped) + Pct(r.Dropped, r.Scheduled));
        }
        main.AddRow("unacknowledged", N(r.Unacknowledged));
        main.AddRow("not sent (connection down)", N(r.NotSent));
        main.AddRow("session errors", N(r.SessionErrorCount));
        main.AddRow("connection errors", N(r.ConnectionErrors.Count));
        main.AddRow(r.Errors > 0 ? "[red]errors[/]" : "errors", N(r.Errors) + Pct(r.Errors, r.Sent));
        if (r.PreFill is { } p) main.AddRow("pre-fill (not measured)", $"{N(p.Commands)} orders, {N(p.Rejected)} rejected");
        if (r.Skipped > 0) main.AddRow("skipped workload commands", N(r.Skipped));
        console.Write(main);

        string from = r.Model == LoadModel.Open ? "intended send" : "send";
        var lat = new Table().Border(TableBorder.Rounded)
            .AddColumn("latency").AddColumn(new TableColumn("response").RightAligned()).AddColumn(new TableColumn("service").RightAligned());
        string L(Engine.Diagnostics.LatencyHistogram h, double ns) => h.Count == 0 ? "-" : LoadDurations.FormatLatency(ns);
        foreach (double pct in LoadReport.ReportedPercentiles)
            lat.AddRow("p" + pct.ToString("0.##", CultureInfo.InvariantCulture), L(r.ResponseTime, r.ResponseTime.ValueAtPercentile(pct)), L(r.ServiceTime, r.ServiceTime.ValueAtPercentile(pct)));
        lat.AddRow("max", L(r.ResponseTime, r.ResponseTime.Max), L(r.ServiceTime, r.ServiceTime.Max));
        lat.AddRow("mean", L(r.ResponseTime, r.ResponseTime.Mean), L(r.ServiceTime, r.ServiceTime.Mean));
        console.Write(lat);
        console.MarkupLine(Markup.Escape($"response time: {from} -> acknowledgement; service time: actual send -> acknowledgement; percentiles within ±0.4% (log-linear histogram)"));

        if (r.RejectsByReason.Count > 0)
        {
            var rejects = new Table().Border(TableBorder.Rounded).AddColumn("reject reason").AddColumn("category").AddColumn(new TableColumn("count").RightAligned());
            foreach (var x in r.RejectsByReason) rejects.AddRow(x.Name, x.Category, N(x.Count));
            console.Write(rejects);
        }
        foreach (var e in r.SessionErrors) console.MarkupLine(Markup.Escape($"session error {e.Name}: {N(e.Count)}"));
        foreach (var e in r.ConnectionErrors) console.MarkupLine(Markup.Escape(e.Message));
        if (r.Thresholds.Count > 0)
        {
            var t = new Table().Border(TableBorder.Rounded).AddColumn("threshold").AddColumn(new TableColumn("actual").RightAligned()).AddColumn("result");
            foreach (var x in r.Thresholds) t.AddRow(Markup.Escape(x.Threshold.Text), Markup.Escape(x.ActualText), x.Passed ? "[green]passed[/]" : "[red]FAILED[/]");
            console.Write(t);
        }
        console.WriteLine(LoadReportWriter.Verdict(r));
    }
}
