using System.CommandLine;
using System.Globalization;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Journal;
using Command = System.CommandLine.Command;

namespace ExchangeHealth.Cli;

/// <summary><c>exh journal verify|snapshot</c>: check, repair and compact an engine data directory.</summary>
internal static class JournalCommand
{
    public static Command Create()
    {
        var command = new Command("journal",
            "Check, repair and compact an engine data directory (journal/ and snapshots/).\n\n" +
            "Examples:\n" +
            "  exh journal verify --data data            recover read-only and print the state hash\n" +
            "  exh journal verify --data data --repair   also truncate a torn journal tail\n" +
            "  exh journal verify --data data --full     ignore snapshots: replay the journal from sequence 1\n" +
            "  exh journal snapshot --data data          write a snapshot at the last sequence number");
        command.Subcommands.Add(Verify());
        command.Subcommands.Add(Snapshot());
        return command;
    }

    private static Option<string> DataOption() => new("--data", "-d")
    {
        Description = "Engine data directory (holds journal/ and snapshots/).",
        DefaultValueFactory = _ => "data",
    };

    private static Option<FileInfo?> MarketsOption() => new("--markets", "-m")
    {
        Description = "Markets YAML file (default: the data directory's markets.yaml, else the embedded config/markets.yaml).",
    };

    private static Command Verify()
    {
        var data = DataOption();
        var markets = MarketsOption();
        var repair = new Option<bool>("--repair") { Description = "Truncate a torn tail of the journal (default: report only, change nothing)." };
        var full = new Option<bool>("--full") { Description = "Ignore snapshots and replay the whole journal." };
        var command = new Command("verify", "Recover the engine from a data directory and report what was found: snapshot used, commands replayed, torn tail, state hash.")
        {
            data, markets, repair, full,
        };
        command.SetAction(parse =>
        {
            string dir = parse.GetValue(data)!;
            if (!Directory.Exists(dir)) return Cli.Fail($"data directory '{dir}' does not exist");
            if (!TryLoadMarkets(dir, parse.GetValue(markets), out var defs)) return 2;
            RecoveryResult result;
            try
            {
                result = EngineRecovery.Recover(dir, defs, new RecoveryOptions { RepairTornTail = parse.GetValue(repair), IgnoreSnapshots = parse.GetValue(full) });
            }
            catch (JournalCorruptException e)
            {
                return Cli.Fail($"journal is corrupt: {e.Message}", exitCode: 1);
            }
            Print(result);
            return 0;
        });
        return command;
    }

    private static Command Snapshot()
    {
        var data = DataOption();
        var markets = MarketsOption();
        var keep = new Option<int>("--keep") { Description = "Snapshots to keep (older ones are deleted).", DefaultValueFactory = _ => 3 };
        var command = new Command("snapshot", "Recover the engine (repairing a torn tail), then write a snapshot at its last sequence number so the next recovery replays less.")
        {
            data, markets, keep,
        };
        command.SetAction(parse =>
        {
            string dir = parse.GetValue(data)!;
            if (!Directory.Exists(dir)) return Cli.Fail($"data directory '{dir}' does not exist");
            if (!TryLoadMarkets(dir, parse.GetValue(markets), out var defs)) return 2;
            if (parse.GetValue(keep) < 1) return Cli.Fail("--keep must be at least 1");
            RecoveryResult result;
            try
            {
                result = EngineRecovery.Recover(dir, defs);
            }
            catch (JournalCorruptException e)
            {
                return Cli.Fail($"journal is corrupt: {e.Message}", exitCode: 1);
            }
            Print(result);
            string path = SnapshotStore.Write(EngineRecovery.SnapshotDirectory(dir), result.Engine);
            int pruned = SnapshotStore.Prune(EngineRecovery.SnapshotDirectory(dir), parse.GetValue(keep));
            Console.WriteLine($"snapshot written: {path} (sequence {result.LastSequence}); {pruned} older snapshot(s) deleted");
            return 0;
        });
        return command;
    }

    /// <summary>--markets if given, else the data directory's markets.yaml, else the embedded default.</summary>
    private static bool TryLoadMarkets(string dataDirectory, FileInfo? file, out IReadOnlyList<MarketDefinition> markets)
    {
        if (file is null && File.Exists(EngineDataDirectory.MarketsPath(dataDirectory)))
            file = new FileInfo(EngineDataDirectory.MarketsPath(dataDirectory));
        return Cli.TryLoadMarkets(file, out markets);
    }

    private static void Print(RecoveryResult r)
    {
        var inv = CultureInfo.InvariantCulture;
        foreach (string w in r.Warnings) Console.WriteLine($"warning: {w}");
        Console.WriteLine($"snapshot:        {(r.SnapshotPath is null ? "none (replayed from sequence 1)" : $"{r.SnapshotPath} (sequence {r.SnapshotSequence})")}");
        double rate = r.ReplayElapsed.TotalSeconds > 0 ? r.ReplayedCommands / r.ReplayElapsed.TotalSeconds : 0;
        Console.WriteLine(string.Create(inv, $"replayed:        {r.ReplayedCommands:N0} commands in {r.ReplayElapsed.TotalMilliseconds:F1} ms ({rate:N0} commands/s)"));
        Console.WriteLine($"last sequence:   {r.LastSequence}");
        Console.WriteLine($"torn tail:       {(r.TornTail is null ? "none" : r.TornTail.ToString())}");
        foreach (var book in r.Engine.Books)
        {
            var m = book.Market;
            string bid = book.TryGetBest(Side.Buy, out var b) ? $"{m.FormatQuantity(b.Quantity.Units)} @ {m.FormatPrice(b.Price.Units)}" : "-";
            string ask = book.TryGetBest(Side.Sell, out var a) ? $"{m.FormatQuantity(a.Quantity.Units)} @ {m.FormatPrice(a.Price.Units)}" : "-";
            Console.WriteLine($"  {m.Symbol,-10} {book.State.Name(),-11} orders {book.OrderCount,7}  bid {bid}  ask {ask}");
        }
        Console.WriteLine($"last trade id:   {r.Engine.LastTradeId}");
        Console.WriteLine($"state hash:      {r.Engine.ComputeStateHash()}");
    }
}
