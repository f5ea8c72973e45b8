namespace ExchangeHealth.Engine.Tests.Core;

public sealed class BookQueryTests
{
    private readonly MatchingEngine _engine = new(MarketsFile.Default());
    private const long Tick = 1_000_000;            // 0.01 at scale 8
    private const long Mid = 6_000_000_000_000;     // 60000
    private const long Lot = 10_000;

    private OrderBook Book => _engine.Books[0];

    private void Send(Command c) => _engine.Process(ref c);

    [Fact]
    public void WouldExecute_FollowsTheBestOppositePrice()
    {
        Assert.False(Book.WouldExecute(Side.Buy, new(Mid)));           // empty book
        Send(Command.Limit(1, 1, 1, Side.Sell, Mid, Lot));
        Send(Command.Limit(1, 2, 2, Side.Buy, Mid - 2 * Tick, Lot));

        Assert.True(Book.WouldExecute(Side.Buy, new(Mid)));             // at the best ask
        Assert.False(Book.WouldExecute(Side.Buy, new(Mid - Tick)));
        Assert.True(Book.WouldExecute(Side.Sell, new(Mid - 2 * Tick)));  // at the best bid
        Assert.False(Book.WouldExecute(Side.Sell, new(Mid - Tick)));
    }

    [Fact]
    public void IsFirstInLine_OnlyForTheFrontOrderOfTheBestLevel()
    {
        Send(Command.Limit(1, 1, 1, Side.Sell, Mid, Lot));
        Send(Command.Limit(1, 2, 2, Side.Sell, Mid, Lot));
        Send(Command.Limit(1, 3, 3, Side.Sell, Mid + Tick, Lot));

        Assert.True(Book.IsFirstInLine(1));
        Assert.False(Book.IsFirstInLine(2));   // behind order 1
        Assert.False(Book.IsFirstInLine(3));   // front of a worse level
        Assert.False(Book.IsFirstInLine(99));  // not resting

        Send(Command.CancelOrder(1, 1, 1));
        Assert.True(Book.IsFirstInLine(2));
        Send(Command.AmendOrder(1, 2, 2, Mid, 2 * Lot));   // quantity up: back of the line, still alone
        Assert.True(Book.IsFirstInLine(2));
    }
}
