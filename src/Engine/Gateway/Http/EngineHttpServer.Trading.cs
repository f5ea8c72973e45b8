using System.Diagnostics;
using ExchangeHealth.Engine.Gateway.Protocol;
using ExchangeHealth.Engine.Matching;
using ExchangeHealth.Engine.Primitives;
using ExchangeHealth.Engine.Service;
using Microsoft.AspNetCore.Http;

namespace ExchangeHealth.Engine.Gateway.Http;

// Probes (health, ready, metrics), trading commands and market-data queries.
public sealed partial class EngineHttpServer
{
    private const int DefaultBookDepth = 50;
    private const int DefaultTradeLimit = 100;

    private static readonly Dictionary<string, string> _newOrderFields = new()
    {
        ["market"] = "a market symbol such as \"BTC/USD\" or a market id",
        ["client_order_id"] = $"an integer in 1..{OrderEntryProtocol.MaxClOrdId} (2^40-1)",
        ["side"] = "\"buy\" or \"sell\"",
        ["type"] = "\"limit\" or \"market\"",
        ["time_in_force"] = "\"gtc\", \"ioc\" or \"fok\"",
        ["post_only"] = "true or false",
        ["price"] = "a decimal string such as \"60000.00\"",
        ["quantity"] = "a decimal string such as \"0.01\"",
    };

    private static readonly Dictionary<string, string> _amendFields = new()
    {
        ["price"] = "a decimal string such as \"60000.00\"",
        ["quantity"] = "a decimal string such as \"0.01\"",
    };

    private static readonly Dictionary<string, string> _cancelAllFields = new()
    {
        ["market"] = "a market symbol such as \"BTC/USD\", a market id, or null for every market",
    };

    // ------------------------------------------------------------------ probes

    private Task HealthAsync(HttpContext context)
    {
        if (_engine.Fatal is { } fatal)
        {
            return WriteJsonAsync(context, StatusCodes.Status503ServiceUnavailable,
                new HealthResponse("failed") { Error = $"{fatal.GetType().Name}: {fatal.Message}" }, HttpJsonContext.Api.HealthResponse);
        }
        if (_engine.Stopped.IsCompleted)
            return WriteJsonAsync(context, StatusCodes.Status503ServiceUnavailable, new HealthResponse("stopped"), HttpJsonContext.Api.HealthResponse);
        return WriteJsonAsync(context, StatusCodes.Status200OK, new HealthResponse("alive"), HttpJsonContext.Api.HealthResponse);
    }

    private Task ReadyAsync(HttpContext context)
    {
        var faults = _engine.Faults.Active;
        var names = new string[faults.Count];
        bool journalFault = false;
        for (int i = 0; i < names.Length; i++)
        {
            names[i] = faults[i].Name;
            journalFault |= faults[i].Kind == FaultKind.JournalWriteFailure;
        }
        // While journal_write_failure is active every command would be rejected internal, so the
        // engine is not ready even before a command has failed.
        bool ready = _engine.IsReady && !journalFault;
        var body = new ReadyResponse(ready, _engine.DurableSequence.Value, _engine.QueueDepth, names) { Stopping = _engine.IsStopping };
        return WriteJsonAsync(context, ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable, body, HttpJsonContext.Api.ReadyResponse);
    }

    private async Task MetricsAsync(HttpContext context)
    {
        var writer = _options.MetricsWriter
            ?? throw new HttpApiException(StatusCodes.Status503ServiceUnavailable, new ErrorResponse("metrics_unavailable", "no metrics exporter is configured"));
        using var buffer = new MemoryStream();
        await writer(buffer, context.RequestAborted).ConfigureAwait(false);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = EngineHttpServerOptions.MetricsContentType;
        context.Response.ContentLength = buffer.Length;
        await context.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted).ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ commands

