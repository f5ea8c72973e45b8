using ExchangeHealth.Engine.Primitives;

namespace ExchangeHealth.Engine.Tests.Core;

public sealed class FixedPointTests
{
    [Theory]
    [InlineData("60940.35136398", 8, 6094035136398L)]
    [InlineData("0.0002", 8, 20000L)]
    [InlineData("1e-05", 8, 1000L)]
    [InlineData("1E-8", 8, 1L)]
    [InlineData("2.5e3", 2, 250000L)]
    [InlineData("-0.24", 8, -24000000L)]
    [InlineData("+7", 0, 7L)]
    [InlineData("60000", 8, 6000000000000L)]
    [InlineData("0.10000000000", 8, 10000000L)]
    [InlineData("0", 18, 0L)]
    [InlineData("92233720368.54775807", 8, long.MaxValue)]
    public void TryParse_ValidText_GivesExactUnits(string text, int scale, long expected)
    {
        Assert.True(FixedPoint.TryParse(text, scale, out long units, out var error), error.ToString());
        Assert.Equal(expected, units);
    }

    [Theory]
    [InlineData("0.123456789", 8, FixedPointError.TooManyDecimals)]
    [InlineData("1e-9", 8, FixedPointError.TooManyDecimals)]
    [InlineData("92233720368.54775808", 8, FixedPointError.Overflow)]
    [InlineData("1e30", 0, FixedPointError.Overflow)]
    [InlineData("abc", 2, FixedPointError.Malformed)]
    [InlineData("", 2, FixedPointError.Malformed)]
    [InlineData("1.2.3", 2, FixedPointError.Malformed)]
    [InlineData("1e", 2, FixedPointError.Malformed)]
    [InlineData("-", 2, FixedPointError.Malformed)]
    [InlineData("1 ", 2, FixedPointError.Malformed)]
    public void TryParse_InvalidText_SaysWhy(string text, int scale, FixedPointError expected)
    {
        Assert.False(FixedPoint.TryParse(text, scale, out _, out var error));
        Assert.Equal(expected, error);
    }

    [Theory]
    [InlineData(6094035136398L, 8, "60940.35136398")]
    [InlineData(20000L, 8, "0.0002")]
    [InlineData(-24000000L, 8, "-0.24")]
    [InlineData(6000000000000L, 8, "60000")]
    [InlineData(long.MinValue, 8, "-92233720368.54775808")]
    [InlineData(5L, 0, "5")]
    public void Format_GivesShortestExactText(long units, int scale, string expected) =>
        Assert.Equal(expected, FixedPoint.Format(units, scale));

    [Fact]
    public void ParseFormat_RoundTrips_ForRandomValues()
    {
        var random = new Random(5);
        for (int i = 0; i < 10_000; i++)
        {
            long units = random.NextInt64(long.MinValue + 1, long.MaxValue);
            int scale = random.Next(0, 19);
            string text = FixedPoint.Format(units, scale);
            Assert.Equal(units, FixedPoint.Parse(text, scale));
        }
    }
}
