using System.Globalization;
using ExchangeHealth.TestKit;
using Xunit.Abstractions;

namespace ExchangeHealth.Engine.Tests.Matching;

/// <summary>
/// Property tests over random command streams (<see cref="CommandStreamGenerator"/>): the fast
/// engine agrees with the reference model, is deterministic, and rejected commands change nothing.
/// </summary>
/// <remarks>
/// Every run uses a fresh base seed (printed on failure with the shrunk counterexample); set
/// <c>EXH_MODEL_SEED</c> to replay a run and <c>EXH_MODEL_STREAMS</c> to check more streams.
/// </remarks>
public sealed class EngineDifferentialTests(ITestOutputHelper output)
{
    private const int DifferentialStreams = 1000;
    private static readonly IReadOnlyList<MarketDefinition> Markets = CommandStreamGenerator.Markets;

    [Fact]
    public void Process_RandomStreams_EngineMatchesReferenceModel()
    {
        int baseSeed = Differential.BaseSeed();
        int streams = Differential.StreamCount(DifferentialStreams);
        var coverage = new CountingReportSink();
        long commands = 0;
        for (int i = 0; i < streams; i++)
        {
            int seed = Differential.StreamSeed(baseSeed, i);
            // Every other stream starts the engine with tiny arrays, so its maps and arrays grow mid-stream.
            int capacity = i % 2 == 0 ? 4096 : 1;
            var stream = CommandStreamGenerator.Generate(seed);
            commands += stream.Length;
            string? divergence = Differential.FindDivergence(Markets, stream, capacity, coverage);
            if (divergence is null) continue;

            var shrunk = Differential.Shrink(stream, s => Differential.FindDivergence(Markets, s, capacity) is not null);
            Assert.Fail(string.Create(CultureInfo.InvariantCulture,
                $"""
                Engine and reference model diverge (base seed {baseSeed}: EXH_MODEL_SEED={baseSeed}; stream {i}, seed {seed}, engine capacity {capacity}).
                Stream of {stream.Length} commands shrunk to {shrunk.Length}:
                {Differential.ToSource(shrunk)}
                {Differential.FindDivergence(Markets, shrunk, capacity)}
                """));
        }
        output.WriteLine($"{streams} streams, {commands} commands, base seed {baseSeed}, {coverage.Trades} trades");

        // The streams must really exercise the engine: every report type, cancel reason and every
        // reject reason that bad input can cause.
        foreach (var type in Enum.GetValues<ReportType>()) Assert.True(coverage.Count(type) > 0, $"no {type} report");
        foreach (var reason in Enum.GetValues<CancelReason>())
        {
            if (reason != CancelReason.None) Assert.True(coverage.Count(reason) > 0, $"no {reason.Name()} cancel");
        }
        foreach (var reason in Enum.GetValues<RejectReason>())
        {
            // Overload, internal and duplicate_client_order_id come from the service (gateway, sequencer), never from the matcher.
            if (reason is RejectReason.None or RejectReason.Overload or RejectReason.Internal or RejectReason.DuplicateClientOrderId) continue;
            Assert.True(coverage.Count(reason) > 0, $"no {reason.Name()} reject");
        }
        Assert.Equal(0, coverage.Count(RejectReason.Internal));
    }

    [Fact]
    public void Process_SameStreamTwice_IdenticalReportsAndStateHash()
    {
        int baseSeed = Differential.BaseSeed();
        for (int i = 0; i < 100; i++)
        {
            int seed = Differential.StreamSeed(baseSeed, i);
            var stream = CommandStreamGenerator.Generate(seed);
            var (firstReports, firstHash) = Run(stream, initialOrderCapacity: 4096);
            var (secondReports, secondHash) = Run(stream, initialOrderCapacity: 1);

            string? difference = ReportComparison.CompareSequences(firstReports, secondReports);
            Assert.True(difference is null, $"seed {seed} (EXH_MODEL_SEED={baseSeed}): {difference}");
            Assert.True(firstHash == secondHash, $"seed {seed} (EXH_MODEL_SEED={baseSeed}): state hashes differ");
        }
    }

    [Fact]
    public void Process_RejectedCommand_ChangesNothing()
    {
        int baseSeed = Differential.BaseSeed();
        int rejected = 0;
        for (int i = 0; i < 200; i++)
        {
            int seed = Differential.StreamSeed(baseSeed, i);
            var sink = new CollectingReportSink();
            var engine = new MatchingEngine(Markets, sink);
            foreach (var original in CommandStreamGenerator.Generate(seed))
            {
                var command = original;
                string before = engine.ComputeStateHash();
                long tradeIdBefore = engine.LastTradeId;
                sink.Reports.Clear();
                engine.Process(ref command);
                if (!sink.Reports.Exists(r => r.Type == ReportType.Rejected)) continue;

                rejected++;
                string where = $"seed {seed} (EXH_MODEL_SEED={baseSeed}), command {ReportComparison.ToSource(original)}";
                Assert.True(sink.Reports.Count == 1, $"{where}: a rejected command must produce exactly one report");
                Assert.True(before == engine.ComputeStateHash(), $"{where}: rejected but the state hash changed");
                Assert.Equal(tradeIdBefore, engine.LastTradeId);
            }
        }
        Assert.True(rejected > 1000, $"only {rejected} rejected commands: the generator no longer produces bad input");
    }

    private static (List<ExecutionReport> Reports, string Hash) Run(Command[] stream, int initialOrderCapacity)
    {
        var sink = new CollectingReportSink();
        var engine = new MatchingEngine(Markets, sink, initialOrderCapacity);
        foreach (var original in stream)
        {
            var command = original;
            engine.Process(ref command);
        }
        Assert.Equal(0, engine.InternalErrors);
        return (sink.Reports, engine.ComputeStateHash());
    }
}
