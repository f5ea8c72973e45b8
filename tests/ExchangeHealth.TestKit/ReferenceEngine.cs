using System.Buffers.Binary;
using System.Security.Cryptography;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Primitives;

namespace ExchangeHealth.TestKit;

/// <summary>
/// An independent, deliberately simple model of <c>docs/engine-semantics.md</c>: the oracle the
/// fast <see cref="MatchingEngine"/> is compared against, and a slow baseline for benchmarks.
/// </summary>
/// <remarks>
/// <para>
/// Written from the document, not from the fast order book. Clarity wins over speed everywhere:
/// each market keeps one plain <see cref="List{T}"/> of resting orders, and every question about
/// priority ("who is best?") sorts that list again (price, then arrival counter). Every command is
/// first validated without touching any state and only then applied, so a rejected command
/// cannot change anything.
/// </para>
/// <para>
/// <see cref="Process"/> returns the execution reports of one command with every field the
/// engine fills; fields the document does not give a value for are left at their defaults.
/// </para>
/// </remarks>
public sealed class ReferenceEngine
{
    private readonly SortedDictionary<ushort, ModelMarket> _markets = [];
    private long _lastTradeId;
    private long _arrivalCounter;
    private long _entryCounter;

    /// <summary>Creates a model with empty books for <paramref name="markets"/>.</summary>
    /// <param name="markets">Market definitions (ids unique, each valid).</param>
    /// <exception cref="ArgumentException">A market is invalid or its id is used twice.</exception>
    public ReferenceEngine(IEnumerable<MarketDefinition> markets)
    {
        ArgumentNullException.ThrowIfNull(markets);
        foreach (var definition in markets)
        {
            string? problem = definition.Validate();
            if (problem is not null) throw new ArgumentException($"market '{definition.Symbol}': {problem}", nameof(markets));
            if (!_markets.TryAdd(definition.Id, new ModelMarket(definition)))
                throw new ArgumentException($"market id {definition.Id} is defined twice", nameof(markets));
        }
    }

    /// <summary>Id of the last trade, 0 before the first.</summary>
    public long LastTradeId => _lastTradeId;

    /// <summary>The configured market ids, ascending.</summary>
    public IReadOnlyList<ushort> MarketIds => [.. _markets.Keys];

    /// <summary>The state of market <paramref name="marketId"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such market.</exception>
    public MarketState StateOf(ushort marketId) => _markets[marketId].State;

    /// <summary>The collar reference price of market <paramref name="marketId"/> (price units).</summary>
    /// <exception cref="KeyNotFoundException">No such market.</exception>
    public long ReferencePriceOf(ushort marketId) => _markets[marketId].ReferencePrice;

    /// <summary>The last trade price of market <paramref name="marketId"/> (price units, 0 before the first trade).</summary>
    /// <exception cref="KeyNotFoundException">No such market.</exception>
    public long LastTradePriceOf(ushort marketId) => _markets[marketId].LastTradePrice;

    /// <summary>
    /// The canonical book of market <paramref name="marketId"/>: bids best to worst, then asks
    /// best to worst, each price level in time priority.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No such market.</exception>
    public IReadOnlyList<RestingOrder> Book(ushort marketId)
    {
        var market = _markets[marketId];
        var book = new List<RestingOrder>();
        foreach (var side in new[] { Side.Buy, Side.Sell })
        {
            foreach (var o in InPriority(market, side))
                book.Add(new RestingOrder(o.OrderId, o.AccountId, o.Side, new Price(o.Price), new Quantity(o.Open), o.Flags));
        }
        return book;
    }

    /// <summary>Applies one command and returns its execution reports, in order.</summary>
    /// <param name="command">The command; its sequence number and timestamp are copied into every report.</param>
    /// <returns>At least one report; exactly one <see cref="ReportType.Rejected"/> when the command is refused.</returns>
    public List<ExecutionReport> Process(Command command)
    {
        var run = new CommandRun(command);
        switch (command.Type)
        {
            case CommandType.NewOrder: NewOrder(run); break;
            case CommandType.Cancel: Cancel(run); break;
            case CommandType.Amend: Amend(run); break;
            case CommandType.CancelAll: CancelAll(run); break;
            case CommandType.SetMarketState: SetMarketState(run); break;
            default: run.Reject(RejectReason.MalformedCommand); break;
        }
        return run.Reports;
    }

