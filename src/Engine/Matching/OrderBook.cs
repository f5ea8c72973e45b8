using System.Runtime.CompilerServices;
using ExchangeHealth.Engine.Matching;
using ExchangeHealth.Engine.Primitives;

namespace ExchangeHealth.Engine;

/// <summary>A price level as seen from outside the book.</summary>
/// <param name="Price">Level price.</param>
/// <param name="Quantity">Sum of the open quantity of its orders.</param>
/// <param name="OrderCount">Number of resting orders at the level.</param>
public readonly record struct BookLevel(Price Price, Quantity Quantity, int OrderCount);

/// <summary>A resting order as seen from outside the book.</summary>
/// <param name="OrderId">Order id.</param>
/// <param name="AccountId">Owner.</param>
/// <param name="Side">Side.</param>
/// <param name="Price">Limit price.</param>
/// <param name="Quantity">Open (leaves) quantity.</param>
/// <param name="Flags">Order flags (post-only).</param>
public readonly record struct RestingOrder(long OrderId, long AccountId, Side Side, Price Price, Quantity Quantity, OrderFlags Flags);

/// <summary>
/// The order book of one market and its matcher: price-time priority, executions at the resting
/// order's price, self-trade prevention by cancelling the newest (aggressing) order.
/// </summary>
/// <remarks>
/// Single-threaded (the LMAX model): only the matcher thread may call it. Orders and price levels
/// live in pre-allocated struct arrays linked by index, so steady-state processing does not
/// allocate; the arrays double when full. Every public query is for tools and tests, not the hot
/// path. Semantics are documented in <c>docs/engine-semantics.md</c>.
/// </remarks>
public sealed class OrderBook
{
    private const int Nil = -1;

    private struct OrderNode
    {
        public long OrderId;
        public long AccountId;
        public long Price;
        public long Quantity;
        public int Prev;
        public int Next;
        public int AccountPrev;
        public int AccountNext;
        public int Level;
        public Side Side;
        public OrderFlags Flags;
    }

    private struct PriceLevel
    {
        public long Price;
        public long Quantity;
        public int Head;
        public int Tail;
        public int Count;
    }

    private readonly EngineCounters _counters;
    private readonly PriceLadder _bids;
    private readonly PriceLadder _asks;
    private readonly LongIntMap _orderIndex;
    private readonly LongIntMap _accountHeads;
    private readonly long _tick;
    private readonly long _lot;
    private readonly long _minQuantity;
    private readonly long _maxQuantity;
    private readonly long _maxPrice;
    private OrderNode[] _orders;
    private int _orderFree = Nil;
    private int _orderUsed;
    private PriceLevel[] _levels;
    private int _levelFree = Nil;
    private int _levelUsed;
    private long _collarLow;
    private long _collarHigh;

    internal OrderBook(MarketDefinition market, EngineCounters counters, int initialOrderCapacity = 4096)
    {
        Market = market;
        _counters = counters;
        _tick = market.TickSize;
        _lot = market.LotSize;
        _minQuantity = Math.Max(market.MinQuantity, market.LotSize);
        _maxQuantity = market.MaxQuantity;
        _maxPrice = market.MaxPrice;
        _orders = new OrderNode[initialOrderCapacity];
        _levels = new PriceLevel[Math.Max(64, initialOrderCapacity / 4)];
        _bids = new PriceLadder(isBid: true);
        _asks = new PriceLadder(isBid: false);
        _orderIndex = new LongIntMap(initialOrderCapacity);
        _accountHeads = new LongIntMap(Math.Max(64, initialOrderCapacity / 4));
        State = market.InitialState;
        ReferencePrice = market.ReferencePrice;
        UpdateCollar();
    }

    /// <summary>The market this book trades.</summary>
    public MarketDefinition Market { get; }

    /// <summary>The market's current trading state.</summary>
    public MarketState State { get; private set; }

    /// <summary>Collar reference price in price units: the last trade price, or the configured reference before any trade (0 = none).</summary>
    public long ReferencePrice { get; private set; }

