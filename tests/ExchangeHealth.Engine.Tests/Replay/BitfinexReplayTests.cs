using System.Globalization;
using System.Text.Json;
using ExchangeHealth.Engine.Primitives;
using ExchangeHealth.Engine.Replay;
using Xunit.Abstractions;

namespace ExchangeHealth.Engine.Tests.Replay;

public sealed class BitfinexReplayTests(ITestOutputHelper output)
{
    /// <summary>One feed order as the feed implies it: side, price and amount in units of 1e-8.</summary>
    private readonly record struct FeedOrder(Side Side, long Price, long Quantity);

    /// <summary>
    /// The feed's records in replay order (snapshot entries, then updates), parsed independently of
    /// the replay code: System.Text.Json's DOM and decimal arithmetic.
    /// </summary>
    private static List<(long Id, long Price, long Amount)> ReadFeedIndependently(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var records = new List<(long, long, long)>();
        foreach (var message in doc.RootElement.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Array || message[1].ValueKind != JsonValueKind.Array) continue;
            var body = message[1];
            if (body.GetArrayLength() > 0 && body[0].ValueKind == JsonValueKind.Array)
            {
                foreach (var entry in body.EnumerateArray()) records.Add(Entry(entry));
            }
            else
            {
                records.Add(Entry(body));
            }
        }
        return records;

        static (long, long, long) Entry(JsonElement e) => (e[0].GetInt64(), Units(e[1]), Units(e[2]));

