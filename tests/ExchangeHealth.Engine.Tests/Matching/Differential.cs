using System.Globalization;
using System.Text;
using ExchangeHealth.TestKit;

namespace ExchangeHealth.Engine.Tests.Matching;

/// <summary>
/// Runs a command stream through the fast <see cref="MatchingEngine"/> and the
/// <see cref="ReferenceEngine"/> side by side and reports the first divergence; shrinks failing
/// streams to a minimal counterexample.
/// </summary>
internal static class Differential
{
    /// <summary>
    /// The first divergence between engine and model on <paramref name="commands"/>, or null.
    /// Compares after every command: the reports field by field, the state hash, the canonical
    /// books, reference and last trade prices, market states and the internal-error counter.
    /// </summary>
    /// <param name="markets">The markets of both engines.</param>
    /// <param name="commands">The stream.</param>
    /// <param name="initialOrderCapacity">The engine's initial array sizes: 1 makes every structure grow during the stream.</param>
    /// <param name="counting">Optional sink that also sees every engine report (coverage statistics).</param>
    public static string? FindDivergence(IReadOnlyList<MarketDefinition> markets, IReadOnlyList<Command> commands,
        int initialOrderCapacity = 4096, IExecutionReportSink? counting = null)
    {
        var model = new ReferenceEngine(markets);
        var sink = new CollectingReportSink();
        var engine = new MatchingEngine(markets, counting is null ? sink : new ForwardingSink(sink, counting), initialOrderCapacity);
        for (int i = 0; i < commands.Count; i++)
        {
            var command = commands[i];
            List<ExecutionReport> expected = model.Process(command);
            sink.Reports.Clear();
            engine.Process(ref command);

            string? problem = ReportComparison.CompareSequences(expected, sink.Reports);
            if (problem is null && engine.InternalErrors != 0) problem = "the engine counted an internal error";
            if (problem is null) problem = CompareState(model, engine);
            if (problem is null && model.ComputeStateHash() != engine.ComputeStateHash()) problem = "state hashes differ";
            if (problem is not null)
                return string.Create(CultureInfo.InvariantCulture, $"after command #{i} ({ReportComparison.ToSource(commands[i])}):\n{problem}");
        }
        return null;
    }

    private static string? CompareState(ReferenceEngine model, MatchingEngine engine)
    {
        if (model.LastTradeId != engine.LastTradeId) return $"last trade id: model={model.LastTradeId} engine={engine.LastTradeId}";
        foreach (var id in model.MarketIds)
        {
            var book = engine.FindBook(id)!;
            if (model.StateOf(id) != book.State) return $"market {id} state: model={model.StateOf(id)} engine={book.State}";
            if (model.ReferencePriceOf(id) != book.ReferencePrice)
                return $"market {id} reference price: model={model.ReferencePriceOf(id)} engine={book.ReferencePrice}";
            if (model.LastTradePriceOf(id) != book.LastTradePrice)
                return $"market {id} last trade price: model={model.LastTradePriceOf(id)} engine={book.LastTradePrice}";
            var expected = model.Book(id);
            var actual = book.RestingOrders().ToList();
            if (!expected.SequenceEqual(actual) || book.OrderCount != expected.Count)
            {
                return $"market {id} book differs:\n  model:  {string.Join(", ", expected)}\n  engine: {string.Join(", ", actual)}";
            }
        }
        return null;
    }

    /// <summary>
    /// Shrinks a failing stream by removing chunks of commands (halving the chunk size when no
    /// removal keeps it failing) until no single command can be removed.
    /// </summary>
    public static Command[] Shrink(Command[] failing, Func<Command[], bool> stillFails)
    {
        var current = failing;
        int chunk = Math.Max(1, current.Length / 2);
        while (true)
        {
            bool removedAny = false;
            for (int start = 0; start < current.Length;)
            {
                int n = Math.Min(chunk, current.Length - start);
                var candidate = current[..start].Concat(current[(start + n)..]).ToArray();
                if (candidate.Length > 0 && stillFails(candidate))
                {
                    current = candidate;
                    removedAny = true;
                }
                else
                {
                    start += n;
                }
            }
            if (chunk == 1 && !removedAny) return current;
            if (!removedAny) chunk = Math.Max(1, chunk / 2);
        }
    }

    /// <summary>A failing stream as C# source lines, ready to paste into a regression test.</summary>
    public static string ToSource(IEnumerable<Command> commands)
    {
        var sb = new StringBuilder();
        foreach (var c in commands) sb.Append("    ").AppendLine(ReportComparison.ToSource(c));
        return sb.ToString();
    }

    /// <summary>The base seed: <c>EXH_MODEL_SEED</c> when set (to reproduce a run), else fresh.</summary>
    public static int BaseSeed()
    {
        string? text = Environment.GetEnvironmentVariable("EXH_MODEL_SEED");
        return text is not null ? int.Parse(text, CultureInfo.InvariantCulture) : Random.Shared.Next();
    }

    /// <summary>Number of random streams: <c>EXH_MODEL_STREAMS</c> when set, else <paramref name="defaultCount"/>.</summary>
    public static int StreamCount(int defaultCount)
    {
        string? text = Environment.GetEnvironmentVariable("EXH_MODEL_STREAMS");
        return text is not null ? int.Parse(text, CultureInfo.InvariantCulture) : defaultCount;
    }

    private sealed class ForwardingSink(IExecutionReportSink first, IExecutionReportSink second) : IExecutionReportSink
    {
        public void OnReport(in ExecutionReport report)
        {
            first.OnReport(report);
            second.OnReport(report);
        }
    }

    /// <summary>The seed of stream <paramref name="index"/> of a run with <paramref name="baseSeed"/>.</summary>
    public static int StreamSeed(int baseSeed, int index) => unchecked(baseSeed + index * 7919);
}
