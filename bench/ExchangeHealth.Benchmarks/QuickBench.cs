using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Diagnostics;
using ExchangeHealth.Engine.Journal;
using ExchangeHealth.Engine.Workload;
using WorkloadData = ExchangeHealth.Engine.Workload.Workload;

namespace ExchangeHealth.Benchmarks;

/// <summary>
/// The benchmark behind <c>exh bench</c>: a short, self-checking run of the matcher's throughput
/// (one thread, no journal) against baselines measured in the same run (the reference model of
/// the engine semantics, and a BCL-dictionary machine calibration), its steady-state
/// allocation (asserted zero), its open-loop latency at fixed offered rates, the journal's durable
/// throughput with group commit, and the recovery replay speed.
/// </summary>
/// <remarks>
/// <para>
/// Workload: <see cref="WorkloadGenerator"/> with its defaults (exchange-core's mix, 1,000 accounts,
/// 1,000 resting orders, BTC/USD), generated once before anything is timed.
/// </para>
/// <para>
/// Throughput: each run creates a fresh engine with a <see cref="CountingSink"/>, replays the
/// pre-fill untimed, then times the steady-state commands in one loop. <see cref="QuickBenchOptions.WarmupRuns"/>
/// untimed runs come first. Each round runs the matcher then every baseline, so they see the same machine.
/// After each run the report count must equal the generator's, and after the first the state
/// hash must equal the generator's: the engine really did the work.
/// </para>
/// <para>
/// Allocation: <see cref="GC.GetAllocatedBytesForCurrentThread"/> around the timed loop of every
/// measured (post-warm-up) run. Steady state = after the warm-up runs (every code path JIT-compiled
/// and tiered up) and after the pre-fill (the book at its working size; its arrays, pre-sized to
/// 4,096 orders, never grow at ~1,000 resting orders). Any byte allocated there fails the benchmark.
/// </para>
/// <para>
/// Latency (open loop, coordinated omission avoided): command i has intended start
/// <c>t0 + i / rate</c>; the thread spins until then (or starts at once when behind), processes it,
/// and records completion − intended start, so a stall delays and is charged to every command
/// queued behind it, as in a system whose clients do not wait.
/// </para>
/// <para>
/// Journal: <see cref="JournalWriter"/> in a fresh directory, <see cref="JournalWriter.Append"/> per
/// command and <see cref="JournalWriter.Commit"/> (write + fsync) every batch-size commands; one
/// untimed warm-up run per batch size. Recovery: the pre-fill and the stream journaled, then
/// <see cref="EngineRecovery.Recover"/> (no snapshot) into a fresh engine, timed by its replay
/// clock; the recovered state hash must equal the generator's.
/// </para>
/// </remarks>
public sealed class QuickBench
{
    private readonly QuickBenchOptions _options;
    private readonly TextWriter _progress;
    private readonly IReadOnlyList<IThroughputBaseline> _baselines;

    /// <summary>Creates the benchmark.</summary>
    /// <param name="options">What to run (default: the full configuration).</param>
    /// <param name="progress">Where progress lines go (default: nowhere). Never stdout when JSON is wanted there.</param>
    /// <param name="baselines">
    /// The baselines, measured in the same rounds as the matcher; the first is the headline ratio
    /// (default: <see cref="ReferenceModelBaseline"/>, then <see cref="DictionaryCalibrationBaseline"/>).
    /// </param>
    /// <exception cref="ArgumentException">The options are invalid, or no baseline is given.</exception>
    public QuickBench(QuickBenchOptions? options = null, TextWriter? progress = null, IReadOnlyList<IThroughputBaseline>? baselines = null)
    {
        _options = options ?? new QuickBenchOptions();
        string? problem = _options.Validate();
        if (problem is not null) throw new ArgumentException(problem, nameof(options));
        _progress = progress ?? TextWriter.Null;
        _baselines = baselines ?? [new ReferenceModelBaseline(_options.ReferenceCommands), new DictionaryCalibrationBaseline()];
        if (_baselines.Count == 0) throw new ArgumentException("at least one baseline is needed", nameof(baselines));
    }

