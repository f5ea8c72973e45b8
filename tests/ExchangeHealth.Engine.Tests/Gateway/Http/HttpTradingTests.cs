using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using ExchangeHealth.Engine.Service;
using static ExchangeHealth.Engine.Tests.Gateway.Http.HttpApiHarness;

namespace ExchangeHealth.Engine.Tests.Gateway.Http;

/// <summary>Trading commands and market-data queries through a real Kestrel server and engine.</summary>
public sealed class HttpTradingTests : IAsyncLifetime
{
    private HttpApiHarness _h = null!;

    public async Task InitializeAsync() => _h = await StartAsync();

    public async Task DisposeAsync() => await _h.DisposeAsync();

    /// <summary>Asserts a report equals <paramref name="expected"/> exactly, apart from its timestamps (which must be present).</summary>
    internal static void AssertReport(JsonElement actual, string expected)
    {
        var node = JsonNode.Parse(actual.GetRawText())!.AsObject();
        Assert.True(node.Remove("timestamp_ns", out var ns) && ns!.GetValue<long>() > 0, "timestamp_ns missing: " + actual);
        Assert.True(node.Remove("timestamp", out var ts) && DateTimeOffset.TryParse(ts!.GetValue<string>(), out _), "timestamp missing: " + actual);
        var want = JsonNode.Parse(expected)!;
        Assert.True(JsonNode.DeepEquals(node, want), $"expected {want.ToJsonString()}\nactual   {node.ToJsonString()}");
    }

