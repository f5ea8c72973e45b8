using ExchangeHealth.Engine.Primitives;
using ExchangeHealth.Engine.Replay;

namespace ExchangeHealth.Engine.Tests.Replay;

public sealed class OrderFlowCsvTests
{
    private const string Header = "command,market,account,order_id,side,type,tif,flags,price,quantity,state";

    private static ReplaySummary Replay(string path, out MatchingEngine engine)
    {
        using var source = OrderFlowSources.Open(path);
        var runner = new ReplayRunner(source);
        var summary = runner.Run();
        engine = runner.Engine;
        return summary;
    }

    [Fact]
    public void Replay_ExampleFile_ReplaysCleanly()
    {
        var summary = Replay(ReplayTestData.SampleCsv, out var engine);

        Assert.Equal(OrderFlowFormat.Csv, summary.Format);
        Assert.Null(summary.Error);
        Assert.Equal(23, summary.Commands);
        Assert.Equal(0, summary.Rejected);
        Assert.Equal(6, summary.Trades);
        Assert.Equal(0, summary.InternalErrors);
        Assert.Contains(summary.Expiries, e => e.Key == "fill_or_kill" && e.Value == 1);
        Assert.Contains(summary.Cancels, e => e.Key == "self_trade_prevention" && e.Value == 1);
        var btc = engine.FindBook("BTC/USD")!;
        Assert.Equal(3, btc.OrderCount);
        Assert.True(btc.TryGetOrder(11, out var amended));
        Assert.Equal(new Quantity(1000_0000), amended.Quantity); // 0.1 at quantity scale 8
    }

    [Fact]
    public void Replay_ExampleFileTwice_SameStateHash()
    {
        var a = Replay(ReplayTestData.SampleCsv, out _);
        var b = Replay(ReplayTestData.SampleCsv, out _);
        Assert.Equal(a.StateHash, b.StateHash);
    }

    [Fact]
    public void Replay_ColumnsInAnotherOrder_SameStateHash()
    {
        // Reverse the column order of every header and command line of the example.
        using var dir = new TempDirectory();
        var lines = File.ReadAllLines(ReplayTestData.SampleCsv)
            .Select(l => l.StartsWith('#') ? l : string.Join(",", l.Split(',').Reverse()));
        string path = dir.Write("reversed.csv", string.Join("\n", lines));

        Assert.Equal(Replay(ReplayTestData.SampleCsv, out _).StateHash, Replay(path, out _).StateHash);
    }

    [Theory]
    [InlineData("new,BTC/USD,1,3,buy,limit,gtc,,6o000,0.1,", 9, "price: '6o000' is not a decimal number")]
    [InlineData("new,BTC/USD,1,3,buy,limit,gtc,,60000.000000001,0.1,", 9, "price: '60000.000000001' has more than the market's 8 decimals")]
    [InlineData("new,DOGE/USD,1,3,buy,limit,gtc,,60000,0.1,", 2, "market: 'DOGE/USD' is not in the markets file")]
    [InlineData("replace,BTC/USD,1,3,buy,limit,gtc,,60000,0.1,", 1, "command: 'replace' is not one of new, cancel, amend, cancel_all, set_state")]
    [InlineData("new,BTC/USD,1,3,buy,limit,gtc,,60000,0.1", 0, "expected 11 fields as in the header")]
    [InlineData("new,BTC/USD,1,3,up,limit,gtc,,60000,0.1,", 5, "side: 'up' is neither buy nor sell")]
    [InlineData("new,BTC/USD,1,3,buy,limit,day,,60000,0.1,", 7, "tif: 'day' is not one of gtc, ioc, fok")]
    [InlineData("new,BTC/USD,x,3,buy,limit,gtc,,60000,0.1,", 3, "account: 'x' is not an integer")]
    [InlineData("new,BTC/USD,1,3,buy,limit,gtc,,,0.1,", 9, "price: required for a new limit order, but empty")]
    [InlineData("set_state,BTC/USD,,,,,,,,,paused", 11, "state: 'paused' is not one of")]
    public void Replay_MalformedLine_ErrorNamesFileLineColumnAndKeepsEarlierCommands(string badLine, int column, string expected)
    {
        using var dir = new TempDirectory();
        string path = dir.Write("flow.csv",
            Header + "\n" +
            "new,BTC/USD,1,1,buy,limit,gtc,,59990,0.5,\n" +
            "new,BTC/USD,2,2,sell,limit,gtc,,60010,0.5,\n" +
            badLine + "\n" +
            "new,BTC/USD,3,4,sell,limit,gtc,,60020,0.5,\n");

        var summary = Replay(path, out var engine);

        Assert.NotNull(summary.Error);
        Assert.Equal(path, summary.Error.File);
        Assert.Equal(4, summary.Error.Line);
        Assert.Equal(column, summary.Error.Column);
        Assert.StartsWith(column > 0 ? $"{path}:4:{column}: " : $"{path}:4: ", summary.Error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, summary.Error.Message, StringComparison.Ordinal);
        Assert.Equal(2, summary.Commands);
        Assert.Equal(2, engine.FindBook("BTC/USD")!.OrderCount);
    }