    /// <summary>Price of the last execution in price units (0 before the first).</summary>
    public long LastTradePrice { get; private set; }

    /// <summary>Number of resting orders.</summary>
    public int OrderCount => _orderIndex.Count;

    /// <summary>Number of bid price levels.</summary>
    public int BidLevelCount => _bids.Count;

    /// <summary>Number of ask price levels.</summary>
    public int AskLevelCount => _asks.Count;

    // ------------------------------------------------------------------ commands

    internal void NewOrder(ref Command c, IExecutionReportSink sink)
    {
        if ((uint)(c.Side - 1) > 1u || (uint)(c.OrderType - 1) > 1u || (uint)(c.TimeInForce - 1) > 2u
            || (c.Flags & ~OrderFlags.PostOnly) != 0)
        {
            Reject(ref c, RejectReason.MalformedCommand, sink);
            return;
        }
        if (c.OrderId <= 0) { Reject(ref c, RejectReason.InvalidOrderId, sink); return; }

        bool postOnly = (c.Flags & OrderFlags.PostOnly) != 0;
        bool isMarket = c.OrderType == OrderType.Market;
        if (State != MarketState.Online)
        {
            RejectReason stateReason = State switch
            {
                MarketState.PostOnly when !postOnly || isMarket => RejectReason.MarketPostOnly,
                MarketState.LimitOnly when isMarket => RejectReason.MarketLimitOnly,
                MarketState.CancelOnly => RejectReason.MarketCancelOnly,
                MarketState.Halted => RejectReason.MarketHalted,
                _ => RejectReason.None,
            };
            if (stateReason != RejectReason.None) { Reject(ref c, stateReason, sink); return; }
        }
        if ((isMarket && c.TimeInForce == TimeInForce.GoodTillCancel)
            || (postOnly && (isMarket || c.TimeInForce != TimeInForce.GoodTillCancel)))
        {
            Reject(ref c, RejectReason.UnsupportedOrder, sink);
            return;
        }

        long quantity = c.Quantity.Units;
        if (quantity <= 0) { Reject(ref c, RejectReason.InvalidQuantity, sink); return; }
        if (quantity % _lot != 0) { Reject(ref c, RejectReason.QuantityOffLotGrid, sink); return; }
        // A market order has no limit price: its reports carry 0 whatever the command held.
        long price = isMarket ? 0 : c.Price.Units;
        if (!isMarket)
        {
            if (price <= 0 || price > _maxPrice) { Reject(ref c, RejectReason.InvalidPrice, sink); return; }
            if (price % _tick != 0) { Reject(ref c, RejectReason.PriceOffTickGrid, sink); return; }
        }
        if (_orderIndex.Get(c.OrderId) != Nil) { Reject(ref c, RejectReason.DuplicateOrderId, sink); return; }
        if (quantity < _minQuantity) { Reject(ref c, RejectReason.QuantityBelowMinimum, sink); return; }
        if (quantity > _maxQuantity) { Reject(ref c, RejectReason.QuantityAboveMaximum, sink); return; }
        if (!isMarket && (price < _collarLow || price > _collarHigh)) { Reject(ref c, RejectReason.PriceOutsideCollar, sink); return; }
        if (postOnly && Crosses(c.Side, price)) { Reject(ref c, RejectReason.PostOnlyWouldTake, sink); return; }

        long limit = price;
        if (isMarket)
        {
            PriceLadder opposite = c.Side == Side.Buy ? _asks : _bids;
            if (opposite.Count == 0)
            {
                EmitOrderReport(ref c, ReportType.Accepted, c.OrderId, c.AccountId, c.Side, 0, quantity, quantity, sink);
                EmitCancel(ref c, ReportType.Expired, c.OrderId, c.AccountId, c.Side, 0, quantity, CancelReason.NoLiquidity, sink);
                return;
            }
            limit = ProtectionPrice(c.Side, _levels[opposite.Best].Price);
        }
        if (c.TimeInForce == TimeInForce.FillOrKill && !CanFill(c.Side, limit, quantity, c.AccountId))
        {
            EmitOrderReport(ref c, ReportType.Accepted, c.OrderId, c.AccountId, c.Side, price, quantity, quantity, sink);
            EmitCancel(ref c, ReportType.Expired, c.OrderId, c.AccountId, c.Side, price, quantity, CancelReason.FillOrKill, sink);
            return;
        }

        EmitOrderReport(ref c, ReportType.Accepted, c.OrderId, c.AccountId, c.Side, price, quantity, quantity, sink);
        long tradeBefore = _counters.LastTradeId;
        long remaining = Match(ref c, c.Side, c.OrderId, c.AccountId, limit, quantity, sink, out bool selfTrade);
        if (remaining > 0)
        {
            if (selfTrade)
                EmitCancel(ref c, ReportType.Cancelled, c.OrderId, c.AccountId, c.Side, price, remaining, CancelReason.SelfTradePrevention, sink);
            else if (!isMarket && c.TimeInForce == TimeInForce.GoodTillCancel)
                Rest(c.OrderId, c.AccountId, c.Side, price, remaining, c.Flags);
            else
                EmitCancel(ref c, ReportType.Expired, c.OrderId, c.AccountId, c.Side, price, remaining,
                    isMarket ? CancelReason.NoLiquidity : CancelReason.ImmediateOrCancel, sink);
        }
        if (_counters.LastTradeId != tradeBefore) OnTraded();
    }