    /// <summary>
    /// SHA-256 (lower-case hex) of the canonical state, as the "State hash" section of
    /// <c>docs/engine-semantics.md</c> lays it out.
    /// </summary>
    public string ComputeStateHash()
    {
        var bytes = new List<byte>();
        bytes.AddRange("EXH-STATE-1"u8.ToArray());
        AddInt64(bytes, _lastTradeId);
        foreach (var (id, market) in _markets)
        {
            var idBytes = new byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(idBytes, id);
            bytes.AddRange(idBytes);
            bytes.Add((byte)market.State);
            AddInt64(bytes, market.ReferencePrice);
            AddInt64(bytes, market.LastTradePrice);
            var countBytes = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(countBytes, market.Orders.Count);
            bytes.AddRange(countBytes);
            foreach (var o in Book(id))
            {
                bytes.Add((byte)o.Side);
                bytes.Add((byte)o.Flags);
                AddInt64(bytes, o.OrderId);
                AddInt64(bytes, o.AccountId);
                AddInt64(bytes, o.Price.Units);
                AddInt64(bytes, o.Quantity.Units);
            }
        }
        return Convert.ToHexStringLower(SHA256.HashData(bytes.ToArray()));
    }

    private static void AddInt64(List<byte> bytes, long value)
    {
        var buffer = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(buffer, value);
        bytes.AddRange(buffer);
    }

    // ------------------------------------------------------------------ NewOrder

    private void NewOrder(CommandRun run)
    {
        var c = run.Command;
        if (!_markets.TryGetValue(c.MarketId, out var market))
        {
            run.Reject(RejectReason.UnknownMarket);
            return;
        }
        RejectReason reason = ValidateNewOrder(market, c);
        if (reason != RejectReason.None)
        {
            run.Reject(reason);
            return;
        }

        bool isMarketOrder = c.OrderType == OrderType.Market;
        long reportedPrice = isMarketOrder ? 0 : c.Price.Units;
        long quantity = c.Quantity.Units;
        run.Add(new ExecutionReport
        {
            Type = ReportType.Accepted, MarketId = market.Id, OrderId = c.OrderId, AccountId = c.AccountId, Side = c.Side,
            Price = new Price(reportedPrice), Quantity = new Quantity(quantity), LeavesQuantity = new Quantity(quantity),
        });

        long limit;
        if (isMarketOrder)
        {
            var best = BestOpposite(market, c.Side);
            if (best is null)
            {
                run.Add(Removal(ReportType.Expired, CancelReason.NoLiquidity, market.Id, c.OrderId, c.AccountId, c.Side, reportedPrice, quantity));
                return;
            }
            limit = ProtectionPrice(market.Definition, c.Side, best.Price);
        }
        else
        {
            limit = c.Price.Units;
        }

        if (c.TimeInForce == TimeInForce.FillOrKill && FillableBeforeOwnOrder(market, c.Side, limit, c.AccountId) < quantity)
        {
            run.Add(Removal(ReportType.Expired, CancelReason.FillOrKill, market.Id, c.OrderId, c.AccountId, c.Side, reportedPrice, quantity));
            return;
        }

        var aggressor = new Aggressor(c.OrderId, c.AccountId, c.Side, limit, quantity);
        Match(run, market, aggressor);

        if (aggressor.StoppedBySelfTrade)
        {
            run.Add(Removal(ReportType.Cancelled, CancelReason.SelfTradePrevention, market.Id, c.OrderId, c.AccountId, c.Side, reportedPrice, aggressor.Remaining));
        }
        else if (aggressor.Remaining > 0)
        {
            if (isMarketOrder)
                run.Add(Removal(ReportType.Expired, CancelReason.NoLiquidity, market.Id, c.OrderId, c.AccountId, c.Side, reportedPrice, aggressor.Remaining));
            else if (c.TimeInForce == TimeInForce.ImmediateOrCancel)
                run.Add(Removal(ReportType.Expired, CancelReason.ImmediateOrCancel, market.Id, c.OrderId, c.AccountId, c.Side, reportedPrice, aggressor.Remaining));
            else if (c.TimeInForce == TimeInForce.FillOrKill)
                throw new InvalidOperationException("model bug: a fill-or-kill order passed its check but did not fill");
            else
                Rest(market, c.OrderId, c.AccountId, c.Side, c.Price.Units, aggressor.Remaining, c.Flags, ++_entryCounter);
        }
        FinishCommand(market, aggressor);
    }

