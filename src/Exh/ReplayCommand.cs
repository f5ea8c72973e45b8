using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Journal;
using ExchangeHealth.Engine.Replay;
using Spectre.Console;
using Command = System.CommandLine.Command;

namespace ExchangeHealth.Cli;

/// <summary><c>exh replay FILE</c>: replays an order-flow file through a fresh engine and prints a summary.</summary>
internal static class ReplayCommand
{
    private const string Description =
        "Replay an order-flow file through a fresh matching engine and report what happened: commands, accepted and\n" +
        "rejected (by reason), trades, cancels and expiries, the final top of book, the state hash and the throughput.\n" +
        "\n" +
        "Formats (detected from the content unless --format names one):\n" +
        "  bitfinex  Bitfinex raw order book capture: one JSON array of websocket messages (book channel, prec R0).\n" +
        "            Deletes become cancels, fills of the first order in line become trades; see docs/replay.md.\n" +
        "  lobster   LOBSTER message file (time,type,order_id,size,price,direction). The orderbook file beside it\n" +
        "            (same name with 'orderbook' for 'message') seeds the book as it was before the first message.\n" +
        "  csv       Our order-flow CSV: a header row naming the columns, then one command per line\n" +
        "            (new, cancel, amend, cancel_all, set_state); see docs/order-flow-csv.md.\n" +
        "\n" +
        "Examples:\n" +
        "  exh replay ../shared/data/bitfinex-tBTCUSD-R0-book.json\n" +
        "  exh replay ../shared/data/lobster-AAPL-2012-06-21-message-10.csv\n" +
        "  exh replay examples/orderflow-sample.csv --markets config/markets.yaml\n" +
        "  exh replay flow.csv --format csv --json --quiet > summary.json\n" +
        "  exh replay ../shared/data/bitfinex-tBTCUSD-R0-book.json --data data/replay --reset\n" +
        "      (journal the replay with group commit and fsync, snapshot every 25,000 commands;\n" +
        "       then 'exh journal verify --data data/replay' recovers it and prints the same state hash)\n" +
        "\n" +
        "Exit codes: 0 replayed; 1 the engine reported internal errors; 2 bad input (missing file, unknown\n" +
        "format, invalid markets file, malformed line: the message names file:line, and the summary covers\n" +
        "everything before that line).";

    public static Command Create()
    {
        var file = new Argument<FileInfo>("FILE")
        {
            Description = "The order-flow file: a Bitfinex R0 JSON capture, a LOBSTER message file or an order-flow CSV.",
        };
        var format = new Option<string>("--format", "-f")
        {
            Description = "The file's format; auto detects it from the content.",
            DefaultValueFactory = _ => "auto",
            HelpName = "auto|bitfinex|lobster|csv",
        };
        // Checked in the action (not with AcceptOnlyFromAmong) so that a wrong value exits with 2, like other bad input.
        var markets = new Option<FileInfo?>("--markets", "-m")
        {
            Description = "Markets file (YAML, as config/markets.yaml). CSV symbols are looked up here (default: the embedded " +
                "config/markets.yaml). For bitfinex/lobster it replaces the implied market of the same symbol.",
            HelpName = "FILE",
        };
        var json = new Option<bool>("--json")
        {
            Description = "Print the summary as one JSON object on stdout (progress, if any, goes to stderr).",
        };
        var quiet = new Option<bool>("--quiet", "-q")
        {
            Description = "No progress output; only the summary.",
        };

        var data = new Option<string?>("--data", "-d")
        {
            Description = "Journal the replay into this engine data directory (journal/, snapshots/, markets.yaml).",
            HelpName = "DIR",
        };
        var reset = new Option<bool>("--reset")
        {
            Description = "With --data: delete the directory's existing journal and snapshots first.",
        };
        var commitEvery = new Option<int>("--commit-every")
        {
            Description = "With --data: group commit (write + fsync) every N commands.",
            DefaultValueFactory = _ => 1024,
            HelpName = "N",
        };
        var snapshotEvery = new Option<long>("--snapshot-every")
        {
            Description = "With --data: write a snapshot every N commands (0: none).",
            DefaultValueFactory = _ => 25_000,
            HelpName = "N",
        };

        var command = new Command("replay", Description);
        command.Arguments.Add(file);
        command.Options.Add(format);
        command.Options.Add(markets);
        command.Options.Add(json);
        command.Options.Add(quiet);
        command.Options.Add(data);
        command.Options.Add(reset);
        command.Options.Add(commitEvery);
        command.Options.Add(snapshotEvery);
        command.SetAction(parse => Run(
            parse.GetValue(file)!,
            parse.GetValue(format) ?? "auto",
            parse.GetValue(markets),
            parse.GetValue(json),
            parse.GetValue(quiet),
            new JournalArgs(parse.GetValue(data), parse.GetValue(reset), parse.GetValue(commitEvery), parse.GetValue(snapshotEvery))));
        return command;
    }