    internal void Cancel(ref Command c, IExecutionReportSink sink)
    {
        if (State == MarketState.Halted) { Reject(ref c, RejectReason.MarketHalted, sink); return; }
        int idx = _orderIndex.Get(c.OrderId);
        if (idx == Nil) { Reject(ref c, RejectReason.UnknownOrder, sink); return; }
        ref OrderNode o = ref _orders[idx];
        if (o.AccountId != c.AccountId) { Reject(ref c, RejectReason.NotOrderOwner, sink); return; }
        EmitCancel(ref c, ReportType.Cancelled, o.OrderId, o.AccountId, o.Side, o.Price, o.Quantity, CancelReason.Requested, sink);
        RemoveOrder(idx);
    }

    internal void Amend(ref Command c, IExecutionReportSink sink)
    {
        if (State == MarketState.Halted) { Reject(ref c, RejectReason.MarketHalted, sink); return; }
        if (State == MarketState.CancelOnly) { Reject(ref c, RejectReason.MarketCancelOnly, sink); return; }
        int idx = _orderIndex.Get(c.OrderId);
        if (idx == Nil) { Reject(ref c, RejectReason.UnknownOrder, sink); return; }
        ref OrderNode o = ref _orders[idx];
        if (o.AccountId != c.AccountId) { Reject(ref c, RejectReason.NotOrderOwner, sink); return; }
        long quantity = c.Quantity.Units;
        long price = c.Price.Units;
        if (quantity <= 0) { Reject(ref c, RejectReason.InvalidQuantity, sink); return; }
        if (quantity % _lot != 0) { Reject(ref c, RejectReason.QuantityOffLotGrid, sink); return; }
        if (price <= 0 || price > _maxPrice) { Reject(ref c, RejectReason.InvalidPrice, sink); return; }
        if (price % _tick != 0) { Reject(ref c, RejectReason.PriceOffTickGrid, sink); return; }
        if (quantity < _minQuantity) { Reject(ref c, RejectReason.QuantityBelowMinimum, sink); return; }
        if (quantity > _maxQuantity) { Reject(ref c, RejectReason.QuantityAboveMaximum, sink); return; }
        bool priceChanged = price != o.Price;
        if (priceChanged && (price < _collarLow || price > _collarHigh)) { Reject(ref c, RejectReason.PriceOutsideCollar, sink); return; }
        if (!priceChanged && quantity == o.Quantity) { Reject(ref c, RejectReason.NothingToAmend, sink); return; }

        if (!priceChanged && quantity < o.Quantity)
        {
            // Quantity down at the same price keeps time priority.
            _levels[o.Level].Quantity -= o.Quantity - quantity;
            o.Quantity = quantity;
            EmitOrderReport(ref c, ReportType.Amended, o.OrderId, o.AccountId, o.Side, price, quantity, quantity, sink);
            return;
        }

        bool crosses = priceChanged && Crosses(o.Side, price);
        if (crosses)
        {
            if ((o.Flags & OrderFlags.PostOnly) != 0) { Reject(ref c, RejectReason.PostOnlyWouldTake, sink); return; }
            if (State == MarketState.PostOnly) { Reject(ref c, RejectReason.MarketPostOnly, sink); return; }
        }

        if (!crosses && priceChanged && TryMoveSoleOrder(idx, price, quantity))
        {
            EmitOrderReport(ref c, ReportType.Amended, o.OrderId, o.AccountId, o.Side, price, quantity, quantity, sink);
            return;
        }

        // A price change or a quantity increase loses time priority: back of the (new) level.
        UnlinkFromLevel(idx);
        o.Price = price;
        o.Quantity = quantity;
        EmitOrderReport(ref c, ReportType.Amended, o.OrderId, o.AccountId, o.Side, price, quantity, quantity, sink);
        if (!crosses)
        {
            LinkToLevel(idx);
            return;
        }

        long tradeBefore = _counters.LastTradeId;
        long remaining = Match(ref c, o.Side, o.OrderId, o.AccountId, price, quantity, sink, out bool selfTrade);
        o = ref _orders[idx];
        if (remaining == 0)
        {
            UnlinkFromAccount(idx);
            _orderIndex.Remove(o.OrderId);
            FreeOrder(idx);
        }
        else if (selfTrade)
        {
            EmitCancel(ref c, ReportType.Cancelled, o.OrderId, o.AccountId, o.Side, price, remaining, CancelReason.SelfTradePrevention, sink);
            UnlinkFromAccount(idx);
            _orderIndex.Remove(o.OrderId);
            FreeOrder(idx);
        }
        else
        {
            o.Quantity = remaining;
            LinkToLevel(idx);
        }
        if (_counters.LastTradeId != tradeBefore) OnTraded();
    }