    private static RejectReason ValidateNewOrder(ModelMarket market, Command c)
    {
        var m = market.Definition;
        bool postOnly = (c.Flags & OrderFlags.PostOnly) != 0;
        bool isLimit = c.OrderType == OrderType.Limit;

        // 1. malformed values
        if (!Enum.IsDefined(c.Side) || !Enum.IsDefined(c.OrderType) || !Enum.IsDefined(c.TimeInForce)
            || (c.Flags & ~OrderFlags.PostOnly) != OrderFlags.None)
            return RejectReason.MalformedCommand;
        // 2. order id
        if (c.OrderId <= 0) return RejectReason.InvalidOrderId;
        // 3. market state
        switch (market.State)
        {
            case MarketState.PostOnly when !(isLimit && postOnly): return RejectReason.MarketPostOnly;
            case MarketState.LimitOnly when !isLimit: return RejectReason.MarketLimitOnly;
            case MarketState.CancelOnly: return RejectReason.MarketCancelOnly;
            case MarketState.Halted: return RejectReason.MarketHalted;
        }
        // 4. unsupported combinations
        if (!isLimit && c.TimeInForce == TimeInForce.GoodTillCancel) return RejectReason.UnsupportedOrder;
        if (postOnly && !(isLimit && c.TimeInForce == TimeInForce.GoodTillCancel)) return RejectReason.UnsupportedOrder;
        // 5. quantity grid
        if (c.Quantity.Units <= 0) return RejectReason.InvalidQuantity;
        if (c.Quantity.Units % m.LotSize != 0) return RejectReason.QuantityOffLotGrid;
        // 6. price grid (limit only)
        if (isLimit)
        {
            if (c.Price.Units <= 0 || c.Price.Units > m.MaxPrice) return RejectReason.InvalidPrice;
            if (c.Price.Units % m.TickSize != 0) return RejectReason.PriceOffTickGrid;
        }
        // 7. duplicate id
        if (market.Find(c.OrderId) is not null) return RejectReason.DuplicateOrderId;
        // 8. size limits
        if (c.Quantity.Units < m.MinQuantity) return RejectReason.QuantityBelowMinimum;
        if (c.Quantity.Units > m.MaxQuantity) return RejectReason.QuantityAboveMaximum;
        // 9. collar (limit only)
        if (isLimit && OutsideCollar(market, c.Price.Units)) return RejectReason.PriceOutsideCollar;
        // 10. post-only must not take
        if (postOnly && CrossesBestOpposite(market, c.Side, c.Price.Units)) return RejectReason.PostOnlyWouldTake;
        return RejectReason.None;
    }

    // ------------------------------------------------------------------ Cancel

    private void Cancel(CommandRun run)
    {
        var c = run.Command;
        if (!_markets.TryGetValue(c.MarketId, out var market))
        {
            run.Reject(RejectReason.UnknownMarket);
            return;
        }
        if (market.State == MarketState.Halted)
        {
            run.Reject(RejectReason.MarketHalted);
            return;
        }
        var order = market.Find(c.OrderId);
        if (order is null)
        {
            run.Reject(RejectReason.UnknownOrder);
            return;
        }
        if (order.AccountId != c.AccountId)
        {
            run.Reject(RejectReason.NotOrderOwner);
            return;
        }
        market.Orders.Remove(order);
        run.Add(Removal(ReportType.Cancelled, CancelReason.Requested, market.Id, order.OrderId, order.AccountId, order.Side, order.Price, order.Open));
    }

    // ------------------------------------------------------------------ Amend