    private sealed record JournalArgs(string? DataDirectory, bool Reset, int CommitEvery, long SnapshotEvery);

    private static int Run(FileInfo file, string formatName, FileInfo? marketsFile, bool json, bool quiet, JournalArgs journalArgs)
    {
        TextWriter stdout = Console.Out;
        TextWriter stderr = Console.Error;
        if (!OrderFlowSources.TryParseFormat(formatName, out var format))
        {
            stderr.WriteLine($"exh replay: --format '{formatName}' is not one of auto, bitfinex, lobster, csv");
            return 2;
        }

        IReadOnlyList<MarketDefinition>? markets = null;
        IOrderFlowSource source;
        try
        {
            if (marketsFile is not null) markets = MarketsFile.Load(marketsFile.ToString());
            source = OrderFlowSources.Open(file.ToString(), format, markets);
        }
        catch (ConfigException e)
        {
            stderr.WriteLine($"exh replay: {e.Message}");
            return 2;
        }
        catch (ReplayFormatException e)
        {
            stderr.WriteLine($"exh replay: {e.Message}");
            return 2;
        }
        catch (FileNotFoundException)
        {
            stderr.WriteLine($"exh replay: {file}: no such file");
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"exh replay: {file}: cannot read: {e.Message}");
            return 2;
        }

        ReplaySummary summary;
        JournalingReplayHook? journal = null;
        using (source)
        {
            bool terminal = !Console.IsOutputRedirected;
            IAnsiConsole console = Cli.CreateConsole(stdout, terminal);
            try
            {
                foreach (var m in source.Markets)
                {
                    if (m.Validate() is { } problem)
                    {
                        stderr.WriteLine($"exh replay: market '{m.Symbol}': {problem}");
                        return 2;
                    }
                }
                if (journalArgs.DataDirectory is { } dataDir)
                {
                    if (journalArgs.CommitEvery < 1) return Cli.Fail("--commit-every must be at least 1");
                    if (journalArgs.SnapshotEvery < 0) return Cli.Fail("--snapshot-every must not be negative");
                    try
                    {
                        EngineDataDirectory.Create(dataDir, source.Markets, journalArgs.Reset);
                    }
                    catch (InvalidOperationException e)
                    {
                        return Cli.Fail($"{e.Message} (--reset)");
                    }
                    journal = new JournalingReplayHook(dataDir, new JournalingReplayOptions
                    {
                        CommitEvery = journalArgs.CommitEvery,
                        SnapshotEvery = journalArgs.SnapshotEvery,
                    });
                }
                var options = new ReplayOptions { Hook = journal };
                if (quiet) summary = new ReplayRunner(source, options).Run();
                else if (terminal && !json) summary = RunWithProgressBar(console, source, options);
                else summary = RunWithProgressLines(stderr, source, options);
                journal?.Complete();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"exh replay: {(e is JournalWriteException ? "journal" : file.ToString())}: {e.Message}");
                return 2;
            }
            finally
            {
                journal?.Dispose();
            }