        static long Units(JsonElement number)
        {
            decimal value = decimal.Parse(number.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture) * 100_000_000m;
            Assert.Equal(decimal.Truncate(value), value);
            return (long)value;
        }
    }

    private static void ApplyToFeedBook(Dictionary<long, FeedOrder> book, (long Id, long Price, long Amount) r)
    {
        if (r.Price == 0) book.Remove(r.Id);
        else book[r.Id] = new FeedOrder(r.Amount > 0 ? Side.Buy : Side.Sell, r.Price, Math.Abs(r.Amount));
    }

    private static bool IsCrossed(Dictionary<long, FeedOrder> book)
    {
        long bestBid = long.MinValue, bestAsk = long.MaxValue;
        foreach (var o in book.Values)
        {
            if (o.Side == Side.Buy) bestBid = Math.Max(bestBid, o.Price);
            else bestAsk = Math.Min(bestAsk, o.Price);
        }
        return bestBid >= bestAsk;
    }

    /// <summary>Compares the engine's book with the feed-implied book; returns null when equal, else the first difference.</summary>
    private static string? Difference(OrderBook engineBook, Dictionary<long, FeedOrder> feed)
    {
        if (engineBook.OrderCount != feed.Count) return $"engine holds {engineBook.OrderCount} orders, the feed {feed.Count}";
        foreach (var o in engineBook.RestingOrders())
        {
            if (!feed.TryGetValue(o.OrderId, out var f)) return $"engine order {o.OrderId} is not in the feed's book";
            if (f.Side != o.Side || f.Price != o.Price.Units || f.Quantity != o.Quantity.Units)
                return $"order {o.OrderId}: engine {o.Side} {o.Quantity.Units}@{o.Price.Units}, feed {f.Side} {f.Quantity}@{f.Price}";
        }
        return null;
    }

    [Fact]
    public void Replay_RealFeed_FinalBookEqualsFeedImpliedBook()
    {
        var records = ReadFeedIndependently(ReplayTestData.Bitfinex);
        var feed = new Dictionary<long, FeedOrder>();
        foreach (var r in records) ApplyToFeedBook(feed, r);
        Assert.False(IsCrossed(feed));

        using var source = OrderFlowSources.Open(ReplayTestData.Bitfinex);
        Assert.Equal(OrderFlowFormat.Bitfinex, source.Format);
        var runner = new ReplayRunner(source);
        var summary = runner.Run();
        var book = runner.Engine.FindBook("BTC/USD")!;

        Assert.Null(summary.Error);
        Assert.Equal(records.Count, summary.Records);
        Assert.Null(Difference(book, feed));

        // Level aggregates: price, total quantity and order count per level, both sides.
        foreach (var side in new[] { Side.Buy, Side.Sell })
        {
            var expected = feed.Values.Where(o => o.Side == side)
                .GroupBy(o => o.Price)
                .Select(g => new BookLevel(new Price(g.Key), new Quantity(g.Sum(o => o.Quantity)), g.Count()))
                .OrderBy(l => side == Side.Buy ? -l.Price.Units : l.Price.Units)
                .ToList();
            Assert.Equal(expected, book.Levels(side));
        }

        // Every feed order has its own account (account = order id).
        Assert.All(book.RestingOrders(), o => Assert.Equal(o.OrderId, o.AccountId));

        Assert.Equal(0, summary.Rejected);
        Assert.Equal(0, summary.InternalErrors);
        Assert.True(summary.Trades > 0);
        Assert.Equal(summary.Counter("shrinks_traded"), summary.Trades);
        Assert.True(summary.Counter("deferred") > 0, "the feed's book crosses at times, so some entries must be deferred");
        Assert.Equal(0, summary.Counter("deferred_at_end"));

        output.WriteLine($"records {summary.Records}, commands {summary.Commands}, trades {summary.Trades}, rejects {summary.Rejected}, " +
            $"elapsed {summary.Elapsed.TotalMilliseconds:0} ms, {summary.CommandsPerSecond:0} commands/s ({summary.EngineCommandsPerSecond:0} in the engine)");
        foreach (var c in summary.Counters) output.WriteLine($"  {c.Name} = {c.Value}");
    }

    [Fact]
    public void Replay_RealFeed_BookEqualsFeedAfterEveryUncrossedUpdate()
    {
        var records = ReadFeedIndependently(ReplayTestData.Bitfinex);
        using var source = OrderFlowSources.Open(ReplayTestData.Bitfinex);
        var hook = new FeedCompareHook(records);
        var summary = new ReplayRunner(source, new ReplayOptions { Hook = hook }).Run();

        Assert.Null(summary.Error);
        Assert.Equal(records.Count, hook.Checked + hook.Crossed);
        Assert.Null(hook.FirstDifference);
        output.WriteLine($"{hook.Checked} records compared in full, {hook.Crossed} skipped because the feed's own book was crossed");
        // Measured on this file: the feed's book is crossed (or locked) after 21 updates.
        Assert.Equal(21, hook.Crossed);
    }

    private sealed class FeedCompareHook(List<(long Id, long Price, long Amount)> records) : IReplayHook
    {
        private readonly Dictionary<long, FeedOrder> _feed = [];

        public int Checked { get; private set; }

        public int Crossed { get; private set; }

        public string? FirstDifference { get; private set; }

        public void AfterRecord(long recordNumber, MatchingEngine engine)
        {
            ApplyToFeedBook(_feed, records[(int)recordNumber - 1]);
            if (IsCrossed(_feed))
            {
                Crossed++;
                return;
            }
            Checked++;
            FirstDifference ??= Difference(engine.Books[0], _feed) is { } d ? $"after record {recordNumber}: {d}" : null;
        }
    }

    [Fact]
    public void Replay_SmallFeed_AppliesTranslationRules()
    {
        using var dir = new TempDirectory();
        // Bids 1 (front) and 2 at 100, ask 3 at 101; then: 1 shrinks (a fill), 2 shrinks (not first
        // in line), new bid 4 at 101 crosses ask 3 (deferred), ask 3 moves to 102 (4 is released),
        // 4 is deleted, ask 3 grows, 5 arrives with an exponent amount.
        string path = dir.Write("feed.json", """
            [{"event":"info","version":2},
             {"event":"subscribed","channel":"book","chanId":7,"symbol":"tBTCUSD","prec":"R0"},
             [7,[[1,100,1.0],[2,100,0.5],[3,101,-2]]],
             [7,[1,100,0.4]],
             [7,"hb"],
             [7,[2,100,0.3]],
             [7,[4,101,0.25]],
             [7,[3,102,-2]],
             [7,[4,0,1]],
             [7,[3,102,-2.5]],
             [7,[5,99.5,1.48e-06]]]
            """);
        using var source = OrderFlowSources.Open(path);
        var runner = new ReplayRunner(source);
        var summary = runner.Run();

        Assert.Null(summary.Error);
        Assert.Equal(0, summary.Rejected);
        Assert.Equal(1, summary.Trades);
        Assert.Equal(1, summary.Counter("shrinks_traded"));
        Assert.Equal(1, summary.Counter("shrinks_amended"));
        Assert.Equal(1, summary.Counter("deferred_new"));
        Assert.Equal(1, summary.Counter("deferred_released"));
        Assert.Equal(1, summary.Counter("heartbeats"));
        Assert.Equal(1, summary.Counter("growths"));
        var book = runner.Engine.Books[0];
        Assert.Equal(
            [
                new RestingOrder(1, 1, Side.Buy, new Price(100_0000_0000), new Quantity(4000_0000), OrderFlags.None),
                new RestingOrder(2, 2, Side.Buy, new Price(100_0000_0000), new Quantity(3000_0000), OrderFlags.None),
                new RestingOrder(5, 5, Side.Buy, new Price(99_5000_0000), new Quantity(148), OrderFlags.None),
                new RestingOrder(3, 3, Side.Sell, new Price(102_0000_0000), new Quantity(2_5000_0000), OrderFlags.None),
            ],
            book.RestingOrders());
    }

    [Theory]
    [InlineData("[7,[9,\"abc\",1]]", "price: expected a number")]
    [InlineData("[7,[9,100.123456789,1]]", "price: '100.123456789' is not exact at 8 decimals")]
    [InlineData("[7,[9,100,,1]]", "not valid JSON")]
    [InlineData("[7,[0,100,1]]", "order id 0 is outside")]
    public void Replay_MalformedUpdate_StopsWithFileLineAndKeepsEarlierCommands(string badMessage, string expected)
    {
        using var dir = new TempDirectory();
        string path = dir.Write("bad.json",
            "[{\"event\":\"info\"},{\"event\":\"subscribed\",\"symbol\":\"tBTCUSD\",\"prec\":\"R0\"},\n" +
            "[7,[[1,100,1],[2,101,-1]]],\n" +
            "[7,[3,99,1]],\n" +
            badMessage + ",\n" +
            "[7,[4,98,1]]]\n");
        using var source = OrderFlowSources.Open(path);
        var runner = new ReplayRunner(source);
        var summary = runner.Run();

        Assert.NotNull(summary.Error);
        Assert.Equal(4, summary.Error.Line);
        Assert.StartsWith(path + ":4:", summary.Error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, summary.Error.Message, StringComparison.Ordinal);
        Assert.Equal(3, summary.Commands);
        Assert.Equal(3, runner.Engine.Books[0].OrderCount);
    }

    [Fact]
    public void Replay_SameFileTwice_SameStateHash()
    {
        string Hash()
        {
            using var source = OrderFlowSources.Open(ReplayTestData.Bitfinex);
            return new ReplayRunner(source).Run().StateHash;
        }
        Assert.Equal(Hash(), Hash());
    }

    [Theory]
    [InlineData("tBTCUSD", "BTC/USD")]
    [InlineData("tETHUSD", "ETH/USD")]
    [InlineData("tTESTBTC:TESTUSD", "TESTBTC/TESTUSD")]
    public void MarketSymbol_BitfinexPair_OurSymbol(string pair, string expected) =>
        Assert.Equal(expected, BitfinexRawBookSource.MarketSymbol(pair));
}
