using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Workload;
using ExchangeHealth.TestKit;
using WorkloadData = ExchangeHealth.Engine.Workload.Workload;

namespace ExchangeHealth.Benchmarks;

/// <summary>
/// BenchmarkDotNet view of the matcher's throughput: one operation = one command of the
/// exchange-core-style stream (<see cref="WorkloadGenerator"/> defaults), on a fresh engine with
/// the ~1,000-order pre-fill applied in <c>[IterationSetup]</c>. Baseline column: the reference
/// model (<see cref="ReferenceEngine"/>) on the first <see cref="ReferenceCommands"/> commands; the
/// dictionary calibration for scale. The memory diagnoser shows the allocation per command (must be 0 B).
/// </summary>
/// <remarks>
/// Run: <c>cd bench &amp;&amp; dotnet run -c Release --project ExchangeHealth.Benchmarks -- --filter '*MatcherThroughput*'</c>.
/// In-process toolchain (no generated project) and a short monitoring job: each iteration is one
/// invocation of <see cref="Commands"/> commands, because an engine cannot be re-run on the same
/// stream without resetting it.
/// </remarks>
[MemoryDiagnoser]
[Config(typeof(ShortInProcessConfig))]
public class MatcherThroughputBenchmarks
{
    /// <summary>Commands per invocation.</summary>
    public const int Commands = 1_000_000;

    /// <summary>Commands per invocation of the (slow) reference model.</summary>
    public const int ReferenceCommands = 5_000;

    private ReferenceEngine _model = null!;

    private WorkloadData _workload = null!;
    private MatchingEngine _engine = null!;
    private Dictionary<long, long> _index = null!;
    private readonly CountingSink _sink = new();

    /// <summary>Generates the workload once.</summary>
    [GlobalSetup]
    public void GenerateWorkload() => _workload = WorkloadData.Create(new WorkloadOptions { Seed = 1 }, Commands);

    /// <summary>A fresh engine with the pre-fill applied.</summary>
    [IterationSetup(Target = nameof(Matcher))]
    public void FreshEngine()
    {
        _engine = new MatchingEngine(_workload.Markets, _sink);
        Command[] preFill = _workload.PreFill;
        for (int i = 0; i < preFill.Length; i++) _engine.Process(ref preFill[i]);
    }

    /// <summary>A fresh, pre-sized calibration dictionary with the pre-fill's orders.</summary>
    [IterationSetup(Target = nameof(Calibration))]
    public void FreshIndex()
    {
        _index = new Dictionary<long, long>(_workload.PreFill.Length + _workload.Commands.Length);
        foreach (var c in _workload.PreFill) _index[c.OrderId] = c.Price.Units;
    }

    /// <summary>A fresh reference model with the pre-fill applied.</summary>
    [IterationSetup(Target = nameof(ReferenceModel))]
    public void FreshModel()
    {
        _model = new ReferenceEngine(_workload.Markets);
        foreach (var c in _workload.PreFill) _model.Process(c);
    }

    /// <summary>The reference model on the first <see cref="ReferenceCommands"/> commands of the same stream.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = ReferenceCommands)]
    public long ReferenceModel()
    {
        Command[] commands = _workload.Commands;
        long reports = 0;
        for (int i = 0; i < ReferenceCommands; i++) reports += _model.Process(commands[i]).Count;
        return reports;
    }

    /// <summary>The matcher: every command through <see cref="MatchingEngine.Process"/> with a counting sink.</summary>
    [Benchmark(OperationsPerInvoke = Commands)]
    public long Matcher()
    {
        Command[] commands = _workload.Commands;
        for (int i = 0; i < commands.Length; i++) _engine.Process(ref commands[i]);
        return _sink.Count;
    }

    /// <summary>The calibration baseline (see <see cref="DictionaryCalibrationBaseline"/>): one dictionary operation per command.</summary>
    [Benchmark(OperationsPerInvoke = Commands)]
    public long Calibration() => DictionaryCalibrationBaseline.Process(_index, _workload.Commands);

    /// <summary>In-process, monitoring strategy, 1 invocation per iteration, 3 warm-up and 15 measured iterations.</summary>
    public sealed class ShortInProcessConfig : ManualConfig
    {
        /// <summary>Creates the configuration.</summary>
        public ShortInProcessConfig()
        {
            AddJob(Job.Default
                .WithToolchain(InProcessEmitToolchain.Instance)
                .WithStrategy(RunStrategy.Monitoring)
                .WithInvocationCount(1)
                .WithUnrollFactor(1)
                .WithWarmupCount(3)
                .WithIterationCount(15)
                .WithId("short-inprocess"));
        }
    }
}
