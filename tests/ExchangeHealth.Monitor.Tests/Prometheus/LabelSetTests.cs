using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Monitor.Tests.Prometheus;

public class LabelSetTests
{
    [Fact]
    public void Equality_IgnoresOrderAndEmptyValues()
    {
        var a = LabelSet.Of("market", "BTC-USD", "job", "exh");
        var b = LabelSet.Of("job", "exh", "market", "BTC-USD", "instance", "");
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.Equal(a.Fingerprint, b.Fingerprint);
        Assert.NotEqual(a, a.With("market", "ETH-USD"));
    }

    [Fact]
    public void Fingerprint_DistinguishesNameValueBoundaries()
    {
        // {ab="c"} and {a="bc"} must not collide through concatenation.
        Assert.NotEqual(LabelSet.Of("ab", "c").Fingerprint, LabelSet.Of("a", "bc").Fingerprint);
        Assert.Equal(16, LabelSet.Of("a", "b").FingerprintHex.Length);
    }

    [Fact]
    public void MergeWithoutOnly_Work()
    {
        var s = LabelSet.Of("a", "1", "b", "2");
        Assert.Equal(LabelSet.Of("a", "1", "b", "3", "c", "4"), s.Merge(LabelSet.Of("b", "3", "c", "4")));
        Assert.Equal(LabelSet.Of("b", "2"), s.Without("a"));
        Assert.Equal(LabelSet.Of("a", "1"), s.Only(["a", "z"]));
        Assert.Equal("", s["z"]);
        Assert.Equal("{a=\"1\", b=\"2\"}", s.ToString());
        Assert.Equal("{q=\"say \\\"hi\\\"\"}", LabelSet.Of("q", "say \"hi\"").ToString());
    }
}
