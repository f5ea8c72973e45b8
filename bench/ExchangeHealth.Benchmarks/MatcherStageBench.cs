using System.Collections.Concurrent;
using System.Diagnostics;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Gateway.Protocol;
using ExchangeHealth.Engine.Primitives;
using ExchangeHealth.Engine.Service;
using ExchangeHealth.Engine.Workload;
using WorkloadData = ExchangeHealth.Engine.Workload.Workload;

namespace ExchangeHealth.Benchmarks;

/// <summary>
/// The matcher thread's own cost of SLI recording: runs the service's real per-slot code
/// (<see cref="MatcherStage"/>: match, count, sample-time, route reports) on one thread over a
/// pre-generated workload, with metrics off and on (the OpenTelemetry SDK listening), in the same
/// rounds. Without the ring hand-offs the figure is not drowned by thread scheduling on 2 cores.
/// </summary>
public sealed class MatcherStageBench(int commands, int rounds, int sampleEvery, Func<IDisposable> startMetricsListener, TextWriter? progress = null)
{
    private readonly TextWriter _log = progress ?? TextWriter.Null;

    /// <summary>Runs one warm-up and <c>rounds</c> measured rounds; returns (off, on) commands/s per round.</summary>
    public IReadOnlyList<ServiceBenchRound> Run()
    {
        var workload = WorkloadData.Create(new WorkloadOptions { Seed = 1 }, commands);
        var all = new Command[workload.PreFill.Length + workload.Commands.Length];
        workload.PreFill.CopyTo(all, 0);
        workload.Commands.CopyTo(all, workload.PreFill.Length);
        var result = new List<ServiceBenchRound>();
        using var listener = startMetricsListener();
        for (int r = 0; r <= rounds; r++)
        {
            bool onFirst = r % 2 == 1;
            double a = RunOnce(all, onFirst), b = RunOnce(all, !onFirst);
            var round = onFirst ? new ServiceBenchRound(b, a) : new ServiceBenchRound(a, b);
            _log.WriteLine($"  matcher stage {(r == 0 ? "warm-up" : $"round {r}")}: off {round.OffCommandsPerSecond:N0}/s, on {round.OnCommandsPerSecond:N0}/s, ratio {round.Ratio:F3}");
            if (r > 0) result.Add(round);
        }
        return result;
    }

    private double RunOnce(Command[] commands, bool metrics)
    {
        var markets = MarketsFile.Default();
        var engine = new MatchingEngine(markets);
        var options = new EngineServiceOptions { DataDirectory = ".", MetricsEnabled = metrics, MatchLatencySampleEvery = sampleEvery };
        using var engineMetrics = new EngineMetrics(markets, new NoGauges());
        var stage = new MatcherStage(engine, engineMetrics, options, new ConcurrentDictionary<long, IReportReceiver[]>());
        var receiver = new AckCounter();
        var slots = new RingSlot[commands.Length];
        for (int i = 0; i < commands.Length; i++)
        {
            slots[i].Command = commands[i];
            slots[i].Command.Sequence = new SequenceNumber(i + 1);
            slots[i].Outcome = SlotOutcome.Journaled;
        }
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < slots.Length; i++)
        {
            slots[i].Origin = receiver;
            stage.Process(ref slots[i], 0);
        }
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        if (receiver.Count != commands.Length) throw new InvalidOperationException($"{receiver.Count} acknowledgements for {commands.Length} commands");
        return commands.Length / seconds;
    }

    private sealed class AckCounter : IReportReceiver
    {
        public int Count;
        public void OnReport(in ExecutionReport report, ulong requestClOrdId, long receivedTimestamp)
        {
            if (OrderEntryProtocol.IsAcknowledgement(report)) Count++;
        }
    }

    private sealed class NoGauges : IEngineGaugeSource
    {
        public long QueueDepth => 0;
        public double HeartbeatUnixSeconds => 0;
        public long DurableSequence => 0;
        public bool IsReady => true;
        public MarketState MarketStateOf(ushort marketId) => MarketState.Online;
        public bool IsFaultActive(FaultKind kind) => false;
    }
}
