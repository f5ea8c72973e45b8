using ExchangeHealth.Alerting.Routing;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Alerting.Tests.Routing;

public class LabelMatcherTests
{
    [Theory]
    [InlineData("alertname=\"EngineDown\"", "alertname", MatcherType.Equal, "EngineDown")]
    [InlineData("severity=~\"page|ticket\"", "severity", MatcherType.Regex, "page|ticket")]
    [InlineData("a!=b", "a", MatcherType.NotEqual, "b")]
    [InlineData("a!~\"x.*\"", "a", MatcherType.NotRegex, "x.*")]
    [InlineData("  market =  BTC-USD  ", "market", MatcherType.Equal, "BTC-USD")]
    [InlineData("a=\"with \\\"quotes\\\" and \\\\ and \\n\"", "a", MatcherType.Equal, "with \"quotes\" and \\ and \n")]
    [InlineData("a=\"\"", "a", MatcherType.Equal, "")]
    [InlineData("a:b=c", "a:b", MatcherType.Equal, "c")]
    [InlineData("a==b", "a", MatcherType.Equal, "=b")]
    public void Parse_AlertmanagerSyntax(string text, string name, MatcherType type, string value)
    {
        var m = LabelMatcher.Parse(text);
        Assert.Equal(name, m.Name);
        Assert.Equal(type, m.Type);
        Assert.Equal(value, m.Value);
        // ToString gives Alertmanager's notation, which parses back to the same matcher.
        Assert.Equal(m, LabelMatcher.Parse(m.ToString()));
    }

    [Theory]
    [InlineData("a", "bad matcher format")]
    [InlineData("1a=b", "bad matcher format")]
    [InlineData("a=\"b", "unescaped double quote")]
    [InlineData("a=b\"c", "unescaped double quote")]
    [InlineData("a=~\"[x\"", "bad regex")]
    [InlineData("a=~\"(?=x)\"", "bad regex")]      // look-ahead: not RE2
    [InlineData("a=~\"(x)\\\\1\"", "bad regex")]    // back-reference: not RE2
    public void Parse_Invalid_SaysWhy(string text, string reason)
    {
        var e = Assert.Throws<FormatException>(() => LabelMatcher.Parse(text));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Regex_IsFullyAnchored_AndGoSyntaxNamedGroupsWork()
    {
        var m = LabelMatcher.Parse("market=~\"BTC|ETH\"");
        Assert.True(m.Matches("BTC"));
        Assert.False(m.Matches("BTC-USD"));
        Assert.False(m.Matches("xETH"));
        // $ in .NET would match before a final newline; Alertmanager's anchoring does not.
        Assert.False(LabelMatcher.Parse("a=~\"abc\"").Matches("abc\n"));
        Assert.True(LabelMatcher.Parse("a=~\"(?P<x>ab)c\"").Matches("abc"));
        Assert.True(LabelMatcher.Parse("a!~\"x.*\"").Matches("yx"));
        Assert.False(LabelMatcher.Parse("a!~\"x.*\"").Matches("xy"));
    }

    [Fact]
    public void AbsentLabel_HasTheEmptyValue()
    {
        var labels = LabelSet.Of("alertname", "X");
        Assert.True(LabelMatcher.Parse("team=\"\"").Matches(labels));
        Assert.True(LabelMatcher.Parse("team!=\"exchange\"").Matches(labels));
        Assert.False(LabelMatcher.Parse("team=~\".+\"").Matches(labels));
        Assert.True(LabelMatcher.Parse("team=~\".*\"").Matches(labels));
    }

    [Fact]
    public void ParseList_BracesCommasInQuotesAndEmpty()
    {
        var list = LabelMatcher.ParseList("{alertname=\"A,B\", severity=~\"page|ticket\",market!=ETH-USD}");
        Assert.Equal(["alertname=\"A,B\"", "severity=~\"page|ticket\"", "market!=\"ETH-USD\""], list.Select(m => m.ToString()));
        Assert.Empty(LabelMatcher.ParseList(""));
        Assert.Empty(LabelMatcher.ParseList("{}"));
        Assert.Single(LabelMatcher.ParseList("a=b,"));
        Assert.Throws<FormatException>(() => LabelMatcher.ParseList("a=b,,c=d"));
        Assert.Equal("{a=\"b\",c=~\"d\"}", LabelMatcher.FormatList(LabelMatcher.ParseList("a=b,c=~d")));
    }

    [Fact]
    public void MatchesAll_EveryMatcherMustMatch()
    {
        var ms = LabelMatcher.ParseList("severity=page,market=~\"BTC-.*\"");
        Assert.True(LabelMatcher.MatchesAll(ms, LabelSet.Of("severity", "page", "market", "BTC-USD")));
        Assert.False(LabelMatcher.MatchesAll(ms, LabelSet.Of("severity", "page", "market", "ETH-USD")));
        Assert.True(LabelMatcher.MatchesAll([], LabelSet.Empty));
    }
}
