using System.Diagnostics;
using ExchangeHealth.Engine;
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

    /// <summary>Runs the baseline once over <paramref name="workload"/>'s steady-state commands.</summary>
    /// <returns>The elapsed time of the timed part, in seconds.</returns>
    double RunOnce(WorkloadData workload);
}

/// <summary>
/// Calibration baseline, used until the reference model (<c>ExchangeHealth.TestKit.ReferenceEngine</c>)
/// is available on main: per command, the one hash-map operation a naive order book does on its
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
    public double RunOnce(WorkloadData workload)
    {
        ArgumentNullException.ThrowIfNull(workload);
        var index = new Dictionary<long, long>(workload.PreFill.Length + workload.Commands.Length);
        foreach (var c in workload.PreFill) index[c.OrderId] = c.Price.Units;
        Command[] commands = workload.Commands;
        long start = Stopwatch.GetTimestamp();
        long checksum = Process(index, commands);
        long elapsed = Stopwatch.GetTimestamp() - start;
        _checksum += checksum;
        return (double)elapsed / Stopwatch.Frequency;
    }

    private static long Process(Dictionary<long, long> index, Command[] commands)
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
