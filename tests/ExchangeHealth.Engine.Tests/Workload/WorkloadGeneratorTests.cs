using ExchangeHealth.Engine.Workload;

namespace ExchangeHealth.Engine.Tests.Workload;

public sealed class WorkloadGeneratorTests
{
    private const int Steady = 60_000;

    private static readonly Lazy<ExchangeHealth.Engine.Workload.Workload> _defaultWorkload =
        new(() => ExchangeHealth.Engine.Workload.Workload.Create(new WorkloadOptions { Seed = 7 }, Steady));

    [Fact]
    public void Generate_SameSeed_SameCommands()
    {
        var a = new WorkloadGenerator(new WorkloadOptions { Seed = 42 });
        var b = new WorkloadGenerator(new WorkloadOptions { Seed = 42 });
        Assert.Equal(a.PreFill(), b.PreFill());
        Assert.Equal(a.Generate(20_000), b.Generate(20_000));
        Assert.Equal(a.ShadowEngine.ComputeStateHash(), b.ShadowEngine.ComputeStateHash());
    }

    [Fact]
    public void Generate_DifferentSeed_DifferentCommands()
    {
        var a = new WorkloadGenerator(new WorkloadOptions { Seed = 1 });
        var b = new WorkloadGenerator(new WorkloadOptions { Seed = 2 });
        a.PreFill();
        b.PreFill();
        Assert.NotEqual(a.Generate(1_000), b.Generate(1_000));
    }

    [Fact]
    public void PreFill_Default_ReachesTargetWithPassiveGtcOrdersOverManyLevels()
    {
        var g = new WorkloadGenerator();
        Command[] preFill = g.PreFill();
        Assert.True(g.IsPreFilled);
        Assert.Equal(1_000, g.LiveOrders.Count);
        Assert.Equal(1_000, preFill.Length);
        Assert.All(preFill, c =>
        {
            Assert.Equal(CommandType.NewOrder, c.Type);
            Assert.Equal(OrderType.Limit, c.OrderType);
            Assert.Equal(TimeInForce.GoodTillCancel, c.TimeInForce);
            Assert.Equal((ushort)1, c.MarketId);
        });
        Assert.Equal(0, g.ShadowEngine.LastTradeId);
        OrderBook book = g.ShadowEngine.FindBook(1)!;
        Assert.InRange(book.BidLevelCount + book.AskLevelCount, 500, 1_000);
        Assert.InRange(book.BidLevelCount, 200, 600);
        Assert.Empty(g.PreFill());
    }

    [Fact]
    public void Generate_Default_RejectShareBelowOneTenthOfAPercent()
    {
        WorkloadStats stats = _defaultWorkload.Value.Stats;
        Assert.Equal(0, stats.PreFillRejects);
        Assert.True(stats.RejectShare < 0.001, $"reject share {stats.RejectShare:P3}");
    }

    [Fact]
    public void Generate_Default_RestingOrderCountStaysNearTarget()
    {
        WorkloadStats stats = _defaultWorkload.Value.Stats;
        Assert.Equal(1_000, stats.TargetRestingOrders);
        Assert.InRange(stats.MinRestingOrders, 850, 1_000);
        Assert.InRange(stats.MaxRestingOrders, 1_000, 1_150);
        Assert.InRange(stats.RestingOrders, 850, 1_150);
        Assert.InRange(stats.PriceLevels, 400, 1_000);
    }

    [Fact]
    public void Generate_Default_MixRoughlyAsConfiguredAndSomeCommandsTrade()
    {
        WorkloadStats stats = _defaultWorkload.Value.Stats;
        Assert.Equal(Steady, stats.Commands);
        AssertMix(CommandMix.Default, stats);
        // exchange-core reports about 6 % of commands triggering trades; ours is of the same order.
        Assert.InRange(stats.TradesPerCommand, 0.02, 0.15);
        Assert.True(stats.CrossingGoodTillCancel > 0);
    }

    [Fact]
    public void Generate_CustomMix_ProportionsFollowIt()
    {
        var mix = new CommandMix { GoodTillCancel = 0.3, ImmediateOrCancel = 0.1, FillOrKill = 0.05, Market = 0.05, Cancel = 0.25, Move = 0.2, Reduce = 0.05 };
        var options = new WorkloadOptions { Seed = 3, Mix = mix, RestingOrdersTolerance = 0.5 };
        WorkloadStats stats = ExchangeHealth.Engine.Workload.Workload.Create(options, 40_000).Stats;
        AssertMix(mix, stats);
        Assert.True(stats.RejectShare < 0.001, $"reject share {stats.RejectShare:P3}");
    }