    [Fact]
    public void Replay_OffGridAndOutOfRangeValues_RejectedByTheEngineNotLineErrors()
    {
        using var dir = new TempDirectory();
        string path = dir.Write("flow.csv",
            Header + "\n" +
            "new,BTC/USD,1,1,buy,limit,gtc,,59990.001,0.5,\n" +     // off the 0.01 tick grid
            "new,BTC/USD,1,2,buy,limit,gtc,,59990,0.00001,\n" +     // off the 0.0001 lot grid
            "new,BTC/USD,1,3,buy,limit,gtc,,59990,0,\n" +           // zero quantity
            "new,BTC/USD,1,0,buy,limit,gtc,,59990,1,\n" +           // order id 0
            "cancel,BTC/USD,1,99,,,,,,,\n" +                        // unknown order
            "new,BTC/USD,1,4,buy,market,gtc,,,1,\n");               // market GTC

        var summary = Replay(path, out _);

        Assert.Null(summary.Error);
        Assert.Equal(6, summary.Rejected);
        Assert.Equal(
            new Dictionary<string, long>
            {
                ["price_off_tick_grid"] = 1,
                ["quantity_off_lot_grid"] = 1,
                ["invalid_quantity"] = 1,
                ["invalid_order_id"] = 1,
                ["unknown_order"] = 1,
                ["unsupported_order"] = 1,
            },
            summary.RejectsByReason.ToDictionary(r => r.Key, r => r.Value));
    }

    [Theory]
    [InlineData("command,market,prise", "unknown column 'prise'")]
    [InlineData("market,account", "the header has no 'command' column")]
    [InlineData("command,market,market", "column 'market' appears twice")]
    public void Open_BadHeader_ErrorNamesFileAndLine(string header, string expected)
    {
        using var dir = new TempDirectory();
        string path = dir.Write("flow.csv", "# comment\n" + header + "\n");
        var e = Assert.Throws<ReplayFormatException>(() => new OrderFlowCsvSource(path, MarketsFile.Default()));
        Assert.Equal(2, e.Line);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Replay_TimestampColumn_UnixNanosecondsAndIso8601()
    {
        using var dir = new TempDirectory();
        string path = dir.Write("flow.csv",
            "timestamp,command,market,state\n" +
            "1714570200000000001,set_state,BTC/USD,halted\n" +
            "2024-05-01T13:30:00.5Z,set_state,BTC/USD,online\n" +
            "2024-05-01T15:30:00.123456789+02:00,set_state,BTC/USD,online\n");
        using var source = OrderFlowSources.Open(path);
        var sink = new CollectingReportSink();
        var summary = new ReplayRunner(source, new ReplayOptions { ReportSink = sink }).Run();

        Assert.Null(summary.Error);
        Assert.Equal([1714570200000000001L, 1714570200500000000L, 1714570200123456789L], sink.Reports.Select(r => r.Timestamp));
    }

    [Theory]
    [InlineData("bitfinex-tBTCUSD-R0-book.json", OrderFlowFormat.Bitfinex)]
    [InlineData("lobster-AAPL-2012-06-21-message-10.csv", OrderFlowFormat.Lobster)]
    public void Detect_RealFiles_Format(string name, OrderFlowFormat expected) =>
        Assert.Equal(expected, OrderFlowSources.Detect(Path.Combine(ReplayTestData.DataDirectory, name)));

    [Fact]
    public void Detect_ExampleAndUnknownContent_CsvOrError()
    {
        Assert.Equal(OrderFlowFormat.Csv, OrderFlowSources.Detect(ReplayTestData.SampleCsv));
        using var dir = new TempDirectory();
        string path = dir.Write("what.txt", "hello,world\n");
        var e = Assert.Throws<ReplayFormatException>(() => OrderFlowSources.Detect(path));
        Assert.Contains("--format", e.Message, StringComparison.Ordinal);
    }
}