    /// <summary>Cancels every resting order of <paramref name="accountId"/>, newest first; returns how many.</summary>
    internal int CancelAccount(ref Command c, long accountId, IExecutionReportSink sink)
    {
        int count = 0;
        int idx = _accountHeads.Get(accountId);
        while (idx != Nil)
        {
            ref OrderNode o = ref _orders[idx];
            int next = o.AccountNext;
            EmitCancel(ref c, ReportType.Cancelled, o.OrderId, o.AccountId, o.Side, o.Price, o.Quantity, CancelReason.CancelAll, sink);
            RemoveOrder(idx);
            idx = next;
            count++;
        }
        return count;
    }

    internal void SetState(MarketState state) => State = state;

    // ------------------------------------------------------------------ matching

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Crosses(Side side, long price)
    {
        if (side == Side.Buy) return _asks.Count > 0 && price >= _levels[_asks.Best].Price;
        return _bids.Count > 0 && price <= _levels[_bids.Best].Price;
    }

    /// <summary>
    /// Executes an aggressor against the opposite side while prices cross. Returns the quantity left.
    /// Stops with <paramref name="selfTrade"/> set when the next maker belongs to the aggressor's account.
    /// </summary>
    private long Match(ref Command c, Side side, long orderId, long accountId, long limit, long quantity,
        IExecutionReportSink sink, out bool selfTrade)
    {
        selfTrade = false;
        bool buy = side == Side.Buy;
        PriceLadder ladder = buy ? _asks : _bids;
        Side makerSide = buy ? Side.Sell : Side.Buy;
        OrderNode[] orders = _orders;
        while (quantity > 0 && ladder.Count > 0)
        {
            int lv = ladder.Best;
            ref PriceLevel level = ref _levels[lv];
            long levelPrice = level.Price;
            if (buy ? levelPrice > limit : levelPrice < limit) break;
            int m = level.Head;
            while (m != Nil && quantity > 0)
            {
                ref OrderNode maker = ref orders[m];
                if (maker.AccountId == accountId)
                {
                    selfTrade = true;
                    return quantity;
                }
                long fill = maker.Quantity < quantity ? maker.Quantity : quantity;
                quantity -= fill;
                maker.Quantity -= fill;
                level.Quantity -= fill;
                long tradeId = ++_counters.LastTradeId;
                LastTradePrice = levelPrice;
                EmitFill(ref c, orderId, accountId, side, levelPrice, fill, quantity, tradeId, maker.OrderId, maker.AccountId, Liquidity.Taker, sink);
                EmitFill(ref c, maker.OrderId, maker.AccountId, makerSide, levelPrice, fill, maker.Quantity, tradeId, orderId, accountId, Liquidity.Maker, sink);
                int next = maker.Next;
                if (maker.Quantity == 0)
                {
                    level.Head = next;
                    if (next != Nil) orders[next].Prev = Nil;
                    else level.Tail = Nil;
                    level.Count--;
                    UnlinkFromAccount(m);
                    _orderIndex.Remove(maker.OrderId);
                    FreeOrder(m);
                }
                m = next;
            }
            if (level.Count == 0)
            {
                ladder.RemoveBest();
                FreeLevel(lv);
            }
        }
        return quantity;
    }