    private void Amend(CommandRun run)
    {
        var c = run.Command;
        if (!_markets.TryGetValue(c.MarketId, out var market))
        {
            run.Reject(RejectReason.UnknownMarket);
            return;
        }
        RejectReason reason = ValidateAmend(market, c);
        if (reason != RejectReason.None)
        {
            run.Reject(reason);
            return;
        }

        var order = market.Find(c.OrderId)!;
        long newPrice = c.Price.Units;
        long newQuantity = c.Quantity.Units;
        run.Add(new ExecutionReport
        {
            Type = ReportType.Amended, MarketId = market.Id, OrderId = order.OrderId, AccountId = order.AccountId, Side = order.Side,
            Price = new Price(newPrice), Quantity = new Quantity(newQuantity), LeavesQuantity = new Quantity(newQuantity),
        });

        if (newPrice == order.Price && newQuantity < order.Open)
        {
            // Same price, lower quantity: the order keeps its place in the queue.
            order.Open = newQuantity;
            return;
        }

        // The order loses its place: it leaves the book, may execute as an aggressor at the new
        // price, and its remainder joins the back of the new level.
        market.Orders.Remove(order);
        var aggressor = new Aggressor(order.OrderId, order.AccountId, order.Side, newPrice, newQuantity);
        Match(run, market, aggressor);
        if (aggressor.StoppedBySelfTrade)
            run.Add(Removal(ReportType.Cancelled, CancelReason.SelfTradePrevention, market.Id, order.OrderId, order.AccountId, order.Side, newPrice, aggressor.Remaining));
        else if (aggressor.Remaining > 0)
            Rest(market, order.OrderId, order.AccountId, order.Side, newPrice, aggressor.Remaining, order.Flags, order.Entry);
        FinishCommand(market, aggressor);
    }

    private static RejectReason ValidateAmend(ModelMarket market, Command c)
    {
        var m = market.Definition;
        if (market.State == MarketState.Halted) return RejectReason.MarketHalted;
        if (market.State == MarketState.CancelOnly) return RejectReason.MarketCancelOnly;
        var order = market.Find(c.OrderId);
        if (order is null) return RejectReason.UnknownOrder;
        if (order.AccountId != c.AccountId) return RejectReason.NotOrderOwner;
        long price = c.Price.Units;
        long quantity = c.Quantity.Units;
        if (quantity <= 0) return RejectReason.InvalidQuantity;
        if (quantity % m.LotSize != 0) return RejectReason.QuantityOffLotGrid;
        if (price <= 0 || price > m.MaxPrice) return RejectReason.InvalidPrice;
        if (price % m.TickSize != 0) return RejectReason.PriceOffTickGrid;
        if (quantity < m.MinQuantity) return RejectReason.QuantityBelowMinimum;
        if (quantity > m.MaxQuantity) return RejectReason.QuantityAboveMaximum;
        bool priceChanges = price != order.Price;
        if (priceChanges && OutsideCollar(market, price)) return RejectReason.PriceOutsideCollar;
        if (!priceChanges && quantity == order.Open) return RejectReason.NothingToAmend;
        if (CrossesBestOpposite(market, order.Side, price))
        {
            if ((order.Flags & OrderFlags.PostOnly) != 0) return RejectReason.PostOnlyWouldTake;
            if (market.State == MarketState.PostOnly) return RejectReason.MarketPostOnly;
        }
        return RejectReason.None;
    }

    // ------------------------------------------------------------------ CancelAll

    private void CancelAll(CommandRun run)
    {
        var c = run.Command;
        var targets = new List<ModelMarket>();
        if (c.MarketId == 0)
        {
            foreach (var market in _markets.Values)
            {
                if (market.State != MarketState.Halted) targets.Add(market);
            }
        }
        else
        {
            if (!_markets.TryGetValue(c.MarketId, out var market))
            {
                run.Reject(RejectReason.UnknownMarket);
                return;
            }
            if (market.State == MarketState.Halted)
            {
                run.Reject(RejectReason.MarketHalted);
                return;
            }
            targets.Add(market);
        }

        int cancelled = 0;
        foreach (var market in targets)
        {
            // Newest first by entry: an amend moves an order in its queue but does not make it newer.
            var mine = market.Orders.Where(o => o.AccountId == c.AccountId).OrderByDescending(o => o.Entry).ToList();
            foreach (var order in mine)
            {
                market.Orders.Remove(order);
                run.Add(Removal(ReportType.Cancelled, CancelReason.CancelAll, market.Id, order.OrderId, order.AccountId, order.Side, order.Price, order.Open));
                cancelled++;
            }
        }
        run.Add(new ExecutionReport
        {
            Type = ReportType.CancelAllDone, MarketId = c.MarketId, AccountId = c.AccountId, Quantity = new Quantity(cancelled),
        });
    }

    // ------------------------------------------------------------------ SetMarketState

    private void SetMarketState(CommandRun run)
    {
        var c = run.Command;
        if (!Enum.IsDefined(c.State))
        {
            run.Reject(RejectReason.MalformedCommand);
            return;
        }
        if (!_markets.TryGetValue(c.MarketId, out var market))
        {
            run.Reject(RejectReason.UnknownMarket);
            return;
        }
        market.State = c.State;
        run.Add(new ExecutionReport { Type = ReportType.MarketStateChanged, MarketId = market.Id, State = c.State });
    }