    private async Task PlaceOrderAsync(HttpContext context, ApiKeyEntry account)
    {
        long received = Stopwatch.GetTimestamp();
        byte[] body = await HttpRequestReader.ReadBodyAsync(context, _options.MaxRequestBodyBytes).ConfigureAwait(false);
        var request = HttpRequestReader.Deserialize(body, HttpJsonContext.Api.NewOrderRequest, _newOrderFields)!;

        var market = HttpRequestReader.ResolveMarket(_engine.Markets, request.Market, "market", required: true)!;
        ulong clOrdId = HttpRequestReader.CheckClientOrderId(request.ClientOrderId, "client_order_id");
        var side = request.Side?.ToLowerInvariant() switch
        {
            null => throw HttpApiException.Missing("side"),
            "buy" => Side.Buy,
            "sell" => Side.Sell,
            _ => throw HttpApiException.Invalid("side", $"side must be {_newOrderFields["side"]}"),
        };
        var type = request.Type?.ToLowerInvariant() switch
        {
            null => throw HttpApiException.Missing("type"),
            "limit" => OrderType.Limit,
            "market" => OrderType.Market,
            _ => throw HttpApiException.Invalid("type", $"type must be {_newOrderFields["type"]}"),
        };
        var tif = request.TimeInForce?.ToLowerInvariant() switch
        {
            null => type == OrderType.Limit ? TimeInForce.GoodTillCancel : TimeInForce.ImmediateOrCancel,
            "gtc" => TimeInForce.GoodTillCancel,
            "ioc" => TimeInForce.ImmediateOrCancel,
            "fok" => TimeInForce.FillOrKill,
            _ => throw HttpApiException.Invalid("time_in_force", $"time_in_force must be {_newOrderFields["time_in_force"]}"),
        };
        long price = 0;
        if (type == OrderType.Limit)
        {
            if (request.Price is null) throw HttpApiException.Missing("price");
            price = HttpRequestReader.ParseDecimal(request.Price, market.PriceScale, "price", market);
        }
        else if (request.Price is not null)
        {
            throw HttpApiException.Invalid("price", "price must not be given for a market order");
        }
        if (request.Quantity is null) throw HttpApiException.Missing("quantity");
        long quantity = HttpRequestReader.ParseDecimal(request.Quantity, market.QuantityScale, "quantity", market);

        var command = new Command
        {
            Type = CommandType.NewOrder,
            MarketId = market.Id,
            AccountId = account.AccountId,
            OrderId = OrderEntryProtocol.OrderIdOf(account.AccountId, clOrdId),
            Side = side,
            OrderType = type,
            TimeInForce = tif,
            Flags = request.PostOnly == true ? OrderFlags.PostOnly : OrderFlags.None,
            Price = new Price(price),
            Quantity = new Quantity(quantity),
        };
        // The request's id is the order's own client order id: passed to the engine, not echoed.
        await SubmitAndAnswerAsync(context, command, clOrdId, received, recordAck: true, echoRequestId: false).ConfigureAwait(false);
    }

    private async Task CancelOrderAsync(HttpContext context, ApiKeyEntry account)
    {
        long received = Stopwatch.GetTimestamp();
        var market = HttpRequestReader.ResolveMarket(_engine.Markets, RouteValue(context, "market"), "market");
        ulong clOrdId = HttpRequestReader.ParseClientOrderId(RouteValue(context, "client_order_id"), "client_order_id");
        ulong requestId = HttpRequestReader.QueryClientOrderId(context, "request_id");
        var command = Command.CancelOrder(market.Id, account.AccountId, OrderEntryProtocol.OrderIdOf(account.AccountId, clOrdId));
        await SubmitAndAnswerAsync(context, command, requestId, received, recordAck: true).ConfigureAwait(false);
    }

    private async Task AmendOrderAsync(HttpContext context, ApiKeyEntry account)
    {
        long received = Stopwatch.GetTimestamp();
        var market = HttpRequestReader.ResolveMarket(_engine.Markets, RouteValue(context, "market"), "market");
        ulong clOrdId = HttpRequestReader.ParseClientOrderId(RouteValue(context, "client_order_id"), "client_order_id");
        ulong requestId = HttpRequestReader.QueryClientOrderId(context, "request_id");
        byte[] body = await HttpRequestReader.ReadBodyAsync(context, _options.MaxRequestBodyBytes).ConfigureAwait(false);
        var request = HttpRequestReader.Deserialize(body, HttpJsonContext.Api.AmendRequest, _amendFields)!;
        if (request.Price is null && request.Quantity is null)
            throw HttpApiException.Field("price", "missing_field", "price and/or quantity is required");
        long? price = request.Price is null ? null : HttpRequestReader.ParseDecimal(request.Price, market.PriceScale, "price", market);
        long? quantity = request.Quantity is null ? null : HttpRequestReader.ParseDecimal(request.Quantity, market.QuantityScale, "quantity", market);
        long orderId = OrderEntryProtocol.OrderIdOf(account.AccountId, clOrdId);

        if (price is { } p && quantity is { } q)
        {
            await SubmitAndAnswerAsync(context, Command.AmendOrder(market.Id, account.AccountId, orderId, p, q), requestId, received, recordAck: true)
                .ConfigureAwait(false);
            return;
        }

        // One value omitted: it keeps the order's current value, read on the matcher thread in the
        // same step that queues the amend (see docs/http-api.md for what may run in between).
        var receiver = new HttpCommandReceiver(_engine);
        var status = await QueryEngineAsync(context, engine =>
        {
            long keepPrice = 0, keepQuantity = 0;
            if (engine.FindBook(market.Id) is { } book && book.TryGetOrder(orderId, out var order))
            {
                keepPrice = order.Price.Units;
                keepQuantity = order.Quantity.Units;
            }
            // An order that is not open is sent as it is: the engine answers unknown_order.
            var command = Command.AmendOrder(market.Id, account.AccountId, orderId, price ?? keepPrice, quantity ?? keepQuantity);
            return _engine.Submit(ref command, receiver, requestId, received);
        }).ConfigureAwait(false);
        await AnswerAsync(context, status, receiver, requestId, received, market.Id, recordAck: true).ConfigureAwait(false);
    }

