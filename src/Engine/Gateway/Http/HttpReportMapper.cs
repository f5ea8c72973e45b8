using System.Globalization;
using ExchangeHealth.Engine.Gateway.Protocol;

namespace ExchangeHealth.Engine.Gateway.Http;

/// <summary>Turns engine reports and enums into their JSON shapes: snake_case names, decimal-string prices and quantities.</summary>
internal static class HttpReportMapper
{
    public static string Name(this ReportType type) => type switch
    {
        ReportType.Accepted => "accepted",
        ReportType.Rejected => "rejected",
        ReportType.Fill => "fill",
        ReportType.Cancelled => "cancelled",
        ReportType.Amended => "amended",
        ReportType.Expired => "expired",
        ReportType.MarketStateChanged => "market_state_changed",
        ReportType.CancelAllDone => "cancel_all_done",
        _ => "unknown",
    };

    public static string Name(this CommandType type) => type switch
    {
        CommandType.NewOrder => "new_order",
        CommandType.Cancel => "cancel",
        CommandType.Amend => "amend",
        CommandType.CancelAll => "cancel_all",
        CommandType.SetMarketState => "set_market_state",
        _ => "unknown",
    };

    public static string Name(this Side side) => side switch
    {
        Side.Buy => "buy",
        Side.Sell => "sell",
        _ => "unknown",
    };

    public static string Name(this Liquidity liquidity) => liquidity switch
    {
        Liquidity.Maker => "maker",
        Liquidity.Taker => "taker",
        _ => "none",
    };

    /// <summary>A Unix-nanosecond timestamp as a UTC <see cref="DateTimeOffset"/> (100 ns resolution).</summary>
    public static DateTimeOffset FromUnixNanoseconds(long nanoseconds) =>
        DateTimeOffset.UnixEpoch.AddTicks(nanoseconds / 100);

    /// <summary>The whole response to a finished command.</summary>
    public static CommandResponse ToResponse(HttpCommandReceiver receiver, ulong requestId, Func<ushort, MarketDefinition?> market)
    {
        var ack = receiver.Acknowledgement;
        var reports = new ReportJson[receiver.Reports.Count];
        for (int i = 0; i < reports.Length; i++)
        {
            var r = receiver.Reports[i];
            reports[i] = ToJson(r, market(r.MarketId));
        }
        return new CommandResponse
        {
            Sequence = ack.Sequence.Value,
            Status = ack.Type.Name(),
            Reports = reports,
            RejectReason = ack.Type == ReportType.Rejected ? ack.RejectReason.Name() : null,
            RequestId = requestId == 0 ? null : requestId,
        };
    }

    /// <summary>One report; members that do not apply to its type stay null (left out of the JSON).</summary>
    public static ReportJson ToJson(in ExecutionReport r, MarketDefinition? m)
    {
        var json = new ReportJson
        {
            Type = r.Type.Name(),
            Command = r.CommandType.Name(),
            Market = m?.Symbol,
            MarketId = r.MarketId == 0 ? null : r.MarketId,
            Sequence = r.Sequence.Value,
            Timestamp = FromUnixNanoseconds(r.Timestamp),
            TimestampNs = r.Timestamp,
        };
        bool hasOrder = r.OrderId != 0;
        long? orderId = hasOrder ? r.OrderId : null;
        ulong? clientOrderId = r.OrderId > 0 ? OrderEntryProtocol.ClOrdIdOf(r.OrderId) : null;
        string? side = Enum.IsDefined(r.Side) ? r.Side.Name() : null;
        switch (r.Type)
        {
            case ReportType.Accepted:
            case ReportType.Amended:
                return json with
                {
                    OrderId = orderId,
                    ClientOrderId = clientOrderId,
                    Side = side,
                    Price = r.Price.Units == 0 ? null : Price(m, r.Price.Units), // 0: a market order has no limit price
                    Quantity = Quantity(m, r.Quantity.Units),
                    LeavesQuantity = Quantity(m, r.LeavesQuantity.Units),
                };
            case ReportType.Fill:
                return json with
                {
                    OrderId = orderId,
                    ClientOrderId = clientOrderId,
                    Side = side,
                    Price = Price(m, r.Price.Units),
                    Quantity = Quantity(m, r.Quantity.Units),
                    LeavesQuantity = Quantity(m, r.LeavesQuantity.Units),
                    TradeId = r.TradeId,
                    CounterOrderId = r.CounterOrderId,
                    Liquidity = r.Liquidity.Name(),
                };
            case ReportType.Cancelled:
            case ReportType.Expired:
                return json with
                {
                    OrderId = orderId,
                    ClientOrderId = clientOrderId,
                    Side = side,
                    Price = r.Price.Units == 0 ? null : Price(m, r.Price.Units),
                    Quantity = Quantity(m, r.Quantity.Units),
                    LeavesQuantity = Quantity(m, r.LeavesQuantity.Units),
                    CancelReason = r.CancelReason.Name(),
                };
            case ReportType.Rejected:
                bool orderFields = r.CommandType is CommandType.NewOrder or CommandType.Amend;
                return json with
                {
                    OrderId = orderId,
                    ClientOrderId = clientOrderId,
                    Side = side,
                    Price = orderFields && r.Price.Units != 0 ? Price(m, r.Price.Units) : null,
                    Quantity = orderFields ? Quantity(m, r.Quantity.Units) : null,
                    RejectReason = r.RejectReason.Name(),
                };
            case ReportType.CancelAllDone:
                return json with { OrdersCancelled = r.Quantity.Units };
            case ReportType.MarketStateChanged:
                return json with { State = r.State.Name() };
            default:
                return json;
        }
    }

    private static string Price(MarketDefinition? m, long units) =>
        m?.FormatPrice(units) ?? units.ToString(CultureInfo.InvariantCulture);

    private static string Quantity(MarketDefinition? m, long units) =>
        m?.FormatQuantity(units) ?? units.ToString(CultureInfo.InvariantCulture);
}
