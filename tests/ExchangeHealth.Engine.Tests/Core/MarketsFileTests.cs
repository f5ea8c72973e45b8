namespace ExchangeHealth.Engine.Tests.Core;

public sealed class MarketsFileTests
{
    private const string Valid = """
        markets:
          - id: 7
            symbol: SOL/USD
            price_scale: 4
            quantity_scale: 2
            tick_size: "0.01"
            lot_size: "0.1"
            min_quantity: "0.5"
            max_quantity: "1000"
            price_collar_percent: 7.5
            market_order_protection_percent: 2
            reference_price: "150.25"
            state: limit_only
        """;

    [Fact]
    public void DefaultMarkets_AreTheThreeDocumentedOnes()
    {
        var markets = MarketsFile.Default();
        Assert.Equal(["BTC/USD", "ETH/USD", "ETH/BTC"], markets.Select(m => m.Symbol));
        var btc = markets[0];
        Assert.Equal(1_000_000, btc.TickSize);        // 0.01 at scale 8
        Assert.Equal(10_000, btc.LotSize);            // 0.0001 at scale 8
        Assert.Equal(1000, btc.PriceCollarBasisPoints);
        Assert.Equal(6_000_000_000_000, btc.ReferencePrice);
    }

    [Fact]
    public void Parse_ValidMarket_ConvertsDecimalsExactly()
    {
        var m = Assert.Single(MarketsFile.Parse(Valid, "m.yaml"));
        Assert.Equal((ushort)7, m.Id);
        Assert.Equal(100, m.TickSize);
        Assert.Equal(10, m.LotSize);
        Assert.Equal(50, m.MinQuantity);
        Assert.Equal(100_000, m.MaxQuantity);
        Assert.Equal(750, m.PriceCollarBasisPoints);
        Assert.Equal(200, m.MarketOrderProtectionBasisPoints);
        Assert.Equal(1_502_500, m.ReferencePrice);
        Assert.Equal(MarketState.LimitOnly, m.InitialState);
    }

    [Theory]
    [InlineData("tick_size: \"0.01\"", "tick_size: \"0.00001\"", 6, "tick_size")]          // more decimals than price_scale 4
    [InlineData("lot_size: \"0.1\"", "lot_size: \"-0.1\"", 0, "lot_size")]
    [InlineData("min_quantity: \"0.5\"", "min_quantity: \"0.55\"", 8, "min_quantity")]    // off the lot grid
    [InlineData("state: limit_only", "state: paused", 13, "state")]
    [InlineData("price_collar_percent: 7.5", "price_collar_percent: 120", 10, "price_collar_percent")]
    [InlineData("reference_price: \"150.25\"", "reference_price: \"150.255\"", 12, "reference_price")]
    [InlineData("id: 7", "id: 0", 2, "id")]
    [InlineData("quantity_scale: 2", "quantity_scale: 2\n    colour: red", 6, "unknown field 'colour'")]
    public void Parse_InvalidField_NamesFileLineAndField(string from, string to, int line, string field)
    {
        var e = Assert.Throws<ConfigException>(() => MarketsFile.Parse(Valid.Replace(from, to, StringComparison.Ordinal), "m.yaml"));
        Assert.Equal("m.yaml", e.File);
        if (line > 0) Assert.Equal(line, e.Line);
        Assert.Contains(field, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("m.yaml:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DuplicateIdOrSymbol_NamesBothLines()
    {
        string twice = Valid + "\n" + Valid.Replace("markets:\n", "", StringComparison.Ordinal);
        var e = Assert.Throws<ConfigException>(() => MarketsFile.Parse(twice, "m.yaml"));
        Assert.Contains("already used by the market at line 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_MissingRequiredField_IsAnError()
    {
        var e = Assert.Throws<ConfigException>(() => MarketsFile.Parse(Valid.Replace("    tick_size: \"0.01\"\n", "", StringComparison.Ordinal), "m.yaml"));
        Assert.Contains("missing required field 'tick_size'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BrokenYaml_ReportsLine()
    {
        var e = Assert.Throws<ConfigException>(() => MarketsFile.Parse("markets:\n  - id: 1\n   symbol: [unclosed", "bad.yaml"));
        Assert.True(e.Line >= 2, e.Message);
        Assert.Contains("not valid YAML", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFile_IsConfigException()
    {
        var e = Assert.Throws<ConfigException>(() => MarketsFile.Load("/nonexistent/markets.yaml"));
        Assert.Contains("cannot read", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Engine_RejectsInvalidMarketDefinition()
    {
        var bad = MarketsFile.Default()[0] with { TickSize = 0 };
        Assert.Throws<ArgumentException>(() => new MatchingEngine([bad]));
    }
}

public sealed class QuantityLimitTests
{
    [Fact]
    public void MarketWithoutMaxQuantity_DefaultsToLimit_AndRejectsLargerOrders()
    {
        const string yaml = "markets:\n  - id: 1\n    symbol: X/Y\n    tick_size: \"1\"\n    lot_size: \"0.00000001\"\n";
        var market = Assert.Single(MarketsFile.Parse(yaml, "m.yaml"));
        Assert.Equal(MarketDefinition.QuantityLimit, market.MaxQuantity);

        var reports = new CollectingReportSink();
        var engine = new MatchingEngine([market], reports);
        string before = engine.ComputeStateHash();
        var huge = Command.Limit(1, 1, 1, Side.Buy, 100_000_000, MarketDefinition.QuantityLimit + 1);
        engine.Process(ref huge);

        var report = Assert.Single(reports.Reports);
        Assert.Equal(RejectReason.QuantityAboveMaximum, report.RejectReason);
        Assert.Equal(before, engine.ComputeStateHash());
    }

    [Fact]
    public void ManyMaximumOrdersAtOneLevel_SumWithoutOverflow()
    {
        var market = MarketsFile.Parse("markets:\n  - id: 1\n    symbol: X/Y\n    tick_size: \"1\"\n    lot_size: \"0.00000001\"\n", "m.yaml")[0];
        var engine = new MatchingEngine([market]);
        for (int i = 1; i <= 1000; i++)
        {
            var c = Command.Limit(1, i, i, Side.Sell, 100_000_000, MarketDefinition.QuantityLimit);
            engine.Process(ref c);
        }
        Assert.True(engine.Books[0].TryGetBest(Side.Sell, out var level));
        Assert.Equal(1000 * MarketDefinition.QuantityLimit, level.Quantity.Units);
        Assert.Equal(1000, level.OrderCount);
    }

    [Fact]
    public void MaxQuantityAboveLimit_IsAConfigErrorWithLine()
    {
        var e = Assert.Throws<ConfigException>(() => MarketsFile.Parse(
            "markets:\n  - id: 1\n    symbol: X/Y\n    tick_size: \"1\"\n    lot_size: \"1\"\n    quantity_scale: 0\n    max_quantity: \"9000000000000000\"\n", "m.yaml"));
        Assert.Equal(7, e.Line);
        Assert.Contains("at most 2^47", e.Message, StringComparison.Ordinal);
    }
}