    private async Task CancelAllAsync(HttpContext context, ApiKeyEntry account)
    {
        long received = Stopwatch.GetTimestamp();
        ulong requestId = HttpRequestReader.QueryClientOrderId(context, "request_id");
        byte[] body = await HttpRequestReader.ReadBodyAsync(context, _options.MaxRequestBodyBytes).ConfigureAwait(false);
        var request = HttpRequestReader.Deserialize(body, HttpJsonContext.Api.CancelAllRequest, _cancelAllFields, allowEmpty: true);
        var market = request is null ? null : HttpRequestReader.ResolveMarket(_engine.Markets, request.Market, "market", required: false);
        var command = Command.CancelAllOrders(account.AccountId, market?.Id ?? 0);
        // Ack latency is per market; a cancel-all over every market has none.
        await SubmitAndAnswerAsync(context, command, requestId, received, recordAck: market is not null).ConfigureAwait(false);
    }

    /// <summary>Submits <paramref name="command"/> and answers with all its reports.</summary>
    private Task SubmitAndAnswerAsync(HttpContext context, Command command, ulong requestId, long received, bool recordAck, bool echoRequestId = true)
    {
        var receiver = new HttpCommandReceiver(_engine);
        var status = _engine.Submit(ref command, receiver, requestId, received);
        return AnswerAsync(context, status, receiver, echoRequestId ? requestId : 0, received, command.MarketId, recordAck);
    }