    /// <summary>Whether a FOK order can be filled in full, stopping at the first order of its own account.</summary>
    private bool CanFill(Side side, long limit, long quantity, long accountId)
    {
        bool buy = side == Side.Buy;
        PriceLadder ladder = buy ? _asks : _bids;
        bool accountHasOrders = _accountHeads.Get(accountId) != Nil;
        for (int rank = 0; rank < ladder.Count && quantity > 0; rank++)
        {
            ref PriceLevel level = ref _levels[ladder.LevelFromBest(rank)];
            if (buy ? level.Price > limit : level.Price < limit) return false;
            if (!accountHasOrders)
            {
                quantity -= level.Quantity;
                continue;
            }
            for (int m = level.Head; m != Nil && quantity > 0; m = _orders[m].Next)
            {
                if (_orders[m].AccountId == accountId) return false;
                quantity -= _orders[m].Quantity;
            }
        }
        return quantity <= 0;
    }

    private long ProtectionPrice(Side side, long bestOpposite)
    {
        long offset = (long)((Int128)bestOpposite * Market.MarketOrderProtectionBasisPoints / 10_000);
        if (side == Side.Buy)
        {
            long p = bestOpposite > long.MaxValue - offset ? long.MaxValue : bestOpposite + offset;
            return p / _tick * _tick;
        }
        long s = bestOpposite - offset;
        long ceil = (s + _tick - 1) / _tick * _tick;
        return Math.Max(_tick, ceil);
    }

    private void OnTraded()
    {
        if (ReferencePrice == LastTradePrice) return;
        ReferencePrice = LastTradePrice;
        UpdateCollar();
    }

    private void UpdateCollar()
    {
        int bps = Market.PriceCollarBasisPoints;
        if (bps == 0 || ReferencePrice <= 0)
        {
            _collarLow = long.MinValue;
            _collarHigh = long.MaxValue;
            return;
        }
        long offset = (long)((Int128)ReferencePrice * bps / 10_000);
        long low = ReferencePrice - offset;
        _collarLow = (low + _tick - 1) / _tick * _tick;
        long high = ReferencePrice > long.MaxValue - offset ? long.MaxValue : ReferencePrice + offset;
        _collarHigh = high / _tick * _tick;
    }

    // ------------------------------------------------------------------ book structure

    private void Rest(long orderId, long accountId, Side side, long price, long quantity, OrderFlags flags)
    {
        int idx = AllocOrder();
        ref OrderNode o = ref _orders[idx];
        o.OrderId = orderId;
        o.AccountId = accountId;
        o.Side = side;
        o.Price = price;
        o.Quantity = quantity;
        o.Flags = flags;
        LinkToLevel(idx);
        LinkToAccount(idx);
        _orderIndex.Set(orderId, idx);
    }

