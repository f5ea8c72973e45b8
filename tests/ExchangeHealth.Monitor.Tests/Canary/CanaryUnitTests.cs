using System.Net;
using System.Text.Json;
using ExchangeHealth.Cli;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Gateway;
using ExchangeHealth.Engine.Gateway.Protocol;
using ExchangeHealth.Monitor.Canary;

namespace ExchangeHealth.Monitor.Tests.Canary;

/// <summary>The canary's pure parts: probe price, ids, options, endpoints file, market data, command line.</summary>
[Collection(nameof(CanaryCollection))]
public sealed class CanaryUnitTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static MarketDefinition Btc => MarketsFile.Default().Single(m => m.Symbol == "BTC/USD");

    [Fact]
    public void BuyPrice_WithCollar_IsNinetyPercentOfTheWayToTheCollarEdgeOnTheTickGrid()
    {
        long reference = 60_000L * 100_000_000; // 60,000 at scale 8, collar 10 %
        long price = CanaryPricing.BuyPrice(Btc, reference);
        Assert.Equal(54_600L * 100_000_000, price);
        Assert.Equal(0, price % Btc.TickSize);

        // The engine's collar for any reference: the price stays inside it and below the reference.
        foreach (long r in new[] { 1L * Btc.TickSize, 7 * Btc.TickSize, 123_456_789, 3_000_000_000_000, 999_999_999_999_999 })
        {
            long reference2 = r / Btc.TickSize * Btc.TickSize;
            long p = CanaryPricing.BuyPrice(Btc, reference2);
            long offset = reference2 * Btc.PriceCollarBasisPoints / 10_000;
            long collarLow = (reference2 - offset + Btc.TickSize - 1) / Btc.TickSize * Btc.TickSize;
            Assert.InRange(p, Math.Max(collarLow, Btc.TickSize), Math.Max(reference2, Btc.TickSize));
            Assert.Equal(0, p % Btc.TickSize);
        }
    }

    [Fact]
    public void BuyPrice_WithoutCollarOrReference_HalfTheReferenceOrOneTick()
    {
        var noCollar = Btc with { PriceCollarBasisPoints = 0 };
        Assert.Equal(30_000L * 100_000_000, CanaryPricing.BuyPrice(noCollar, 60_000L * 100_000_000));
        Assert.Equal(Btc.TickSize, CanaryPricing.BuyPrice(noCollar, 0));
        Assert.Equal(Btc.TickSize, CanaryPricing.BuyPrice(Btc, 0));
        Assert.Equal(Btc.MinQuantity, CanaryPricing.Quantity(Btc));
        Assert.Equal(Btc.LotSize, CanaryPricing.Quantity(Btc with { MinQuantity = 0 }));
    }

    [Fact]
    public void ClockBasedClOrdIdBase_GrowsWithTimeAndStaysAValidId()
    {
        var t = new DateTimeOffset(2026, 11, 21, 7, 0, 0, TimeSpan.Zero);
        ulong a = CanaryProber.ClockBasedClOrdIdBase(t), b = CanaryProber.ClockBasedClOrdIdBase(t.AddSeconds(1));
        Assert.Equal(1024UL, b - a);
        Assert.True(OrderEntryProtocol.IsValidClOrdId(a));
        Assert.True(OrderEntryProtocol.IsValidClOrdId(CanaryProber.ClockBasedClOrdIdBase(new DateTimeOffset(2059, 1, 1, 0, 0, 0, TimeSpan.Zero))));
        Assert.Equal(1UL, CanaryProber.ClockBasedClOrdIdBase(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void Options_Invalid_NameTheSetting()
    {
        var ok = new CanaryOptions { Markets = MarketsFile.Default(), ResolveTarget = _ => throw new CanaryTargetException("x") };
        Assert.Null(ok.Validate());
        Assert.Contains("markets", (ok with { Markets = [] }).Validate(), StringComparison.Ordinal);
        Assert.Contains("listed twice", (ok with { Markets = [Btc, Btc] }).Validate(), StringComparison.Ordinal);
        Assert.Contains("interval", (ok with { Interval = TimeSpan.Zero }).Validate(), StringComparison.Ordinal);
        Assert.Contains("timeout", (ok with { Timeout = TimeSpan.FromMilliseconds(1) }).Validate(), StringComparison.Ordinal);
        Assert.Contains("cl_ord_id", (ok with { ClOrdIdBase = 0 }).Validate(), StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new CanaryProber(ok with { Markets = [] }));
    }

    [Fact]
    public async Task ProbeOnce_NoEngine_EveryMarketDisconnectedWithTheReason_NeverThrows()
    {
        var lines = new List<string>();
        using var telemetry = CanaryProber.CreateTelemetry();
        await using var prober = new CanaryProber(new CanaryOptions
        {
            Markets = MarketsFile.Default(),
            ResolveTarget = CanaryTargets.FromEngineData(_dir.Path),
            Log = lines.Add,
        });
        var results = await prober.ProbeOnceAsync();
        Assert.All(results, r => Assert.Equal(ProbeOutcomes.Disconnected, r.Outcome));
        Assert.All(results, r => Assert.Contains(EngineEndpoints.FileName, r.Detail, StringComparison.Ordinal));
        Assert.Equal(3, lines.Count(l => l.Contains("probe failed: disconnected", StringComparison.Ordinal)));
        string text = telemetry.Handler.ScrapeToString();
        Assert.Equal(0, Exposition.Value(text, "exh_probe_success{market=\"ETH/BTC\"}"));
        Assert.Equal(1, Exposition.Value(text, "exh_probe_total{market=\"ETH/BTC\",outcome=\"disconnected\"}"));
        Assert.Null(Exposition.Value(text, "exh_probe_latency_seconds_count{market=\"ETH/BTC\"}"));

        // A port nobody listens on: the connection is refused, still a disconnected probe.
        await using var refused = new CanaryProber(new CanaryOptions
        {
            Markets = [Btc],
            ResolveTarget = _ => ValueTask.FromResult(new CanaryTarget(new IPEndPoint(IPAddress.Loopback, 1), "0123456789abcdef0123", null)),
        });
        var r = Assert.Single(await refused.ProbeOnceAsync());
        Assert.Equal(ProbeOutcomes.Disconnected, r.Outcome);
        Assert.Contains("cannot connect", r.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void KeyOf_CredentialsWithoutCanaryKey_SaysHowToAddOne_AndGenerateHasOne()
    {
        string path = _dir.Combine(EngineCredentials.FileName);
        new EngineCredentials(new string('a', 32), [new ApiKeyEntry(new string('b', 40), 1, "trader-1")]).Save(path);
        var e = Assert.Throws<CanaryTargetException>(() => CanaryTargets.KeyOf(path, EngineCredentials.CanaryKeyName));
        Assert.Contains("no API key named 'canary'", e.Message, StringComparison.Ordinal);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);

        var generated = EngineCredentials.Generate(4);
        var canary = generated.FindByName(EngineCredentials.CanaryKeyName);
        Assert.NotNull(canary);
        Assert.Equal(EngineCredentials.CanaryAccountId, canary.AccountId);
        Assert.DoesNotContain(generated.ApiKeys, k => k != canary && k.AccountId == canary.AccountId);
        generated.Save(path);
        Assert.Equal(canary.Key, CanaryTargets.KeyOf(path, EngineCredentials.CanaryKeyName));
    }

    [Fact]
    public void CanaryEndpoints_WriteThenTryRead_RoundTrips_MissingFileNamesIt()
    {
        Assert.False(CanaryEndpoints.TryRead(_dir.Path, out _, out string? problem));
        Assert.Contains(CanaryEndpoints.PathIn(_dir.Path), problem, StringComparison.Ordinal);
        var written = new CanaryEndpoints(4243, new Uri("http://127.0.0.1:7091/metrics"), "engine data /x", new DateTimeOffset(2026, 11, 21, 7, 0, 0, TimeSpan.Zero));
        written.Write(_dir.Path);
        Assert.True(CanaryEndpoints.TryRead(_dir.Path, out var read, out problem), problem);
        Assert.Equal(written, read);
        File.WriteAllText(CanaryEndpoints.PathIn(_dir.Path), "{\"pid\":1}");
        Assert.False(CanaryEndpoints.TryRead(_dir.Path, out _, out problem));
        Assert.Contains("is not a canary endpoints file", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void MarketData_Parse_ReadsReferencePricesAtTheMarketScale_RejectsGarbage()
    {
        var markets = MarketsFile.Default();
        using var doc = JsonDocument.Parse("""
            {"markets":[{"id":1,"symbol":"BTC/USD","state":"online","reference_price":"61000.5"},
                        {"id":3,"symbol":"ETH/BTC","state":"halted"},
                        {"id":9,"symbol":"X/Y","state":"online","reference_price":"1"}]}
            """);
        var live = CanaryMarketData.Parse(doc.RootElement, markets);
        Assert.Equal(2, live.Count);
        Assert.Equal(6_100_050_000_000L, live[1].ReferencePrice);
        Assert.Equal(new LiveMarket(0, "halted"), live[3]);
        using var bad = JsonDocument.Parse("""{"markets":[{"id":1,"state":"online","reference_price":"abc"}]}""");
        Assert.Throws<JsonException>(() => CanaryMarketData.Parse(bad.RootElement, markets));
        using var notMarkets = JsonDocument.Parse("""{"error":"x"}""");
        Assert.Throws<JsonException>(() => CanaryMarketData.Parse(notMarkets.RootElement, markets));
    }

    [Theory]
    [InlineData("--interval", "soon", "--interval 'soon' is not a positive duration")]
    [InlineData("--timeout", "0s", "--timeout '0s' is not a positive duration")]
    [InlineData("--listen", "anywhere", "--listen 'anywhere' is not HOST:PORT")]
    [InlineData("--markets", "DOGE/USD", "--markets: no market 'DOGE/USD'")]
    public void Command_BadArguments_Exit2NamingTheOption(string option, string value, string expected)
    {
        string credentials = _dir.Combine(EngineCredentials.FileName);
        EngineCredentials.Generate().Save(credentials);
        var (code, error) = RunExh("canary", "--credentials", credentials, option, value);
        Assert.Equal(2, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Command_MissingCanaryKeyOrBothTargetModes_Exit2()
    {
        string credentials = _dir.Combine(EngineCredentials.FileName);
        new EngineCredentials(new string('a', 32), [new ApiKeyEntry(new string('b', 40), 1, "trader-1")]).Save(credentials);
        var (code, error) = RunExh("canary", "--credentials", credentials);
        Assert.Equal(2, code);
        Assert.Contains("no API key named 'canary'", error, StringComparison.Ordinal);

        (code, error) = RunExh("canary", "--engine-data", _dir.Path, "--target", "127.0.0.1:7001");
        Assert.Equal(2, code);
        Assert.Contains("either --engine-data", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TrySelectMarkets_IdsAndSymbolsAnyCase_NoneMeansAll()
    {
        var all = MarketsFile.Default();
        Assert.True(CanaryCommand.TrySelectMarkets(all, ["1,eth/btc", "BTC/USD"], out var selected, out _));
        Assert.Equal(["BTC/USD", "ETH/BTC"], selected.Select(m => m.Symbol));
        Assert.True(CanaryCommand.TrySelectMarkets(all, [], out selected, out _));
        Assert.Equal(3, selected.Count);
    }

    /// <summary>Runs <c>exh</c> in-process with standard error captured (safe: the collection does not run in parallel).</summary>
    private static (int Code, string Error) RunExh(params string[] args)
    {
        var oldError = Console.Error;
        using var error = new StringWriter();
        Console.SetError(error);
        try { return (Program.Main(args), error.ToString()); }
        finally { Console.SetError(oldError); }
    }
}