    /// <summary>Runs everything and returns the figures; the caller decides how to print them.</summary>
    /// <exception cref="InvalidOperationException">The engine did not reproduce the generator's reports or state (a broken benchmark, not a slow one).</exception>
    public QuickBenchResult Run()
    {
        long started = Stopwatch.GetTimestamp();
        var notes = new List<string>();
        MachineInfo machine = DescribeMachine();
        Log($"machine: {machine.CpuModel}, {machine.LogicalCores} cores, {machine.Runtime}, load {machine.LoadAverage1Minute:F2}");

        Log($"generating workload: seed {_options.Seed}, {_options.Commands:N0} commands ...");
        WorkloadData workload = WorkloadData.Create(new WorkloadOptions { Seed = _options.Seed }, _options.Commands);
        WorkloadSummary summary = Summarize(workload);
        Log($"workload: pre-fill {summary.PreFillCommands:N0}, resting {summary.MinRestingOrders}..{summary.MaxRestingOrders}, " +
            $"{summary.PriceLevels} levels, rejects {summary.RejectShare:P3}, trades/cmd {summary.TradesPerCommand:F3}");

        var (throughput, allocation, baseline) = MeasureThroughput(workload);
        var latency = new List<LatencyResult>();
        if (_options.Rates.Count > 0)
        {
            // Untimed: JIT-compiles and tiers up the open-loop driver before any measured rate.
            MeasureLatency(workload, _options.Rates[0], (int)Math.Min(_options.Rates[0] / 10, workload.Commands.Length), log: false);
        }
        foreach (long rate in _options.Rates)
        {
            int count = (int)Math.Min(workload.Commands.Length, Math.Max(1, rate * _options.LatencySeconds));
            latency.Add(MeasureLatency(workload, rate, count, log: true));
        }

        string root = _options.JournalDirectory ?? Path.Combine(Path.GetTempPath(), "exh-bench-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        List<JournalThroughputResult>? journal = null;
        RecoveryReplayResult? recovery = null;
        string? fileSystem = null;
        try
        {
            Directory.CreateDirectory(root);
            fileSystem = FileSystemOf(root);
            journal = MeasureJournal(workload, root);
            recovery = MeasureRecovery(workload, root);
        }
        finally
        {
            if (_options.JournalDirectory is null) TryDelete(root);
        }
        if (fileSystem is "tmpfs" or "ramfs") notes.Add($"the journal directory is on {fileSystem}: fsync costs nothing there, so journal figures are not durable-disk figures");

        double elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return new QuickBenchResult(machine, _options, summary, throughput, allocation, baseline, latency, journal, fileSystem, recovery, notes, elapsed);
    }

    // ------------------------------------------------------------------ throughput and allocation

    private (ThroughputResult, AllocationResult, IReadOnlyList<BaselineResult>) MeasureThroughput(WorkloadData workload)
    {
        var sink = new CountingSink();
        long warmupBytes = 0;
        for (int i = 0; i < _options.WarmupRuns; i++)
        {
            var run = RunMatcher(workload, sink, checkHash: i == 0);
            warmupBytes += run.Bytes;
            foreach (var baseline in _baselines) baseline.RunOnce(workload);
            Log($"warm-up {i + 1}/{_options.WarmupRuns}: {Rate(workload.Commands.Length, run.Seconds)}, allocated {run.Bytes:N0} B");
        }

        var matcherRuns = new List<double>();
        var baselineRuns = new List<double>[_baselines.Count];
        var roundRatios = new List<double>[_baselines.Count];
        for (int b = 0; b < _baselines.Count; b++)
        {
            baselineRuns[b] = [];
            roundRatios[b] = [];
        }
        long bytes = 0;
        long measured = 0;
        for (int i = 0; i < _options.Runs; i++)
        {
            // Matcher and baselines back to back in every round, so each round sees the same machine.
            var run = RunMatcher(workload, sink, checkHash: _options.WarmupRuns == 0 && i == 0);
            bytes += run.Bytes;
            measured += workload.Commands.Length;
            double matcherRate = workload.Commands.Length / run.Seconds;
            matcherRuns.Add(matcherRate);
            var line = new System.Text.StringBuilder($"run {i + 1}/{_options.Runs}: matcher {Format(matcherRate)} cmd/s, allocated {run.Bytes:N0} B");
            for (int b = 0; b < _baselines.Count; b++)
            {
                double baselineRate = _baselines[b].RunOnce(workload).CommandsPerSecond;
                baselineRuns[b].Add(baselineRate);
                roundRatios[b].Add(matcherRate / baselineRate);
                line.Append(CultureInfo.InvariantCulture, $"; {_baselines[b].Name} {Format(baselineRate)} cmd/s (matcher {matcherRate / baselineRate:F2}x)");
            }
            Log(line.ToString());
        }

        var throughput = ThroughputResult.Of(matcherRuns);
        var allocation = new AllocationResult(bytes, measured, warmupBytes,
            $"timed loop of each of the {_options.Runs} measured runs, after {_options.WarmupRuns} warm-up runs (JIT tiering) and after each run's untimed pre-fill of {workload.PreFill.Length} orders (book at working size, no array growth)");
        var baselines = new List<BaselineResult>();
        for (int b = 0; b < _baselines.Count; b++)
        {
            var t = ThroughputResult.Of(baselineRuns[b]);
            baselines.Add(new BaselineResult(_baselines[b].Name, _baselines[b].Description, t, throughput.Median / t.Median, Stats.Median(roundRatios[b])));
        }
        return (throughput, allocation, baselines);
    }

    private static (double Seconds, long Bytes) RunMatcher(WorkloadData workload, CountingSink sink, bool checkHash)
    {
        var engine = Replay(workload, sink);
        sink.Reset();
        Command[] commands = workload.Commands;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long bytesBefore = GC.GetAllocatedBytesForCurrentThread();
        long start = Stopwatch.GetTimestamp();
        ProcessAll(engine, commands);
        long elapsed = Stopwatch.GetTimestamp() - start;
        long bytes = GC.GetAllocatedBytesForCurrentThread() - bytesBefore;
        Verify(workload, engine, sink, checkHash);
        return ((double)elapsed / Stopwatch.Frequency, bytes);
    }

    /// <summary>The measured loop: nothing but the engine.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void ProcessAll(MatchingEngine engine, Command[] commands)
    {
        for (int i = 0; i < commands.Length; i++) engine.Process(ref commands[i]);
    }

    /// <summary>A fresh engine with the pre-fill applied (untimed).</summary>
    private static MatchingEngine Replay(WorkloadData workload, IExecutionReportSink sink)
    {
        var engine = new MatchingEngine(workload.Markets, sink);
        Command[] preFill = workload.PreFill;
        for (int i = 0; i < preFill.Length; i++) engine.Process(ref preFill[i]);
        return engine;
    }

    private static void Verify(WorkloadData workload, MatchingEngine engine, CountingSink sink, bool checkHash)
    {
        if (sink.Count != workload.CommandReports)
            throw new InvalidOperationException($"benchmark engine produced {sink.Count} reports, the generator's engine {workload.CommandReports}");
        if (checkHash && engine.ComputeStateHash() != workload.FinalStateHash)
            throw new InvalidOperationException("benchmark engine ended in a different state from the generator's engine");
    }

    // ------------------------------------------------------------------ latency

    private LatencyResult MeasureLatency(WorkloadData workload, long rate, int count, bool log)
    {
        var sink = new CountingSink();
        var engine = Replay(workload, sink);
        var latency = new LatencyHistogram();
        var service = new LatencyHistogram();
        long lateTicks = (long)(_options.LateThresholdNanoseconds * (double)Stopwatch.Frequency / 1e9);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var (late, elapsedTicks) = RunOpenLoop(engine, workload.Commands, count, rate, lateTicks, latency, service);
        double toMicros = 1e6 / Stopwatch.Frequency;
        double seconds = (double)elapsedTicks / Stopwatch.Frequency;
        var result = new LatencyResult(
            rate, count, seconds, count / seconds,
            latency.ValueAtPercentile(50) * toMicros, latency.ValueAtPercentile(90) * toMicros,
            latency.ValueAtPercentile(99) * toMicros, latency.ValueAtPercentile(99.9) * toMicros,
            latency.ValueAtPercentile(99.99) * toMicros, latency.Max * toMicros, latency.Mean * toMicros, late,
            service.ValueAtPercentile(50) * toMicros, service.ValueAtPercentile(99) * toMicros,
            service.ValueAtPercentile(99.99) * toMicros, service.Max * toMicros);
        if (log) Log($"latency @ {Format(rate)} cmd/s ({count:N0} cmds): p50 {result.P50:F2} µs, p99 {result.P99:F2} µs, " +
            $"p99.99 {result.P9999:F2} µs, max {result.Max:F1} µs, late {result.LateShare:P2}");
        return result;
    }

    /// <summary>
    /// The open-loop driver: command i is due at <c>t0 + i * period</c>; spin until due (or start at
    /// once when behind), process, record completion − due time and completion − actual start
    /// (both in <see cref="Stopwatch"/> ticks).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static (long Late, long ElapsedTicks) RunOpenLoop(MatchingEngine engine, Command[] commands, int count, long rate,
        long lateTicks, LatencyHistogram latency, LatencyHistogram service)
    {
        double period = (double)Stopwatch.Frequency / rate;
        long late = 0;
        long t0 = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 1_000; // 1 ms lead-in
        long now = Stopwatch.GetTimestamp();
        for (int i = 0; i < count; i++)
        {
            long due = t0 + (long)(i * period);
            while (now < due) now = Stopwatch.GetTimestamp();
            if (now - due > lateTicks) late++;
            engine.Process(ref commands[i]);
            long done = Stopwatch.GetTimestamp();
            latency.Record(done - due);
            service.Record(done - now);
            now = done;
        }
        return (late, now - t0);
    }