    // ------------------------------------------------------------------ matching

    /// <summary>
    /// Executes <paramref name="aggressor"/> against the opposite side in price-time priority
    /// while it crosses, at each maker's price, stopping at the first maker of its own account.
    /// </summary>
    private void Match(CommandRun run, ModelMarket market, Aggressor aggressor)
    {
        while (aggressor.Remaining > 0)
        {
            var maker = BestOpposite(market, aggressor.Side);
            if (maker is null || !Crosses(aggressor.Side, aggressor.Limit, maker.Price)) return;
            if (maker.AccountId == aggressor.AccountId)
            {
                aggressor.StoppedBySelfTrade = true;
                return;
            }

            long executed = Math.Min(aggressor.Remaining, maker.Open);
            aggressor.Remaining -= executed;
            maker.Open -= executed;
            long tradeId = ++_lastTradeId;
            aggressor.LastTradePrice = maker.Price;

            run.Add(new ExecutionReport
            {
                Type = ReportType.Fill, MarketId = market.Id, OrderId = aggressor.OrderId, AccountId = aggressor.AccountId,
                Side = aggressor.Side, Price = new Price(maker.Price), Quantity = new Quantity(executed),
                LeavesQuantity = new Quantity(aggressor.Remaining), TradeId = tradeId, CounterOrderId = maker.OrderId,
                CounterAccountId = maker.AccountId, Liquidity = Liquidity.Taker,
            });
            run.Add(new ExecutionReport
            {
                Type = ReportType.Fill, MarketId = market.Id, OrderId = maker.OrderId, AccountId = maker.AccountId,
                Side = maker.Side, Price = new Price(maker.Price), Quantity = new Quantity(executed),
                LeavesQuantity = new Quantity(maker.Open), TradeId = tradeId, CounterOrderId = aggressor.OrderId,
                CounterAccountId = aggressor.AccountId, Liquidity = Liquidity.Maker,
            });
            if (maker.Open == 0) market.Orders.Remove(maker);
        }
    }

    /// <summary>The FOK check: open quantity reachable in priority order before the first order of <paramref name="accountId"/>.</summary>
    private static long FillableBeforeOwnOrder(ModelMarket market, Side side, long limit, long accountId)
    {
        long sum = 0;
        foreach (var o in InPriority(market, Opposite(side)))
        {
            if (!Crosses(side, limit, o.Price) || o.AccountId == accountId) break;
            sum += o.Open;
        }
        return sum;
    }

    /// <summary>After a command that traded, the last trade price becomes the collar reference.</summary>
    private static void FinishCommand(ModelMarket market, Aggressor aggressor)
    {
        if (aggressor.LastTradePrice == 0) return;
        market.LastTradePrice = aggressor.LastTradePrice;
        market.ReferencePrice = aggressor.LastTradePrice;
    }

    /// <summary>Puts an order at the back of its price level.</summary>
    private void Rest(ModelMarket market, long orderId, long accountId, Side side, long price, long open, OrderFlags flags, long entry) =>
        market.Orders.Add(new ModelOrder(orderId, accountId, side, price, open, flags, ++_arrivalCounter, entry));

    // ------------------------------------------------------------------ prices

    private static bool Crosses(Side aggressorSide, long limit, long restingPrice) =>
        aggressorSide == Side.Buy ? restingPrice <= limit : restingPrice >= limit;

    private static bool CrossesBestOpposite(ModelMarket market, Side side, long price)
    {
        var best = BestOpposite(market, side);
        return best is not null && Crosses(side, price, best.Price);
    }

    private static bool OutsideCollar(ModelMarket market, long price)
    {
        long r = market.ReferencePrice;
        int b = market.Definition.PriceCollarBasisPoints;
        if (b == 0 || r == 0) return false;
        Int128 d = FloorDiv((Int128)r * b, 10_000);
        Int128 low = CeilToTick(r - d, market.Definition.TickSize);
        Int128 high = FloorToTick(r + d, market.Definition.TickSize);
        return price < low || price > high;
    }

    /// <summary>Market-order protection price from the best opposite price <paramref name="best"/> at entry.</summary>
    private static long ProtectionPrice(MarketDefinition m, Side side, long best)
    {
        Int128 d = FloorDiv((Int128)best * m.MarketOrderProtectionBasisPoints, 10_000);
        Int128 p = side == Side.Buy
            ? FloorToTick(best + d, m.TickSize)
            : Int128.Max(m.TickSize, CeilToTick(best - d, m.TickSize));
        return p > long.MaxValue ? long.MaxValue : (long)p;
    }

