using System.Diagnostics;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Gateway.Protocol;
using ExchangeHealth.Engine.Service;
using ExchangeHealth.Engine.Workload;
using WorkloadData = ExchangeHealth.Engine.Workload.Workload;

namespace ExchangeHealth.Benchmarks;

/// <summary>Options of <see cref="ServiceBench"/>.</summary>
public sealed record ServiceBenchOptions
{
    /// <summary>Steady-state commands per run. Default 1,000,000.</summary>
    public int Commands { get; init; } = 1_000_000;
    /// <summary>Measured rounds; each round runs metrics off and on (order alternating). Default 7.</summary>
    public int Rounds { get; init; } = 7;
    /// <summary>Untimed warm-up rounds. Default 1.</summary>
    public int WarmupRounds { get; init; } = 1;
    /// <summary>Match-latency sampling of the "on" runs (see <see cref="EngineServiceOptions.MatchLatencySampleEvery"/>).</summary>
    public int MatchLatencySampleEvery { get; init; } = new EngineServiceOptions { DataDirectory = "." }.MatchLatencySampleEvery;
    /// <summary>fsync the journal (default false: the benchmark measures the CPU path, not the disk).</summary>
    public bool FlushToDisk { get; init; }
    /// <summary>Workload seed.</summary>
    public long Seed { get; init; } = 1;
}

/// <summary>One round: the same workload with metrics off and on.</summary>
/// <param name="OffCommandsPerSecond">Throughput with <see cref="EngineServiceOptions.MetricsEnabled"/> false and no listener.</param>
/// <param name="OnCommandsPerSecond">Throughput with metrics recorded and the OpenTelemetry SDK listening (as in <c>exh engine</c>).</param>
public sealed record ServiceBenchRound(double OffCommandsPerSecond, double OnCommandsPerSecond)
{
    /// <summary>on / off: 0.97 means metrics cost 3 %.</summary>
    public double Ratio => OnCommandsPerSecond / OffCommandsPerSecond;
}

/// <summary>Result of <see cref="ServiceBench.Run"/>.</summary>
public sealed record ServiceBenchResult(ServiceBenchOptions Options, IReadOnlyList<ServiceBenchRound> Rounds)
{
    /// <summary>Median of the per-round on/off ratios.</summary>
    public double MedianRatio => Stats.Median(Rounds.Select(r => r.Ratio).ToArray());
    /// <summary>Median throughput with metrics off, commands/s.</summary>
    public double MedianOff => Stats.Median(Rounds.Select(r => r.OffCommandsPerSecond).ToArray());
    /// <summary>Median throughput with metrics on, commands/s.</summary>
    public double MedianOn => Stats.Median(Rounds.Select(r => r.OnCommandsPerSecond).ToArray());
}

/// <summary>
/// Throughput of the engine service pipeline (ring → sequencer with journal → matcher → report
/// receivers), in process, with SLI metrics off and on in the same run: the metrics overhead
/// ratio (goal: on/off ≥ 0.97). One producer thread submits a pre-generated exchange-core-style
/// workload as fast as the ring takes it (retrying on <c>overload</c>); a run ends when every
/// command is acknowledged.
/// </summary>
/// <remarks>
/// The machine has 2 cores shared by three busy threads (producer, sequencer, matcher), so each
/// figure is noisy: the off and on runs of a round run back to back, alternating which goes
/// first, and the median of the per-round ratios is reported.
/// </remarks>
public sealed class ServiceBench(ServiceBenchOptions options, Func<IDisposable> startMetricsListener, TextWriter? progress = null)
{
    private readonly TextWriter _log = progress ?? TextWriter.Null;

    /// <summary>Runs the rounds.</summary>
    /// <exception cref="InvalidOperationException">A run did not acknowledge every command.</exception>
    public ServiceBenchResult Run()
    {
        _log.WriteLine($"service bench: generating {options.Commands:N0} commands (seed {options.Seed}) ...");
        var workload = WorkloadData.Create(new WorkloadOptions { Seed = options.Seed }, options.Commands);
        var all = new Command[workload.PreFill.Length + workload.Commands.Length];
        workload.PreFill.CopyTo(all, 0);
        workload.Commands.CopyTo(all, workload.PreFill.Length);
        // Order ids must be unique per account for the resend window; the generator's are unique engine-wide.
        var rounds = new List<ServiceBenchRound>();
        for (int r = 0; r < options.WarmupRounds + options.Rounds; r++)
        {
            bool onFirst = r % 2 == 1;
            double a = RunOnce(all, metrics: onFirst);
            double b = RunOnce(all, metrics: !onFirst);
            var round = onFirst ? new ServiceBenchRound(b, a) : new ServiceBenchRound(a, b);
            bool warm = r < options.WarmupRounds;
            _log.WriteLine($"  {(warm ? "warm-up" : $"round {r - options.WarmupRounds + 1}")}: off {round.OffCommandsPerSecond:N0}/s, on {round.OnCommandsPerSecond:N0}/s, ratio {round.Ratio:F3}");
            if (!warm) rounds.Add(round);
        }
        return new ServiceBenchResult(options, rounds);
    }

    private double RunOnce(Command[] commands, bool metrics)
    {
        string dir = Path.Combine(Path.GetTempPath(), "exh-service-bench-" + Guid.NewGuid().ToString("N"));
        using var listener = metrics ? startMetricsListener() : null;
        var receiver = new AckCounter(commands.Length);
        var service = EngineService.Start(new EngineServiceOptions
        {
            DataDirectory = dir,
            FlushToDisk = options.FlushToDisk,
            MetricsEnabled = metrics,
            MatchLatencySampleEvery = options.MatchLatencySampleEvery,
            SnapshotEveryCommands = 0,
            ClientOrderIdWindow = commands.Length + 1,
        });
        try
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < commands.Length; i++)
            {
                var c = commands[i];
                c.Timestamp = 0;
                while (service.Submit(ref c, receiver, 0, 0) == SubmitStatus.Overload) Thread.SpinWait(50);
            }
            if (!receiver.Done.Wait(TimeSpan.FromMinutes(2)))
                throw new InvalidOperationException($"only {receiver.Count:N0} of {commands.Length:N0} commands were acknowledged");
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            return commands.Length / seconds;
        }
        finally
        {
            service.DisposeAsync().AsTask().GetAwaiter().GetResult();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private sealed class AckCounter(int expected) : IReportReceiver
    {
        public ManualResetEventSlim Done { get; } = new(false);
        public int Count;

        public void OnReport(in ExecutionReport report, ulong requestClOrdId, long receivedTimestamp)
        {
            if (!OrderEntryProtocol.IsAcknowledgement(report)) return;
            if (++Count == expected) Done.Set();
        }
    }
}