    // ------------------------------------------------------------------ journal and recovery

    private List<JournalThroughputResult> MeasureJournal(WorkloadData workload, string root)
    {
        int count = Math.Min(_options.JournalCommands, workload.Commands.Length);
        var source = new Command[count];
        Array.Copy(workload.Commands, source, count);
        var batch = new Command[count];
        var results = new List<JournalThroughputResult>();
        int runs = Math.Max(1, Math.Min(_options.Runs, 3));
        foreach (int batchSize in _options.JournalBatchSizes)
        {
            // One untimed warm-up run per batch size, then the timed runs.
            var rates = new List<double>();
            var fsyncRates = new List<double>();
            for (int run = -1; run < runs; run++)
            {
                string directory = Path.Combine(root, $"journal-{batchSize}-{run + 1}");
                Array.Copy(source, batch, count);
                var (seconds, flushes) = AppendAll(directory, batch, batchSize);
                TryDelete(directory);
                if (run < 0) continue;
                rates.Add(count / seconds);
                fsyncRates.Add(flushes / seconds);
                Log($"journal batch {batchSize}, run {run + 1}/{runs}: {Format(count / seconds)} cmd/s durable, {flushes / seconds:F0} fsync/s");
            }
            double median = Stats.Median(rates);
            int at = rates.IndexOf(rates.OrderBy(r => Math.Abs(r - median)).First());
            results.Add(new JournalThroughputResult(batchSize, count, median, fsyncRates[at], rates));
        }
        return results;
    }