    [Fact]
    public void Replay_FreshEngine_SameStateAndReportCount()
    {
        var workload = _defaultWorkload.Value;
        var sink = new CountingReportSink();
        var engine = new MatchingEngine(workload.Markets, sink);
        foreach (var c in workload.PreFill)
        {
            var copy = c;
            engine.Process(ref copy);
        }
        long preFillReports = sink.Count(ReportType.Accepted);
        for (int i = 0; i < workload.Commands.Length; i++) engine.Process(ref workload.Commands[i]);
        Assert.Equal(workload.FinalStateHash, engine.ComputeStateHash());
        long reports = 0;
        foreach (ReportType t in Enum.GetValues<ReportType>()) reports += sink.Count(t);
        Assert.Equal(workload.PreFillReports + workload.CommandReports, reports);
        Assert.Equal(workload.PreFill.Length, preFillReports);
    }

    [Fact]
    public void LiveOrders_AfterGeneration_MatchTheBook()
    {
        var g = new WorkloadGenerator(new WorkloadOptions { Seed = 11 });
        g.PreFill();
        g.Generate(30_000);
        OrderBook book = g.ShadowEngine.FindBook(1)!;
        Assert.Equal(book.OrderCount, g.LiveOrders.CountOf(1));
        int bids = 0;
        foreach (var o in book.RestingOrders())
        {
            Assert.True(g.LiveOrders.TryGet(1, o.OrderId, out var tracked));
            Assert.Equal(o.AccountId, tracked.AccountId);
            Assert.Equal(o.Side, tracked.Side);
            Assert.Equal(o.Price.Units, tracked.Price);
            Assert.Equal(o.Quantity.Units, tracked.Quantity);
            if (o.Side == Side.Buy) bids++;
        }
        Assert.Equal(bids, g.LiveOrders.CountOf(1, Side.Buy));
    }

    [Fact]
    public void Generate_ThreeMarkets_AllPopulatedOnGridWithoutRejects()
    {
        var options = new WorkloadOptions { Seed = 5, MarketIds = [1, 2, 3], TargetRestingOrders = 900 };
        var g = new WorkloadGenerator(options);
        Command[] preFill = g.PreFill();
        Command[] commands = g.Generate(30_000);
        foreach (ushort id in new ushort[] { 1, 2, 3 })
        {
            Assert.InRange(g.LiveOrders.CountOf(id), 200, 400);
        }
        Assert.Equal(0, g.Stats.Rejects);
        foreach (var c in preFill.Concat(commands))
        {
            MarketDefinition m = g.Markets.First(x => x.Id == c.MarketId);
            if (c.Type is CommandType.NewOrder or CommandType.Amend)
            {
                Assert.Equal(0, c.Quantity.Units % m.LotSize);
                if (c.OrderType == OrderType.Limit || c.Type == CommandType.Amend) Assert.Equal(0, c.Price.Units % m.TickSize);
            }
        }
    }

    [Fact]
    public void Generate_FokAndIocInMix_SomeFokKilledAndSomeIocExpire()
    {
        var g = new WorkloadGenerator(new WorkloadOptions { Seed = 9, Mix = new CommandMix { FillOrKill = 0.2, ImmediateOrCancel = 0.2 } });
        g.PreFill();
        g.Generate(20_000);
        Assert.True(g.LiveOrders.CountOf(ReportType.Expired) > 0);
        Assert.True(g.LiveOrders.Trades > 0);
    }

    [Fact]
    public void Constructor_UnknownMarket_Throws()
    {
        Assert.Throws<ArgumentException>(() => new WorkloadGenerator(new WorkloadOptions { MarketIds = [99] }));
        Assert.Throws<ArgumentException>(() => new WorkloadGenerator(new WorkloadOptions { Accounts = 0 }));
        Assert.Throws<ArgumentException>(() => new WorkloadGenerator(new WorkloadOptions { Mix = new CommandMix { Move = -1 } }));
    }

    [Fact]
    public void WorkloadRandom_SameSeed_SameSequenceAndBoundsRespected()
    {
        var a = new WorkloadRandom(123);
        var b = new WorkloadRandom(123);
        for (int i = 0; i < 1_000; i++)
        {
            int x = a.Next(10);
            Assert.Equal(x, b.Next(10));
            Assert.InRange(x, 0, 9);
            double d = a.NextDouble();
            Assert.Equal(d, b.NextDouble());
            Assert.InRange(d, 0, 0.9999999999);
            Assert.InRange(a.Next(-3, 3), -3, 3);
            b.Next(-3, 3);
        }
        // Pin the algorithm: the same seed must give the same stream on every machine and runtime.
        var pinned = new WorkloadRandom(1);
        Assert.Equal(12966619160104079557UL, pinned.NextUInt64());
        Assert.Equal(9600361134598540522UL, pinned.NextUInt64());
    }

    private static void AssertMix(CommandMix mix, WorkloadStats stats)
    {
        foreach (var kind in WorkloadCommandKinds.All)
        {
            double expected = mix.WeightOf(kind) / mix.Total;
            double actual = stats.ShareOf(kind);
            // Regulation moves a little of the cancel/GTC share; small reductions of one-lot orders become moves.
            double tolerance = 0.01 + 0.5 * expected;
            Assert.True(Math.Abs(actual - expected) <= tolerance, $"{kind.Name()}: {actual:P2} vs configured {expected:P2}");
        }
    }
}
