using ExchangeHealth.Engine.Primitives;

namespace ExchangeHealth.Engine.Replay;

/// <summary>
/// A feed translator's view of the engine's book: a private <see cref="MatchingEngine"/> over the
/// replayed market that processes every command the translator emits, at once, so the translator
/// asks "would this cross?" and "is this order first in line?" of the engine's own rules, and sees
/// a rejected command (say, under a replaced market's collar) exactly as the engine does.
/// </summary>
/// <remarks>
/// Prices and quantities are in the market's integer units. The same idea as
/// <see cref="Workload.WorkloadGenerator.ShadowEngine"/>. Not thread-safe.
/// </remarks>
internal sealed class ShadowBook
{
    private readonly MatchingEngine _engine;
    private readonly OrderBook _book;

    public ShadowBook(MarketDefinition market)
    {
        _engine = new MatchingEngine([market]);
        _book = _engine.FindBook(market.Id)!;
    }

    /// <summary>Appends <paramref name="command"/> to <paramref name="batch"/> and applies it to the shadow.</summary>
    public void Emit(CommandBatch batch, in Command command)
    {
        batch.Add(command);
        var copy = command;
        _engine.Process(ref copy);
    }

    /// <summary>Looks up a resting order.</summary>
    public bool TryGet(long id, out RestingOrder order) => _book.TryGetOrder(id, out order);

    /// <summary>Whether order <paramref name="id"/> rests.</summary>
    public bool Contains(long id) => _book.TryGetOrder(id, out _);

    /// <summary>Whether a limit order of <paramref name="side"/> at <paramref name="price"/> would execute on entry.</summary>
    public bool Crosses(Side side, long price) => _book.WouldExecute(side, new Price(price));

    /// <summary>Whether order <paramref name="id"/> is first in line at the best price of its side.</summary>
    public bool IsFrontOfBest(long id) => _book.IsFirstInLine(id);
}