    /// <summary>Appends every command and commits (write + fsync) every <paramref name="batchSize"/>; returns seconds and fsyncs.</summary>
    private static (double Seconds, long Flushes) AppendAll(string directory, Command[] commands, int batchSize)
    {
        using var writer = new JournalWriter(directory, new JournalWriterOptions());
        long start = Stopwatch.GetTimestamp();
        int inBatch = 0;
        for (int i = 0; i < commands.Length; i++)
        {
            writer.Append(ref commands[i]);
            if (++inBatch == batchSize)
            {
                writer.Commit();
                inBatch = 0;
            }
        }
        writer.Commit();
        long elapsed = Stopwatch.GetTimestamp() - start;
        return ((double)elapsed / Stopwatch.Frequency, writer.FlushCount);
    }

    private RecoveryReplayResult MeasureRecovery(WorkloadData workload, string root)
    {
        string dataDirectory = Path.Combine(root, "recovery");
        string journalDirectory = EngineRecovery.JournalDirectory(dataDirectory);
        var all = new Command[workload.PreFill.Length + workload.Commands.Length];
        workload.PreFill.CopyTo(all, 0);
        workload.Commands.CopyTo(all, workload.PreFill.Length);
        AppendAll(journalDirectory, all, 4_096);
        long bytes = 0;
        foreach (string file in Directory.EnumerateFiles(journalDirectory)) bytes += new FileInfo(file).Length;

        var rates = new List<double>();
        bool hashesMatch = true;
        int runs = Math.Max(1, Math.Min(_options.Runs, 5));
        for (int run = -1; run < runs; run++)
        {
            var sink = new CountingSink();
            GC.Collect();
            var result = EngineRecovery.Recover(dataDirectory, workload.Markets, new RecoveryOptions { IgnoreSnapshots = true, ReportSink = sink });
            if (result.ReplayedCommands != all.Length)
                throw new InvalidOperationException($"recovery replayed {result.ReplayedCommands} commands, the journal holds {all.Length}");
            hashesMatch &= result.Engine.ComputeStateHash() == workload.FinalStateHash;
            if (run < 0) continue;
            double rate = all.Length / result.ReplayElapsed.TotalSeconds;
            rates.Add(rate);
            Log($"recovery run {run + 1}/{runs}: {Format(rate)} cmd/s replayed ({all.Length:N0} commands, {bytes / 1e6:F0} MB)");
        }
        TryDelete(dataDirectory);
        return new RecoveryReplayResult(all.Length, Stats.Median(rates), rates, hashesMatch, bytes);
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp directory left behind is harmless.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
    }

