using System.Diagnostics;
using ExchangeHealth.Engine;
using ExchangeHealth.TestKit;
using WorkloadData = ExchangeHealth.Engine.Workload.Workload;

namespace ExchangeHealth.Benchmarks;

/// <summary>
/// Something measured in the same run as the matcher, over the same commands, so the matcher's
/// speed can be reported as a ratio that a noisy, shared machine disturbs less than an absolute
/// figure (both slow down together).
/// </summary>
public interface IThroughputBaseline
{
    /// <summary>Short name, e.g. <c>calibration.dictionary</c>.</summary>
    string Name { get; }

    /// <summary>One sentence saying what is measured.</summary>
    string Description { get; }

    /// <summary>Runs the baseline once over (a prefix of) <paramref name="workload"/>'s steady-state commands, the pre-fill untimed.</summary>
    /// <returns>The commands timed and the elapsed time of the timed part.</returns>
    BaselineRun RunOnce(WorkloadData workload);
}

/// <summary>One timed baseline run.</summary>
/// <param name="Commands">Commands processed in the timed part.</param>
/// <param name="Seconds">Elapsed seconds of the timed part.</param>
public readonly record struct BaselineRun(int Commands, double Seconds)
{
    /// <summary>Commands per second.</summary>
    public double CommandsPerSecond => Commands / Seconds;
}

/// <summary>
/// The reference model (<see cref="ReferenceEngine"/>, tests/ExchangeHealth.TestKit) as the baseline:
/// the deliberately simple oracle of docs/engine-semantics.md that the differential tests compare
/// the matcher against (one list of orders per market, re-sorted for every priority question, a
/// list of reports per command). "Matcher = N x reference" is the speed bought by the fast book.
/// </summary>
/// <remarks>
/// It is orders of magnitude slower, so it processes only the first <see cref="MaxCommands"/>
/// steady-state commands per run (rates are per command, and the stream is stationary after the
/// pre-fill). The first run checks that it ends in the same state as the matcher on that prefix.
/// </remarks>
/// <param name="maxCommands">Steady-state commands per run (default 20,000).</param>
public sealed class ReferenceModelBaseline(int maxCommands = 20_000) : IThroughputBaseline
{
    private bool _checked;

    /// <summary>Steady-state commands per run.</summary>
    public int MaxCommands { get; } = maxCommands;

    /// <summary>Reports produced in the last run (so the work cannot be optimised away).</summary>
    public long Reports { get; private set; }

    /// <inheritdoc/>
    public string Name => "reference_model";

    /// <inheritdoc/>
    public string Description =>
        "ExchangeHealth.TestKit.ReferenceEngine, the simple oracle of docs/engine-semantics.md (list per market, re-sorted per query), same stream, prefix of " + MaxCommands + " commands per run";

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The model and the matcher disagree on the state after the prefix.</exception>
    public BaselineRun RunOnce(WorkloadData workload)
    {
        ArgumentNullException.ThrowIfNull(workload);
        var model = new ReferenceEngine(workload.Markets);
        foreach (var c in workload.PreFill) model.Process(c);
        int count = Math.Min(MaxCommands, workload.Commands.Length);
        Command[] commands = workload.Commands;
        long reports = 0;
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < count; i++) reports += model.Process(commands[i]).Count;
        long elapsed = Stopwatch.GetTimestamp() - start;
        Reports = reports;
        if (!_checked)
        {
            _checked = true;
            var engine = new MatchingEngine(workload.Markets);
            foreach (var c in workload.PreFill)
            {
                var copy = c;
                engine.Process(ref copy);
            }
            for (int i = 0; i < count; i++)
            {
                var copy = commands[i];
                engine.Process(ref copy);
            }
            if (engine.ComputeStateHash() != model.ComputeStateHash())
                throw new InvalidOperationException("the reference model and the matcher disagree on the book after the benchmark prefix");
        }
        return new BaselineRun(count, (double)elapsed / Stopwatch.Frequency);
    }
}

/// <summary>
/// Calibration baseline: per command, the one hash-map operation a naive order book does on its
/// order index, with the BCL <see cref="Dictionary{TKey, TValue}"/> keyed by order id (new GTC
/// order: insert; IOC/FOK/market order: insert then remove; cancel: remove; amend: update). No
/// matching, no price levels, no reports. It measures how fast this machine does hash work right
/// now; "matcher / calibration" is then a machine-normalised figure.
/// </summary>
public sealed class DictionaryCalibrationBaseline : IThroughputBaseline
{
    private long _checksum;

    /// <inheritdoc/>
    public string Name => "calibration.dictionary";

    /// <inheritdoc/>
    public string Description =>
        "BCL Dictionary<long,long> order index: one insert/remove/update per command of the same stream, no matching (a machine-speed calibration, not an engine)";

    /// <summary>A value derived from the work done, so it cannot be optimised away.</summary>
    public long Checksum => _checksum;

    /// <inheritdoc/>
    public BaselineRun RunOnce(WorkloadData workload)
    {
        ArgumentNullException.ThrowIfNull(workload);
        var index = new Dictionary<long, long>(workload.PreFill.Length + workload.Commands.Length);
        foreach (var c in workload.PreFill) index[c.OrderId] = c.Price.Units;
        Command[] commands = workload.Commands;
        long start = Stopwatch.GetTimestamp();
        long checksum = Process(index, commands);
        long elapsed = Stopwatch.GetTimestamp() - start;
        _checksum += checksum;
        return new BaselineRun(commands.Length, (double)elapsed / Stopwatch.Frequency);
    }

    /// <summary>The calibration loop: one dictionary operation per command; returns a checksum so it is not optimised away.</summary>
    internal static long Process(Dictionary<long, long> index, Command[] commands)
    {
        long checksum = 0;
        for (int i = 0; i < commands.Length; i++)
        {
            ref Command c = ref commands[i];
            switch (c.Type)
            {
                case CommandType.NewOrder:
                    index[c.OrderId] = c.Price.Units;
                    if (c.TimeInForce != TimeInForce.GoodTillCancel) index.Remove(c.OrderId);
                    break;
                case CommandType.Cancel:
                    if (index.Remove(c.OrderId, out long removed)) checksum += removed;
                    break;
                case CommandType.Amend:
                    if (index.ContainsKey(c.OrderId)) index[c.OrderId] = c.Price.Units;
                    break;
                default:
                    break;
            }
        }
        return checksum + index.Count;
    }
}
