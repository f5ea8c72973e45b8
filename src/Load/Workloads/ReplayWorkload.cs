using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Replay;

namespace ExchangeHealth.Load.Workloads;

/// <summary>
/// An order-flow file (Bitfinex, LOBSTER or our CSV, through <see cref="OrderFlowSources"/>) as a
/// load workload. The file's accounts are pinned to connections round-robin in order of first
/// appearance; its order ids become client order ids of the connection's account. Commands are
/// sent at the load's schedule, not at the file's timestamps.
/// </summary>
/// <remarks>
/// Folding many file accounts onto a few connection accounts means self-trade prevention can
/// cancel an order that traded in the original flow; <c>set_state</c> commands are administrative
/// and are skipped (counted).
/// </remarks>
internal sealed class ReplayWorkload : LoadWorkload
{
    private readonly IOrderFlowSource _source;
    private readonly CommandBatch _batch = new();
    private int _position;

    private ReplayWorkload(IOrderFlowSource source, AccountIds[] ids, Dictionary<long, int> accounts)
        : base(new CommandTranslator(ids, account =>
        {
            if (!accounts.TryGetValue(account, out int connection))
            {
                connection = accounts.Count % ids.Length;
                accounts[account] = connection;
            }
            return connection;
        }))
    {
        _source = source;
        Description = $"replay of {source.FileName} ({source.Format.Name()})";
    }

    /// <summary>Opens the file; the caller has checked that its markets are the engine's.</summary>
    public static ReplayWorkload Create(IOrderFlowSource source, AccountIds[] ids) => new(source, ids, []);

    public override string Description { get; }

    public override IReadOnlyList<ReplayCounter> Counters => [.. _source.Counters, .. base.Counters];

    public override bool TryNext(out OutboundCommand command)
    {
        while (true)
        {
            while (_position >= _batch.Count)
            {
                if (!_source.ReadNext(_batch))
                {
                    command = default;
                    return false;
                }
                _position = 0;
            }
            ref Command c = ref _batch[_position++];
            if (Translator.TryTranslate(c, out command)) return true;
        }
    }

    public override void Dispose() => _source.Dispose();
}