    /// <summary>
    /// The common move: an order alone at its level goes to a price where no level exists. Instead
    /// of unlinking (free the level, remove it from the ladder) and linking (allocate a level, which
    /// is the same index from the free list, insert it), the level is re-priced in place and shifted
    /// within the ladder. The resulting book, level indices and free list are exactly the same.
    /// </summary>
    /// <returns>false, with nothing changed, when the order shares its level or a level exists at <paramref name="price"/>.</returns>
    private bool TryMoveSoleOrder(int idx, long price, long quantity)
    {
        ref OrderNode o = ref _orders[idx];
        ref PriceLevel level = ref _levels[o.Level];
        if (level.Count != 1) return false;
        PriceLadder ladder = o.Side == Side.Buy ? _bids : _asks;
        if (!ladder.TryReprice(level.Price, price)) return false;
        level.Price = price;
        level.Quantity = quantity;
        o.Price = price;
        o.Quantity = quantity;
        return true;
    }

    private void LinkToLevel(int idx)
    {
        ref OrderNode o = ref _orders[idx];
        PriceLadder ladder = o.Side == Side.Buy ? _bids : _asks;
        int pos = ladder.Find(o.Price);
        int lv;
        if (pos >= 0)
        {
            lv = ladder.LevelAt(pos);
        }
        else
        {
            lv = AllocLevel(o.Price);
            ladder.Insert(~pos, o.Price, lv);
        }
        ref PriceLevel level = ref _levels[lv];
        o.Level = lv;
        o.Next = Nil;
        o.Prev = level.Tail;
        if (level.Tail != Nil) _orders[level.Tail].Next = idx;
        else level.Head = idx;
        level.Tail = idx;
        level.Count++;
        level.Quantity += o.Quantity;
    }

    private void UnlinkFromLevel(int idx)
    {
        ref OrderNode o = ref _orders[idx];
        int lv = o.Level;
        ref PriceLevel level = ref _levels[lv];
        if (o.Prev != Nil) _orders[o.Prev].Next = o.Next;
        else level.Head = o.Next;
        if (o.Next != Nil) _orders[o.Next].Prev = o.Prev;
        else level.Tail = o.Prev;
        level.Quantity -= o.Quantity;
        level.Count--;
        if (level.Count == 0)
        {
            PriceLadder ladder = o.Side == Side.Buy ? _bids : _asks;
            if (ladder.Best == lv) ladder.RemoveBest();
            else ladder.RemoveAt(ladder.Find(level.Price));
            FreeLevel(lv);
        }
    }

    private void LinkToAccount(int idx)
    {
        ref OrderNode o = ref _orders[idx];
        int head = _accountHeads.Get(o.AccountId);
        o.AccountPrev = Nil;
        o.AccountNext = head;
        if (head != Nil) _orders[head].AccountPrev = idx;
        _accountHeads.Set(o.AccountId, idx);
    }

    private void UnlinkFromAccount(int idx)
    {
        ref OrderNode o = ref _orders[idx];
        if (o.AccountPrev != Nil)
        {
            _orders[o.AccountPrev].AccountNext = o.AccountNext;
        }
        else if (o.AccountNext != Nil)
        {
            _accountHeads.Set(o.AccountId, o.AccountNext);
        }
        else
        {
            _accountHeads.Remove(o.AccountId);
        }
        if (o.AccountNext != Nil) _orders[o.AccountNext].AccountPrev = o.AccountPrev;
    }

    private void RemoveOrder(int idx)
    {
        UnlinkFromLevel(idx);
        UnlinkFromAccount(idx);
        _orderIndex.Remove(_orders[idx].OrderId);
        FreeOrder(idx);
    }

    private int AllocOrder()
    {
        if (_orderFree != Nil)
        {
            int idx = _orderFree;
            _orderFree = _orders[idx].Next;
            return idx;
        }
        if (_orderUsed == _orders.Length) Array.Resize(ref _orders, _orders.Length * 2);
        return _orderUsed++;
    }