    [Fact]
    public async Task PlaceOrder_RestingLimit_AnswersAcceptedWithExactReport()
    {
        var a = await _h.SendAsync(HttpMethod.Post, "/api/v1/orders",
            """{"market":"BTC/USD","client_order_id":123,"side":"buy","type":"limit","time_in_force":"gtc","post_only":false,"price":"60000.00","quantity":"0.01"}""");

        Assert.Equal(HttpStatusCode.OK, a.Status);
        Assert.Equal("application/json; charset=utf-8", a.ContentHeaders.ContentType!.ToString());
        Assert.Equal(1, a.Json.GetProperty("sequence").GetInt64());
        Assert.Equal("accepted", a.Str("status"));
        Assert.False(a.Json.TryGetProperty("reject_reason", out _));
        Assert.False(a.Json.TryGetProperty("request_id", out _));
        var r = Assert.Single(a.Reports);
        AssertReport(r, $$"""
            {"type":"accepted","command":"new_order","market":"BTC/USD","market_id":1,"order_id":{{OrderId(1, 123)}},"client_order_id":123,
             "side":"buy","price":"60000","quantity":"0.01","leaves_quantity":"0.01","sequence":1}
            """);

        var order = await _h.GetAsync("/api/v1/orders/BTC-USD/123");
        Assert.Equal(HttpStatusCode.OK, order.Status);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(order.Text), JsonNode.Parse($$"""
            {"market":"BTC/USD","order_id":{{OrderId(1, 123)}},"client_order_id":123,"side":"buy","price":"60000","open_quantity":"0.01","post_only":false}
            """)), order.Text);
    }

    [Fact]
    public async Task PlaceOrder_CrossingIoc_ReportsFillAndExpiryAndTheTrade()
    {
        Assert.Equal("accepted", (await _h.PlaceAsync(1, "sell", "60000", "0.01")).Str("status"));

        var a = await _h.PlaceAsync(7, "buy", "60001", "0.015", apiKey: Key2, tif: "ioc");

        Assert.Equal(HttpStatusCode.OK, a.Status);
        Assert.Equal("accepted", a.Str("status"));
        Assert.Equal(2, a.Json.GetProperty("sequence").GetInt64());
        var reports = a.Reports;
        Assert.Equal(3, reports.Length);
        AssertReport(reports[0], $$"""
            {"type":"accepted","command":"new_order","market":"BTC/USD","market_id":1,"order_id":{{OrderId(2, 7)}},"client_order_id":7,
             "side":"buy","price":"60001","quantity":"0.015","leaves_quantity":"0.015","sequence":2}
            """);
        AssertReport(reports[1], $$"""
            {"type":"fill","command":"new_order","market":"BTC/USD","market_id":1,"order_id":{{OrderId(2, 7)}},"client_order_id":7,
             "side":"buy","price":"60000","quantity":"0.01","leaves_quantity":"0.005","trade_id":1,"counter_order_id":{{OrderId(1, 1)}},
             "liquidity":"taker","sequence":2}
            """);
        AssertReport(reports[2], $$"""
            {"type":"expired","command":"new_order","market":"BTC/USD","market_id":1,"order_id":{{OrderId(2, 7)}},"client_order_id":7,
             "side":"buy","price":"60001","quantity":"0.005","leaves_quantity":"0","cancel_reason":"immediate_or_cancel","sequence":2}
            """);

        var trades = await _h.GetAsync("/api/v1/trades/BTC-USD?limit=10");
        Assert.Equal(HttpStatusCode.OK, trades.Status);
        Assert.Equal("BTC/USD", trades.Str("market"));
        var t = Assert.Single(trades.Json.GetProperty("trades").EnumerateArray());
        Assert.Equal(1, t.GetProperty("trade_id").GetInt64());
        Assert.Equal("60000", t.GetProperty("price").GetString());
        Assert.Equal("0.01", t.GetProperty("quantity").GetString());
        Assert.Equal("buy", t.GetProperty("aggressor_side").GetString());
        Assert.Equal(2, t.GetProperty("sequence").GetInt64());
        Assert.Equal(reports[1].GetProperty("timestamp_ns").GetInt64(), t.GetProperty("timestamp_ns").GetInt64());

        // The maker is gone from the book; the lookup says so.
        Assert.Equal(HttpStatusCode.NotFound, (await _h.GetAsync("/api/v1/orders/BTC-USD/1")).Status);
        var book = await _h.GetAsync("/api/v1/book/1");
        Assert.Empty(book.Json.GetProperty("bids").EnumerateArray());
        Assert.Empty(book.Json.GetProperty("asks").EnumerateArray());
    }

    [Fact]
    public async Task PlaceOrder_MarketOrderWithoutLiquidity_AcceptedThenExpiredNoLiquidity()
    {
        var a = await _h.SendAsync(HttpMethod.Post, "/api/v1/orders",
            """{"market":2,"client_order_id":5,"side":"sell","type":"market","quantity":"1.5"}""");

        Assert.Equal("accepted", a.Str("status"));
        Assert.Equal(2, a.Reports.Length);
        AssertReport(a.Reports[0], $$"""
            {"type":"accepted","command":"new_order","market":"ETH/USD","market_id":2,"order_id":{{OrderId(1, 5)}},"client_order_id":5,
             "side":"sell","quantity":"1.5","leaves_quantity":"1.5","sequence":1}
            """);
        AssertReport(a.Reports[1], $$"""
            {"type":"expired","command":"new_order","market":"ETH/USD","market_id":2,"order_id":{{OrderId(1, 5)}},"client_order_id":5,
             "side":"sell","quantity":"1.5","leaves_quantity":"0","cancel_reason":"no_liquidity","sequence":1}
            """);
    }

    [Fact]
    public async Task PlaceOrder_EngineValidation_AnswersRejectedWithReason()
    {
        var offTick = await _h.PlaceAsync(1, "buy", "60000.005", "0.01");
        Assert.Equal(HttpStatusCode.OK, offTick.Status);
        Assert.Equal("rejected", offTick.Str("status"));
        Assert.Equal("price_off_tick_grid", offTick.Str("reject_reason"));
        AssertReport(Assert.Single(offTick.Reports), $$"""
            {"type":"rejected","command":"new_order","market":"BTC/USD","market_id":1,"order_id":{{OrderId(1, 1)}},"client_order_id":1,
             "side":"buy","price":"60000.005","quantity":"0.01","reject_reason":"price_off_tick_grid","sequence":1}
            """);

        Assert.Equal("accepted", (await _h.PlaceAsync(2, "buy", "60000", "0.01")).Str("status"));
        var resend = await _h.PlaceAsync(2, "buy", "60000", "0.01");
        Assert.Equal("rejected", resend.Str("status"));
        Assert.Equal("duplicate_client_order_id", resend.Str("reject_reason"));

        var postOnly = await _h.PlaceAsync(3, "sell", "59000", "0.01", apiKey: Key2, postOnly: true);
        Assert.Equal("post_only_would_take", postOnly.Str("reject_reason"));
    }

    [Fact]
    public async Task Cancel_RestingOrder_AnswersCancelledThenUnknownOrder()
    {
        await _h.PlaceAsync(5, "sell", "61000", "0.25");

        var a = await _h.SendAsync(HttpMethod.Delete, "/api/v1/orders/BTC%2FUSD/5?request_id=77");

        Assert.Equal(HttpStatusCode.OK, a.Status);
        Assert.Equal("cancelled", a.Str("status"));
        Assert.Equal(77UL, a.Json.GetProperty("request_id").GetUInt64());
        Assert.Equal(2, a.Json.GetProperty("sequence").GetInt64());
        AssertReport(Assert.Single(a.Reports), $$"""
            {"type":"cancelled","command":"cancel","market":"BTC/USD","market_id":1,"order_id":{{OrderId(1, 5)}},"client_order_id":5,
             "side":"sell","price":"61000","quantity":"0.25","leaves_quantity":"0","cancel_reason":"requested","sequence":2}
            """);

        var again = await _h.SendAsync(HttpMethod.Delete, "/api/v1/orders/btc-usd/5");
        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.Equal("rejected", again.Str("status"));
        Assert.Equal("unknown_order", again.Str("reject_reason"));
        AssertReport(Assert.Single(again.Reports), $$"""
            {"type":"rejected","command":"cancel","market":"BTC/USD","market_id":1,"order_id":{{OrderId(1, 5)}},"client_order_id":5,
             "reject_reason":"unknown_order","sequence":3}
            """);
    }

    [Fact]
    public async Task Cancel_OtherAccountsOrder_IsNotReachable()
    {
        await _h.PlaceAsync(5, "sell", "61000", "0.25");
        // Account 2's client order id 5 is a different order: account 1's order stays.
        var a = await _h.SendAsync(HttpMethod.Delete, "/api/v1/orders/BTC-USD/5", apiKey: Key2);
        Assert.Equal("unknown_order", a.Str("reject_reason"));
        Assert.Equal(HttpStatusCode.OK, (await _h.GetAsync("/api/v1/orders/BTC-USD/5")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await _h.GetAsync("/api/v1/orders/BTC-USD/5", Key2)).Status);
    }

    [Fact]
    public async Task Amend_PriceAndOrQuantity_KeepsTheOmittedValue()
    {
        await _h.PlaceAsync(9, "buy", "60000", "0.01");

        var both = await _h.SendAsync(HttpMethod.Patch, "/api/v1/orders/BTC-USD/9", """{"price":"60000.50","quantity":"0.02"}""");
        Assert.Equal(HttpStatusCode.OK, both.Status);
        Assert.Equal("amended", both.Str("status"));
        AssertReport(Assert.Single(both.Reports), $$"""
            {"type":"amended","command":"amend","market":"BTC/USD","market_id":1,"order_id":{{OrderId(1, 9)}},"client_order_id":9,
             "side":"buy","price":"60000.5","quantity":"0.02","leaves_quantity":"0.02","sequence":2}
            """);

        var quantityOnly = await _h.SendAsync(HttpMethod.Patch, "/api/v1/orders/BTC-USD/9", """{"quantity":"0.005"}""");
        Assert.Equal("60000.5", quantityOnly.Reports[0].GetProperty("price").GetString());
        Assert.Equal("0.005", quantityOnly.Reports[0].GetProperty("quantity").GetString());

        var priceOnly = await _h.SendAsync(HttpMethod.Patch, "/api/v1/orders/BTC-USD/9?request_id=3", """{"price":"59999"}""");
        Assert.Equal("amended", priceOnly.Str("status"));
        Assert.Equal(3UL, priceOnly.Json.GetProperty("request_id").GetUInt64());
        Assert.Equal("59999", priceOnly.Reports[0].GetProperty("price").GetString());
        Assert.Equal("0.005", priceOnly.Reports[0].GetProperty("quantity").GetString());

        var order = await _h.GetAsync("/api/v1/orders/BTC-USD/9");
        Assert.Equal("59999", order.Str("price"));
        Assert.Equal("0.005", order.Str("open_quantity"));

        var same = await _h.SendAsync(HttpMethod.Patch, "/api/v1/orders/BTC-USD/9", """{"price":"59999"}""");
        Assert.Equal("nothing_to_amend", same.Str("reject_reason"));

        var gone = await _h.SendAsync(HttpMethod.Patch, "/api/v1/orders/BTC-USD/10", """{"price":"59999"}""");
        Assert.Equal(HttpStatusCode.OK, gone.Status);
        Assert.Equal("unknown_order", gone.Str("reject_reason"));
    }

    [Fact]
    public async Task Amend_ThatCrosses_ReportsAmendedThenFill()
    {
        await _h.PlaceAsync(1, "sell", "60010", "0.01", apiKey: Key2);
        await _h.PlaceAsync(2, "buy", "60000", "0.02");

        var a = await _h.SendAsync(HttpMethod.Patch, "/api/v1/orders/BTC-USD/2", """{"price":"60010"}""");

        Assert.Equal("amended", a.Str("status"));
        Assert.Equal(2, a.Reports.Length);
        Assert.Equal("amended", a.Reports[0].GetProperty("type").GetString());
        AssertReport(a.Reports[1], $$"""
            {"type":"fill","command":"amend","market":"BTC/USD","market_id":1,"order_id":{{OrderId(1, 2)}},"client_order_id":2,
             "side":"buy","price":"60010","quantity":"0.01","leaves_quantity":"0.01","trade_id":1,"counter_order_id":{{OrderId(2, 1)}},
             "liquidity":"taker","sequence":3}
            """);
    }

    [Fact]
    public async Task CancelAll_OneMarketThenEveryMarket_ReportsEachCancelAndTheCount()
    {
        await _h.PlaceAsync(1, "buy", "59000", "0.01");
        await _h.PlaceAsync(2, "buy", "59001", "0.02");
        await _h.PlaceAsync(3, "sell", "3100", "1", market: "ETH/USD");
        await _h.PlaceAsync(4, "sell", "61000", "0.01", apiKey: Key2);

        var a = await _h.SendAsync(HttpMethod.Post, "/api/v1/cancel-all?request_id=50", """{"market":"BTC/USD"}""");

        Assert.Equal(HttpStatusCode.OK, a.Status);
        Assert.Equal("cancel_all_done", a.Str("status"));
        Assert.Equal(50UL, a.Json.GetProperty("request_id").GetUInt64());
        var reports = a.Reports;
        Assert.Equal(3, reports.Length);
        AssertReport(reports[0], $$"""
            {"type":"cancelled","command":"cancel_all","market":"BTC/USD","market_id":1,"order_id":{{OrderId(1, 2)}},"client_order_id":2,
             "side":"buy","price":"59001","quantity":"0.02","leaves_quantity":"0","cancel_reason":"cancel_all","sequence":5}
            """);
        Assert.Equal(OrderId(1, 1), reports[1].GetProperty("order_id").GetInt64());
        AssertReport(reports[2], """
            {"type":"cancel_all_done","command":"cancel_all","market":"BTC/USD","market_id":1,"orders_cancelled":2,"sequence":5}
            """);

        var all = await _h.SendAsync(HttpMethod.Post, "/api/v1/cancel-all", "");
        Assert.Equal("cancel_all_done", all.Str("status"));
        Assert.Equal(2, all.Reports.Length);
        Assert.Equal("ETH/USD", all.Reports[0].GetProperty("market").GetString());
        AssertReport(all.Reports[1], """{"type":"cancel_all_done","command":"cancel_all","orders_cancelled":1,"sequence":6}""");

        // Account 2's order is untouched.
        Assert.Equal(HttpStatusCode.OK, (await _h.GetAsync("/api/v1/orders/BTC-USD/4", Key2)).Status);
        var none = await _h.SendAsync(HttpMethod.Post, "/api/v1/cancel-all", """{"market":null}""");
        Assert.Equal(0, none.Reports[^1].GetProperty("orders_cancelled").GetInt64());
    }

    [Fact]
    public async Task Book_AggregatesLevelsBestFirstAndHonoursDepth()
    {
        await _h.PlaceAsync(1, "buy", "59990", "0.01");
        await _h.PlaceAsync(2, "buy", "59990", "0.02", apiKey: Key2);
        await _h.PlaceAsync(3, "buy", "59980.5", "0.1");
        await _h.PlaceAsync(4, "sell", "60010", "0.3", apiKey: Key2);

        var book = await _h.GetAsync("/api/v1/book/BTC-USD");
        Assert.Equal(HttpStatusCode.OK, book.Status);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(book.Text), JsonNode.Parse("""
            {"market":"BTC/USD","state":"online","sequence":4,
             "bids":[{"price":"59990","quantity":"0.03","orders":2},{"price":"59980.5","quantity":"0.1","orders":1}],
             "asks":[{"price":"60010","quantity":"0.3","orders":1}]}
            """)), book.Text);

        var top = await _h.GetAsync("/api/v1/book/BTC%2FUSD?depth=1");
        Assert.Single(top.Json.GetProperty("bids").EnumerateArray());
        Assert.Equal("59990", top.Json.GetProperty("bids")[0].GetProperty("price").GetString());
    }

    [Fact]
    public async Task Markets_ListsEveryMarketWithStateAndGrid()
    {
        var a = await _h.GetAsync("/api/v1/markets");

        Assert.Equal(HttpStatusCode.OK, a.Status);
        var markets = a.Json.GetProperty("markets").EnumerateArray().ToList();
        Assert.Equal(["BTC/USD", "ETH/USD", "ETH/BTC"], markets.Select(m => m.GetProperty("symbol").GetString()));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(markets[0].GetRawText()), JsonNode.Parse("""
            {"id":1,"symbol":"BTC/USD","state":"online","price_scale":8,"quantity_scale":8,"tick_size":"0.01","lot_size":"0.0001",
             "min_quantity":"0.0001","max_quantity":"100","max_price":"10000000","price_collar_percent":10,
             "market_order_protection_percent":5,"reference_price":"60000"}
            """)), markets[0].GetRawText());
    }

    [Fact]
    public async Task Trades_LimitKeepsTheNewest()
    {
        await _h.PlaceAsync(1, "sell", "60000", "0.03", apiKey: Key2);
        for (ulong i = 1; i <= 3; i++) await _h.PlaceAsync(10 + i, "buy", "60000", "0.01");

        var a = await _h.GetAsync("/api/v1/trades/BTC-USD?limit=2");

        Assert.Equal([2L, 3L], a.Json.GetProperty("trades").EnumerateArray().Select(t => t.GetProperty("trade_id").GetInt64()));
        Assert.Empty((await _h.GetAsync("/api/v1/trades/ETH-BTC")).Json.GetProperty("trades").EnumerateArray());
    }

    [Fact]
    public async Task PlaceOrder_RecordsAckLatencyForTheMarket()
    {
        var seen = new List<(double Seconds, string? Market)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, _h.Engine.Metrics.Meter) && instrument.Name == EngineMetrics.AckLatencyInstrument)
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            string? market = null;
            foreach (var t in tags) if (t.Key == "market") market = t.Value as string;
            lock (seen) seen.Add((value, market));
        });
        listener.Start();

        await _h.PlaceAsync(1, "buy", "60000", "0.01");
        await _h.SendAsync(HttpMethod.Post, "/api/v1/orders", """{"market":"BTC/USD","side":"buy"}"""); // 400: not a command, not recorded

        lock (seen)
        {
            var (seconds, market) = Assert.Single(seen);
            Assert.Equal("BTC/USD", market);
            Assert.InRange(seconds, 0, 5);
        }
    }
}