    /// <summary>The file system type of <paramref name="path"/> from <c>/proc/mounts</c> (longest mount-point prefix), or null.</summary>
    public static string? FileSystemOf(string path)
    {
        if (!File.Exists("/proc/mounts")) return null;
        string full = Path.GetFullPath(path);
        string? best = null;
        int bestLength = -1;
        try
        {
            foreach (string line in File.ReadLines("/proc/mounts"))
            {
                string[] parts = line.Split(' ');
                if (parts.Length < 3) continue;
                string mount = parts[1];
                bool covers = mount == "/" || full == mount || full.StartsWith(mount + "/", StringComparison.Ordinal);
                if (covers && mount.Length > bestLength)
                {
                    best = parts[2];
                    bestLength = mount.Length;
                }
            }
        }
        catch (IOException)
        {
            return null;
        }
        return best;
    }

    // ------------------------------------------------------------------ description

    private WorkloadSummary Summarize(WorkloadData workload)
    {
        WorkloadStats s = workload.Stats;
        var mix = new Dictionary<string, double>();
        foreach (var kind in WorkloadCommandKinds.All) mix[kind.Name()] = s.ShareOf(kind);
        var options = new WorkloadOptions();
        return new WorkloadSummary(
            _options.Seed, options.Accounts, workload.PreFill.Length,
            workload.Commands.Length, s.TargetRestingOrders, s.MinRestingOrders, s.MaxRestingOrders, s.PriceLevels, s.RejectShare,
            s.TradesPerCommand, workload.Commands.Length == 0 ? 0 : (double)workload.CommandReports / workload.Commands.Length, mix);
    }

    /// <summary>Describes this machine: CPU model, cores, memory, OS, runtime, load, timer.</summary>
    public static MachineInfo DescribeMachine()
    {
        string cpu = "unknown";
        double load = -1;
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                foreach (string line in File.ReadLines("/proc/cpuinfo"))
                {
                    if (line.StartsWith("model name", StringComparison.Ordinal))
                    {
                        cpu = line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
                        break;
                    }
                }
            }
            if (File.Exists("/proc/loadavg"))
            {
                string first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
                load = double.Parse(first, CultureInfo.InvariantCulture);
            }
        }
        catch (IOException)
        {
            // Best effort: the description is informative.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
        return new MachineInfo(cpu, Environment.ProcessorCount, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
            RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription, RuntimeInformation.ProcessArchitecture.ToString(),
            load, Stopwatch.Frequency, MeasureTimerRead());
    }

    private static double MeasureTimerRead()
    {
        const int reads = 1_000_000;
        var samples = new List<double>();
        for (int r = 0; r < 5; r++)
        {
            long sum = 0;
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < reads; i++) sum += Stopwatch.GetTimestamp();
            long elapsed = Stopwatch.GetTimestamp() - start;
            GC.KeepAlive(sum);
            samples.Add(elapsed * 1e9 / Stopwatch.Frequency / reads);
        }
        return Stats.Median(samples);
    }

    private void Log(string line) => _progress.WriteLine(line);

    private static string Rate(int commands, double seconds) => $"{Format(commands / seconds)} cmd/s";

    /// <summary>Formats a rate as e.g. <c>4.82M</c> or <c>250K</c>.</summary>
    public static string Format(double rate) => rate switch
    {
        >= 1e6 => (rate / 1e6).ToString("0.##", CultureInfo.InvariantCulture) + "M",
        >= 1e3 => (rate / 1e3).ToString("0.#", CultureInfo.InvariantCulture) + "K",
        _ => rate.ToString("0", CultureInfo.InvariantCulture),
    };
}