    private void FreeOrder(int idx)
    {
        _orders[idx] = default;
        _orders[idx].Next = _orderFree;
        _orderFree = idx;
    }

    private int AllocLevel(long price)
    {
        int lv;
        if (_levelFree != Nil)
        {
            lv = _levelFree;
            _levelFree = _levels[lv].Head;
        }
        else
        {
            if (_levelUsed == _levels.Length) Array.Resize(ref _levels, _levels.Length * 2);
            lv = _levelUsed++;
        }
        _levels[lv] = new PriceLevel { Price = price, Head = Nil, Tail = Nil };
        return lv;
    }

    private void FreeLevel(int lv)
    {
        _levels[lv].Head = _levelFree;
        _levels[lv].Count = 0;
        _levelFree = lv;
    }

    // ------------------------------------------------------------------ reports

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Reject(ref Command c, RejectReason reason, IExecutionReportSink sink)
    {
        var r = new ExecutionReport
        {
            Type = ReportType.Rejected, Sequence = c.Sequence, Timestamp = c.Timestamp, MarketId = c.MarketId,
            OrderId = c.OrderId, AccountId = c.AccountId, Side = c.Side, Price = c.Price, Quantity = c.Quantity,
            RejectReason = reason, CommandType = c.Type,
        };
        sink.OnReport(in r);
    }

    private void EmitOrderReport(ref Command c, ReportType type, long orderId, long accountId, Side side, long price,
        long quantity, long leaves, IExecutionReportSink sink)
    {
        var r = new ExecutionReport
        {
            Type = type, Sequence = c.Sequence, Timestamp = c.Timestamp, MarketId = Market.Id, OrderId = orderId,
            AccountId = accountId, Side = side, Price = new Price(price), Quantity = new Quantity(quantity),
            LeavesQuantity = new Quantity(leaves), CommandType = c.Type,
        };
        sink.OnReport(in r);
    }

    private void EmitCancel(ref Command c, ReportType type, long orderId, long accountId, Side side, long price,
        long quantity, CancelReason reason, IExecutionReportSink sink)
    {
        var r = new ExecutionReport
        {
            Type = type, Sequence = c.Sequence, Timestamp = c.Timestamp, MarketId = Market.Id,
            OrderId = orderId, AccountId = accountId, Side = side, Price = new Price(price), Quantity = new Quantity(quantity),
            CancelReason = reason, CommandType = c.Type,
        };
        sink.OnReport(in r);
    }

    private void EmitFill(ref Command c, long orderId, long accountId, Side side, long price, long quantity, long leaves,
        long tradeId, long counterOrderId, long counterAccountId, Liquidity liquidity, IExecutionReportSink sink)
    {
        var r = new ExecutionReport
        {
            Type = ReportType.Fill, Sequence = c.Sequence, Timestamp = c.Timestamp, MarketId = Market.Id,
            OrderId = orderId, AccountId = accountId, Side = side, Price = new Price(price),
            Quantity = new Quantity(quantity), LeavesQuantity = new Quantity(leaves), TradeId = tradeId,
            CounterOrderId = counterOrderId, CounterAccountId = counterAccountId, Liquidity = liquidity, CommandType = c.Type,
        };
        sink.OnReport(in r);
    }

    // ------------------------------------------------------------------ queries (tools, tests, snapshots)

    /// <summary>The best level of <paramref name="side"/>, if any.</summary>
    public bool TryGetBest(Side side, out BookLevel level)
    {
        PriceLadder ladder = side == Side.Buy ? _bids : _asks;
        if (ladder.Count == 0)
        {
            level = default;
            return false;
        }
        level = ToBookLevel(ladder.Best);
        return true;
    }

    /// <summary>
    /// Whether a limit order of <paramref name="side"/> at <paramref name="price"/> would execute on
    /// entry: a buy at or above the best ask, a sell at or below the best bid (self-trade
    /// prevention not considered).
    /// </summary>
    public bool WouldExecute(Side side, Price price) => Crosses(side, price.Units);