    /// <summary>Maps a refused submit to 503, or waits for the command's reports and writes them (with <c>request_id</c> unless 0).</summary>
    private async Task AnswerAsync(HttpContext context, SubmitStatus status, HttpCommandReceiver receiver, ulong requestId, long received,
        ushort marketId, bool recordAck)
    {
        switch (status)
        {
            case SubmitStatus.Enqueued:
                break;
            case SubmitStatus.Overload:
                throw new HttpApiException(StatusCodes.Status503ServiceUnavailable,
                    new ErrorResponse("overload", "the engine's inbound queue is full; retry later") { RejectReason = RejectReason.Overload.Name() })
                {
                    RetryAfter = "1",
                };
            case SubmitStatus.NotReady:
                throw new HttpApiException(StatusCodes.Status503ServiceUnavailable,
                    new ErrorResponse("not_ready", "the engine is not ready (its journal failed); the command was not taken")
                    {
                        RejectReason = RejectReason.Internal.Name(),
                    });
            default:
                throw ShuttingDown();
        }
        await WaitForEngineAsync(receiver.Completion, context).ConfigureAwait(false);
        var response = HttpReportMapper.ToResponse(receiver, requestId, MarketOf);
        if (recordAck) _engine.Metrics.RecordAckLatency(marketId, received);
        await WriteJsonAsync(context, StatusCodes.Status200OK, response, HttpJsonContext.Api.CommandResponse).ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ queries

    private async Task GetOrderAsync(HttpContext context, ApiKeyEntry account)
    {
        var market = HttpRequestReader.ResolveMarket(_engine.Markets, RouteValue(context, "market"), "market");
        ulong clOrdId = HttpRequestReader.ParseClientOrderId(RouteValue(context, "client_order_id"), "client_order_id");
        long orderId = OrderEntryProtocol.OrderIdOf(account.AccountId, clOrdId);
        var (found, order) = await QueryEngineAsync(context, engine =>
        {
            var book = engine.FindBook(market.Id);
            return book is not null && book.TryGetOrder(orderId, out var o) ? (true, o) : (false, default(RestingOrder));
        }).ConfigureAwait(false);
        if (!found || order.AccountId != account.AccountId)
        {
            throw new HttpApiException(StatusCodes.Status404NotFound, new ErrorResponse("order_not_found",
                $"no open order {clOrdId} in {market.Symbol} (it was filled, cancelled or expired, or never placed)"));
        }
        var json = new OrderJson(market.Symbol, order.OrderId, clOrdId, order.Side.Name(), market.FormatPrice(order.Price.Units),
            market.FormatQuantity(order.Quantity.Units), (order.Flags & OrderFlags.PostOnly) != 0);
        await WriteJsonAsync(context, StatusCodes.Status200OK, json, HttpJsonContext.Api.OrderJson).ConfigureAwait(false);
    }

    private async Task MarketsAsync(HttpContext context, ApiKeyEntry account)
    {
        var live = await QueryEngineAsync(context, engine =>
        {
            var states = new (MarketState State, long Reference, long LastTrade)[_engine.Markets.Count];
            for (int i = 0; i < states.Length; i++)
            {
                var book = engine.FindBook(_engine.Markets[i].Id);
                states[i] = book is null ? (MarketState.Halted, 0, 0) : (book.State, book.ReferencePrice, book.LastTradePrice);
            }
            return states;
        }).ConfigureAwait(false);
        var markets = new MarketJson[_engine.Markets.Count];
        for (int i = 0; i < markets.Length; i++)
        {
            var m = _engine.Markets[i];
            markets[i] = new MarketJson
            {
                Id = m.Id,
                Symbol = m.Symbol,
                State = live[i].State.Name(),
                PriceScale = m.PriceScale,
                QuantityScale = m.QuantityScale,
                TickSize = m.FormatPrice(m.TickSize),
                LotSize = m.FormatQuantity(m.LotSize),
                MinQuantity = m.FormatQuantity(Math.Max(m.MinQuantity, m.LotSize)),
                MaxQuantity = m.FormatQuantity(m.MaxQuantity),
                MaxPrice = m.FormatPrice(m.MaxPrice),
                PriceCollarPercent = m.PriceCollarBasisPoints / 100.0,
                MarketOrderProtectionPercent = m.MarketOrderProtectionBasisPoints / 100.0,
                ReferencePrice = live[i].Reference == 0 ? null : m.FormatPrice(live[i].Reference),
                LastTradePrice = live[i].LastTrade == 0 ? null : m.FormatPrice(live[i].LastTrade),
            };
        }
        await WriteJsonAsync(context, StatusCodes.Status200OK, new MarketsResponse(markets), HttpJsonContext.Api.MarketsResponse).ConfigureAwait(false);
    }

    private async Task BookAsync(HttpContext context, ApiKeyEntry account)
    {
        var market = HttpRequestReader.ResolveMarket(_engine.Markets, RouteValue(context, "market"), "market");
        int depth = HttpRequestReader.QueryInt(context, "depth", DefaultBookDepth, MaxQueryLimit);
        var (state, sequence, bids, asks) = await QueryEngineAsync(context, engine =>
        {
            var book = engine.FindBook(market.Id)!;
            return (book.State, engine.LastSequence.Value, book.Levels(Side.Buy, depth), book.Levels(Side.Sell, depth));
        }).ConfigureAwait(false);
        var response = new BookResponse(market.Symbol, state.Name(), sequence, Levels(market, bids), Levels(market, asks));
        await WriteJsonAsync(context, StatusCodes.Status200OK, response, HttpJsonContext.Api.BookResponse).ConfigureAwait(false);

        static BookLevelJson[] Levels(MarketDefinition m, IReadOnlyList<BookLevel> levels)
        {
            var json = new BookLevelJson[levels.Count];
            for (int i = 0; i < json.Length; i++)
                json[i] = new BookLevelJson(m.FormatPrice(levels[i].Price.Units), m.FormatQuantity(levels[i].Quantity.Units), levels[i].OrderCount);
            return json;
        }
    }

    private async Task TradesAsync(HttpContext context, ApiKeyEntry account)
    {
        var market = HttpRequestReader.ResolveMarket(_engine.Markets, RouteValue(context, "market"), "market");
        int limit = HttpRequestReader.QueryInt(context, "limit", DefaultTradeLimit, MaxQueryLimit);
        Task<TradeRecord[]> task;
        try
        {
            task = _engine.RecentTradesAsync(market.Id, limit, context.RequestAborted);
        }
        catch (InvalidOperationException)
        {
            throw ShuttingDown();
        }
        await WaitForEngineAsync(task, context).ConfigureAwait(false);
        var records = await task.ConfigureAwait(false);
        var trades = new TradeJson[records.Length];
        for (int i = 0; i < trades.Length; i++)
        {
            var t = records[i];
            trades[i] = new TradeJson(t.TradeId, market.FormatPrice(t.Price), market.FormatQuantity(t.Quantity), t.AggressorSide.Name(),
                t.Sequence.Value, HttpReportMapper.FromUnixNanoseconds(t.Timestamp), t.Timestamp);
        }
        await WriteJsonAsync(context, StatusCodes.Status200OK, new TradesResponse(market.Symbol, trades), HttpJsonContext.Api.TradesResponse)
            .ConfigureAwait(false);
    }

    private static string? RouteValue(HttpContext context, string name) => context.Request.RouteValues[name] as string;
}
