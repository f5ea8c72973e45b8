using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Monitor.Tests.Prometheus;

public class PromDurationTests
{
    [Theory]
    [InlineData("5m", 300_000)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData("250ms", 250)]
    [InlineData("1d", 86_400_000)]
    [InlineData("2w", 1_209_600_000)]
    [InlineData("0s", 0)]
    [InlineData("0", 0)]
    public void Parse_ValidDurations_GivesMilliseconds(string text, long ms) =>
        Assert.Equal(TimeSpan.FromMilliseconds(ms), PromDuration.Parse(text));

    [Theory]
    [InlineData("", "empty")]
    [InlineData("5", "unknown unit")]
    [InlineData("1.5s", "unknown unit")]
    [InlineData("5x", "unknown unit 'x'")]
    [InlineData("30m1h", "largest first")]
    [InlineData("m", "not a duration")]
    public void Parse_Invalid_ExplainsWhy(string text, string reason)
    {
        Assert.False(PromDuration.TryParse(text, out _, out string error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(300_000, "5m")]
    [InlineData(5_400_000, "1h30m")]
    [InlineData(259_200_000, "3d")]
    [InlineData(1_209_600_000, "2w")]
    [InlineData(1_500, "1s500ms")]
    [InlineData(0, "0s")]
    public void Format_MatchesPrometheus(long ms, string expected) =>
        Assert.Equal(expected, PromDuration.Format(TimeSpan.FromMilliseconds(ms)));
}