    /// <summary>
    /// Whether resting order <paramref name="orderId"/> is first in line at the best price of its
    /// side, so that a marketable order at that price trades with it before any other.
    /// </summary>
    /// <returns>false when the order does not rest in this book.</returns>
    public bool IsFirstInLine(long orderId)
    {
        int idx = _orderIndex.Get(orderId);
        if (idx == Nil) return false;
        ref OrderNode o = ref _orders[idx];
        PriceLadder ladder = o.Side == Side.Buy ? _bids : _asks;
        return o.Prev == Nil && ladder.Best == o.Level;
    }

    /// <summary>Up to <paramref name="depth"/> levels of <paramref name="side"/>, best first.</summary>
    public IReadOnlyList<BookLevel> Levels(Side side, int depth = int.MaxValue)
    {
        PriceLadder ladder = side == Side.Buy ? _bids : _asks;
        int n = Math.Min(depth, ladder.Count);
        var list = new List<BookLevel>(n);
        for (int i = 0; i < n; i++) list.Add(ToBookLevel(ladder.LevelFromBest(i)));
        return list;
    }

    /// <summary>Looks up a resting order by id.</summary>
    public bool TryGetOrder(long orderId, out RestingOrder order)
    {
        int idx = _orderIndex.Get(orderId);
        if (idx == Nil)
        {
            order = default;
            return false;
        }
        order = ToRestingOrder(idx);
        return true;
    }

    /// <summary>
    /// Every resting order in canonical order: bids best to worst, then asks best to worst, each
    /// level in time priority. This order defines the state hash and the snapshot.
    /// </summary>
    public IEnumerable<RestingOrder> RestingOrders()
    {
        foreach (var ladder in new[] { _bids, _asks })
        {
            for (int rank = 0; rank < ladder.Count; rank++)
            {
                for (int m = _levels[ladder.LevelFromBest(rank)].Head; m != Nil; m = _orders[m].Next)
                    yield return ToRestingOrder(m);
            }
        }
    }

    /// <summary>Number of resting orders of <paramref name="accountId"/>.</summary>
    public int OrderCountOf(long accountId)
    {
        int n = 0;
        for (int idx = _accountHeads.Get(accountId); idx != Nil; idx = _orders[idx].AccountNext) n++;
        return n;
    }

    private BookLevel ToBookLevel(int lv)
    {
        ref PriceLevel l = ref _levels[lv];
        return new BookLevel(new Price(l.Price), new Quantity(l.Quantity), l.Count);
    }

    private RestingOrder ToRestingOrder(int idx)
    {
        ref OrderNode o = ref _orders[idx];
        return new RestingOrder(o.OrderId, o.AccountId, o.Side, new Price(o.Price), new Quantity(o.Quantity), o.Flags);
    }

    /// <summary>Appends a resting order at the back of its level, as when loading a snapshot.</summary>
    /// <exception cref="InvalidDataException">The order is invalid for this market or its id is already live.</exception>
    internal void Restore(in RestingOrder order)
    {
        if (order.OrderId <= 0 || order.Quantity.Units <= 0 || order.Price.Units <= 0 || (uint)(order.Side - 1) > 1u)
            throw new InvalidDataException($"snapshot: invalid order {order} in market {Market.Symbol}");
        if (_orderIndex.Get(order.OrderId) != Nil)
            throw new InvalidDataException($"snapshot: order id {order.OrderId} appears twice in market {Market.Symbol}");
        Rest(order.OrderId, order.AccountId, order.Side, order.Price.Units, order.Quantity.Units, order.Flags);
    }

    /// <summary>Restores market state and prices, as when loading a snapshot.</summary>
    internal void RestoreState(MarketState state, long referencePrice, long lastTradePrice)
    {
        State = state;
        ReferencePrice = referencePrice;
        LastTradePrice = lastTradePrice;
        UpdateCollar();
    }
}

/// <summary>Engine-wide counters shared by all books.</summary>
internal sealed class EngineCounters
{
    /// <summary>Id of the last trade (0 before the first); trade ids are engine-wide and consecutive.</summary>
    public long LastTradeId;
}
