namespace ExchangeHealth.Engine.Tests;

public sealed class SmokeTests
{
    [Fact]
    public void DefaultMarkets_Load_ThreeMarkets()
    {
        var markets = MarketsFile.Default();
        Assert.Equal(["BTC/USD", "ETH/USD", "ETH/BTC"], markets.Select(m => m.Symbol));
    }
}