    private static Int128 FloorDiv(Int128 a, Int128 b)
    {
        Int128 q = a / b;
        if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
        return q;
    }

    private static Int128 FloorToTick(Int128 value, long tick) => FloorDiv(value, tick) * tick;

    private static Int128 CeilToTick(Int128 value, long tick) => -FloorDiv(-value, tick) * tick;

    // ------------------------------------------------------------------ book queries

    private static Side Opposite(Side side) => side == Side.Buy ? Side.Sell : Side.Buy;

    /// <summary>One side's orders, best price first, then by arrival (time priority).</summary>
    private static List<ModelOrder> InPriority(ModelMarket market, Side side)
    {
        var orders = market.Orders.Where(o => o.Side == side);
        var byPrice = side == Side.Buy ? orders.OrderByDescending(o => o.Price) : orders.OrderBy(o => o.Price);
        return byPrice.ThenBy(o => o.Arrival).ToList();
    }

    private static ModelOrder? BestOpposite(ModelMarket market, Side side) =>
        InPriority(market, Opposite(side)).FirstOrDefault();

    private static ExecutionReport Removal(ReportType type, CancelReason reason, ushort marketId, long orderId, long accountId,
        Side side, long price, long quantity) => new()
    {
        Type = type, CancelReason = reason, MarketId = marketId, OrderId = orderId, AccountId = accountId, Side = side,
        Price = new Price(price), Quantity = new Quantity(quantity), LeavesQuantity = Quantity.Zero,
    };

    // ------------------------------------------------------------------ model types

    /// <summary>The reports of one command; stamps the command's sequence, timestamp and type on each.</summary>
    private sealed class CommandRun(Command command)
    {
        public Command Command { get; } = command;

        public List<ExecutionReport> Reports { get; } = [];

        public void Add(ExecutionReport report)
        {
            report.Sequence = Command.Sequence;
            report.Timestamp = Command.Timestamp;
            report.CommandType = Command.Type;
            Reports.Add(report);
        }

        /// <summary>A rejection echoes the command's market, order, account, side, price and quantity.</summary>
        public void Reject(RejectReason reason) => Add(new ExecutionReport
        {
            Type = ReportType.Rejected, RejectReason = reason, MarketId = Command.MarketId, OrderId = Command.OrderId,
            AccountId = Command.AccountId, Side = Command.Side, Price = Command.Price, Quantity = Command.Quantity,
        });
    }

    private sealed class ModelMarket(MarketDefinition definition)
    {
        public MarketDefinition Definition { get; } = definition;

        public ushort Id => Definition.Id;

        public MarketState State { get; set; } = definition.InitialState;

        public long ReferencePrice { get; set; } = definition.ReferencePrice;

        public long LastTradePrice { get; set; }

        /// <summary>Every resting order, in no particular order.</summary>
        public List<ModelOrder> Orders { get; } = [];

        public ModelOrder? Find(long orderId) => Orders.Find(o => o.OrderId == orderId);
    }

    private sealed class ModelOrder(long orderId, long accountId, Side side, long price, long open, OrderFlags flags, long arrival, long entry)
    {
        public long OrderId { get; } = orderId;

        public long AccountId { get; } = accountId;

        public Side Side { get; } = side;

        public long Price { get; } = price;

        public long Open { get; set; } = open;

        public OrderFlags Flags { get; } = flags;

        /// <summary>When it joined the back of its level: smaller is earlier (time priority).</summary>
        public long Arrival { get; } = arrival;

        /// <summary>When the new order that created it was accepted: smaller is older (cancel-all order).</summary>
        public long Entry { get; } = entry;
    }

    private sealed class Aggressor(long orderId, long accountId, Side side, long limit, long quantity)
    {
        public long OrderId { get; } = orderId;

        public long AccountId { get; } = accountId;

        public Side Side { get; } = side;

        /// <summary>Limit price, or the protection price of a market order.</summary>
        public long Limit { get; } = limit;

        public long Remaining { get; set; } = quantity;

        public bool StoppedBySelfTrade { get; set; }

        /// <summary>Price of this command's last execution (0: none).</summary>
        public long LastTradePrice { get; set; }
    }
}
