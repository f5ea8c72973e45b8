using ExchangeHealth.Incidents.Slack;

namespace ExchangeHealth.Incidents.Tests.Slack;

public sealed class SlackChannelNamesTests
{
    // Slack's rules, written independently of the implementation.
    private static void AssertSlackValid(string name)
    {
        Assert.InRange(name.Length, 1, 80);
        Assert.All(name, c => Assert.True(c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_', $"'{c}' in {name}"));
        Assert.False(name.StartsWith('-') || name.EndsWith('-') || name.StartsWith('_') || name.EndsWith('_'), name);
        Assert.DoesNotContain("--", name, StringComparison.Ordinal);
        Assert.DoesNotContain("__", name, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("EngineDown: engine on BTC-USD is down", "inc-42-enginedown-engine-on-btc-usd-is-down")]
    [InlineData("  --Latency SLO (p99 > 5ms)!!  ", "inc-42-latency-slo-p99-5ms")]
    [InlineData("Café crème — déjà vu", "inc-42-cafe-creme-deja-vu")]
    [InlineData("snake_case_title", "inc-42-snake_case_title")]
    [InlineData("a _ b", "inc-42-a-b")]
    [InlineData("订单延迟", "inc-42")]
    [InlineData("", "inc-42")]
    [InlineData("'; DROP TABLE incidents; --", "inc-42-drop-table-incidents")]
    [InlineData("<script>alert(1)</script>", "inc-42-script-alert-1-script")]
    public void Names_follow_the_prefix_id_slug_form(string title, string expected)
    {
        Assert.Equal(expected, SlackChannelNames.ForIncident("inc", 42, title));
        AssertSlackValid(expected);
    }

    [Fact]
    public void Collisions_get_numbered_suffixes()
    {
        Assert.Equal("inc-7-engine-down", SlackChannelNames.ForIncident("inc", 7, "Engine down", 1));
        Assert.Equal("inc-7-engine-down-2", SlackChannelNames.ForIncident("inc", 7, "Engine down", 2));
        Assert.Equal("inc-7-engine-down-3", SlackChannelNames.ForIncident("inc", 7, "Engine down", 3));
        Assert.Equal("inc-7-2", SlackChannelNames.ForIncident("inc", 7, "!!!", 2));
    }

    [Fact]
    public void Long_titles_are_cut_so_the_suffix_still_fits()
    {
        string title = string.Join(' ', Enumerable.Repeat("latency", 40));
        string first = SlackChannelNames.ForIncident("inc", 123456, title);
        string tenth = SlackChannelNames.ForIncident("inc", 123456, title, 10);
        Assert.True(first.Length <= 80);
        Assert.True(tenth.Length <= 80);
        Assert.EndsWith("-10", tenth, StringComparison.Ordinal);
        AssertSlackValid(first);
        AssertSlackValid(tenth);
        Assert.NotEqual(first, tenth);
    }

    [Fact]
    public void Any_title_gives_a_valid_distinct_name_per_attempt()
    {
        // Property-style: many random titles over a hostile alphabet (separators, punctuation,
        // accents, other scripts, emoji halves, control characters), seeded so a failure repeats.
        const string alphabet = "aZ09-_ .,;:!?'\"<>&#@%/\\|()[]{}*+=~`^$\t\n\r\u00e9\u00c9\u00df\u0130\u0131\u00f8\u4e2d\u0416\u2014\u00a0\u200b\ud83d\ude00\u0000\u0301";
        var random = new Random(20261121);
        for (int i = 0; i < 5000; i++)
        {
            int length = random.Next(0, 260);
            var chars = new char[length];
            for (int j = 0; j < length; j++) chars[j] = alphabet[random.Next(alphabet.Length)];
            string title = new(chars);
            long id = random.Next(4) == 0 ? long.MaxValue - random.Next(1000) : random.Next(1, 100_000);
            string prefix = random.Next(3) switch { 0 => "inc", 1 => "incident_x", _ => "i-9" };
            var names = new HashSet<string>(StringComparer.Ordinal);
            for (int attempt = 1; attempt <= 10; attempt++)
            {
                string name = SlackChannelNames.ForIncident(prefix, id, title, attempt);
                AssertSlackValid(name);
                Assert.True(SlackChannelNames.IsValid(name), name);
                Assert.StartsWith(prefix + "-" + id.ToString(System.Globalization.CultureInfo.InvariantCulture), name, StringComparison.Ordinal);
                Assert.True(names.Add(name), $"attempt {attempt} repeated {name} for title '{title}'");
            }
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("-inc")]
    [InlineData("Inc")]
    [InlineData("inc-")]
    [InlineData("in c")]
    [InlineData("averyveryverylongprefix")]
    public void Bad_prefixes_are_refused(string prefix)
    {
        Assert.False(SlackChannelNames.IsValidPrefix(prefix));
        Assert.Throws<ArgumentException>(() => SlackChannelNames.ForIncident(prefix, 1, "x"));
    }

    [Theory]
    [InlineData("inc-1-ok", true)]
    [InlineData("inc--1", false)]
    [InlineData("-inc", false)]
    [InlineData("inc_", false)]
    [InlineData("Inc-1", false)]
    [InlineData("inc 1", false)]
    [InlineData("", false)]
    public void IsValid_applies_the_rules(string name, bool valid) => Assert.Equal(valid, SlackChannelNames.IsValid(name));
}