            if (json) stdout.WriteLine(ToJson(summary, journal, journalArgs.DataDirectory));
            else PrintSummary(console, summary, source.Markets, journal, journalArgs.DataDirectory);
        }

        if (summary.Error is not null)
        {
            stderr.WriteLine($"exh replay: {summary.Error.Message}");
            stderr.WriteLine($"exh replay: stopped at that line; the summary covers the {N(summary.Commands)} commands before it.");
            return 2;
        }
        if (summary.InternalErrors > 0)
        {
            stderr.WriteLine($"exh replay: the engine reported {summary.InternalErrors} internal errors (rejected as 'internal'): this is an engine bug.");
            return 1;
        }
        return 0;
    }

    private static ReplaySummary RunWithProgressBar(IAnsiConsole console, IOrderFlowSource source, ReplayOptions options)
    {
        ReplaySummary? summary = null;
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(Path.GetFileName(source.FileName)), maxValue: Math.Max(1, source.TotalBytes));
                var runner = new ReplayRunner(source, options with
                {
                    ProgressInterval = TimeSpan.FromMilliseconds(100),
                    Progress = p =>
                    {
                        task.Value = Math.Min(p.BytesRead, task.MaxValue);
                        task.Description = Markup.Escape(
                            $"{Path.GetFileName(source.FileName)}: {p.Commands.ToString("N0", CultureInfo.InvariantCulture)} commands");
                    },
                });
                summary = runner.Run();
                task.Value = task.MaxValue;
                task.StopTask();
            });
        return summary!;
    }

    private static ReplaySummary RunWithProgressLines(TextWriter stderr, IOrderFlowSource source, ReplayOptions options)
    {
        var runner = new ReplayRunner(source, options with
        {
            ProgressInterval = TimeSpan.FromSeconds(1),
            Progress = p => stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"replay: {p.Fraction * 100,5:0.0}%  {p.Records,12:N0} records  {p.Commands,12:N0} commands  {p.Elapsed.TotalSeconds,7:0.0} s")),
        });
        return runner.Run();
    }

    // ------------------------------------------------------------------ output

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static void PrintSummary(IAnsiConsole console, ReplaySummary s, IReadOnlyList<MarketDefinition> markets,
        JournalingReplayHook? journal, string? dataDirectory)
    {
        var symbols = new List<string>();
        foreach (var m in markets) symbols.Add(m.Symbol);
        console.MarkupLine(Markup.Escape($"Replayed {s.File} ({s.Format.Name()}; markets {string.Join(", ", symbols)})"));
        if (s.Error is not null) console.MarkupLine("[red]stopped at a malformed line[/]");
        if (s.Cancelled) console.MarkupLine("[yellow]cancelled[/]");

        var main = new Table().Border(TableBorder.Rounded).AddColumn("summary").AddColumn(new TableColumn("value").RightAligned());
        main.AddRow("records", N(s.Records));
        main.AddRow("commands", N(s.Commands));
        main.AddRow("accepted", N(s.Accepted));
        main.AddRow("rejected", N(s.Rejected));
        main.AddRow("trades", N(s.Trades));
        main.AddRow("amends", N(s.Amends));
        foreach (var (reason, count) in s.Cancels) main.AddRow(Markup.Escape($"cancelled ({reason})"), N(count));
        foreach (var (reason, count) in s.Expiries) main.AddRow(Markup.Escape($"expired ({reason})"), N(count));
        if (s.InternalErrors > 0) main.AddRow("[red]internal errors[/]", N(s.InternalErrors));
        main.AddRow("elapsed", string.Create(CultureInfo.InvariantCulture, $"{s.Elapsed.TotalSeconds:0.000} s"));
        main.AddRow("throughput", string.Create(CultureInfo.InvariantCulture, $"{s.CommandsPerSecond:N0} commands/s"));
        main.AddRow("engine throughput", string.Create(CultureInfo.InvariantCulture, $"{s.EngineCommandsPerSecond:N0} commands/s (time inside the engine, incl. a clock read per command)"));
        console.Write(main);

        if (s.RejectsByReason.Count > 0)
        {
            var rejects = new Table().Border(TableBorder.Rounded).AddColumn("reject reason").AddColumn(new TableColumn("commands").RightAligned());
            foreach (var (reason, count) in s.RejectsByReason) rejects.AddRow(reason, N(count));
            console.Write(rejects);
        }

        var top = new Table().Border(TableBorder.Rounded).AddColumn("market").AddColumn("state")
            .AddColumn(new TableColumn("bid qty").RightAligned()).AddColumn(new TableColumn("bid").RightAligned())
            .AddColumn(new TableColumn("ask").RightAligned()).AddColumn(new TableColumn("ask qty").RightAligned())
            .AddColumn(new TableColumn("orders").RightAligned()).AddColumn(new TableColumn("levels (bid/ask)").RightAligned());
        foreach (var t in s.TopOfBook)
        {
            top.AddRow(Markup.Escape(t.Symbol), t.State, t.BidQuantity ?? "-", t.BidPrice ?? "-", t.AskPrice ?? "-", t.AskQuantity ?? "-",
                N(t.Orders), $"{N(t.BidLevels)}/{N(t.AskLevels)}");
        }
        console.Write(top);

        var counters = new Table().Border(TableBorder.Rounded).AddColumn(s.Format.Name() + " counter")
            .AddColumn(new TableColumn("value").RightAligned()).AddColumn("meaning");
        foreach (var c in s.Counters) counters.AddRow(c.Name, N(c.Value), Markup.Escape(c.Description));
        if (s.Counters.Count > 0) console.Write(counters);

        if (journal is not null)
        {
            var j = new Table().Border(TableBorder.Rounded).AddColumn("journal").AddColumn(new TableColumn("value").RightAligned());
            j.AddRow("data directory", Markup.Escape(dataDirectory ?? ""));
            j.AddRow("last durable sequence", N(journal.DurableSequence.Value));
            j.AddRow("group commits (fsync)", N(journal.Commits));
            j.AddRow("bytes written", N(journal.BytesWritten));
            j.AddRow("snapshots written", N(journal.Snapshots));
            console.Write(j);
            console.WriteLine($"recover it with: exh journal verify --data {dataDirectory}");
        }

        // Last and on its own line: easy to find, copy and compare, and never wrapped inside a table cell.
        console.WriteLine("state hash " + s.StateHash);
    }

    /// <summary>The summary as one JSON object (snake_case keys; prices and quantities as decimal strings).</summary>
    internal static string ToJson(ReplaySummary s, JournalingReplayHook? journal = null, string? dataDirectory = null)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("file", s.File);
            w.WriteString("format", s.Format.Name());
            w.WriteNumber("records", s.Records);
            w.WriteNumber("commands", s.Commands);
            w.WriteNumber("accepted", s.Accepted);
            w.WriteNumber("rejected", s.Rejected);
            WriteCounts(w, "rejects_by_reason", s.RejectsByReason);
            w.WriteNumber("trades", s.Trades);
            w.WriteNumber("amends", s.Amends);
            WriteCounts(w, "cancelled", s.Cancels);
            WriteCounts(w, "expired", s.Expiries);
            w.WriteStartArray("top_of_book");
            foreach (var t in s.TopOfBook)
            {
                w.WriteStartObject();
                w.WriteString("market", t.Symbol);
                w.WriteString("state", t.State);
                w.WriteString("bid", t.BidPrice);
                w.WriteString("bid_quantity", t.BidQuantity);
                w.WriteString("ask", t.AskPrice);
                w.WriteString("ask_quantity", t.AskQuantity);
                w.WriteNumber("orders", t.Orders);
                w.WriteNumber("bid_levels", t.BidLevels);
                w.WriteNumber("ask_levels", t.AskLevels);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteString("state_hash", s.StateHash);
            w.WriteNumber("internal_errors", s.InternalErrors);
            w.WriteNumber("elapsed_seconds", Math.Round(s.Elapsed.TotalSeconds, 6));
            w.WriteNumber("engine_seconds", Math.Round(s.EngineTime.TotalSeconds, 6));
            w.WriteNumber("commands_per_second", Math.Round(s.CommandsPerSecond));
            w.WriteNumber("engine_commands_per_second", Math.Round(s.EngineCommandsPerSecond));
            w.WriteStartObject("counters");
            foreach (var c in s.Counters) w.WriteNumber(c.Name, c.Value);
            w.WriteEndObject();
            w.WriteBoolean("cancelled", s.Cancelled);
            if (journal is not null)
            {
                w.WriteStartObject("journal");
                w.WriteString("data_directory", dataDirectory);
                w.WriteNumber("durable_sequence", journal.DurableSequence.Value);
                w.WriteNumber("group_commits", journal.Commits);
                w.WriteNumber("bytes_written", journal.BytesWritten);
                w.WriteNumber("snapshots", journal.Snapshots);
                w.WriteEndObject();
            }
            if (s.Error is null)
            {
                w.WriteNull("error");
            }
            else
            {
                w.WriteStartObject("error");
                w.WriteString("file", s.Error.File);
                w.WriteNumber("line", s.Error.Line);
                w.WriteNumber("column", s.Error.Column);
                w.WriteString("reason", s.Error.Reason);
                w.WriteString("message", s.Error.Message);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteCounts(Utf8JsonWriter w, string name, IReadOnlyList<KeyValuePair<string, long>> counts)
    {
        w.WriteStartObject(name);
        foreach (var (key, value) in counts) w.WriteNumber(key, value);
        w.WriteEndObject();
    }
}
