namespace ExchangeHealth.Engine.Workload;

/// <summary>
/// A deterministic (seeded) generator of realistic order flow, modelled on exchange-core's
/// <c>TestOrdersGenerator</c>: about 1,000 accounts, a pre-fill that builds up about 1,000 resting
/// orders over many price levels around the reference price, then a steady stream that mixes GTC
/// limit orders (some crossing), IOC, FOK, cancels, moves and reductions of live orders while
/// keeping the number of resting orders near its target.
/// </summary>
/// <remarks>
/// <para>
/// The generator runs every command it emits through its own <see cref="ShadowEngine"/> (a
/// <see cref="MatchingEngine"/> over the same markets) and follows the live orders from that
/// engine's execution reports (<see cref="LiveOrders"/>), so cancels and amends always name a live
/// order with its owner, current price and open quantity. Because the engine is deterministic, an
/// engine elsewhere that starts empty with the same markets and receives the same commands in the
/// same order ends in the same state (<see cref="MatchingEngine.ComputeStateHash"/>) with the same
/// reports: the commands can be replayed by a benchmark, a load driver or a journal.
/// </para>
/// <para>
/// Every price is on the tick grid, inside the market's collar and maximum price; every quantity
/// on the lot grid within the minimum and maximum, so almost nothing is rejected
/// (<see cref="WorkloadStats.RejectShare"/> reports the share). Commands carry sequence number
/// and timestamp 0; a sequencer assigns them. Not thread-safe.
/// </para>
/// </remarks>
public sealed class WorkloadGenerator
{
    private readonly WorkloadOptions _options;
    private readonly WorkloadRandom _random;
    private readonly Lane[] _lanes;
    private readonly double[] _cumulativeMix = new double[WorkloadCommandKinds.Count];
    private readonly long[] _kindCounts = new long[WorkloadCommandKinds.Count];
    private long _nextOrderId;
    private long _preFillCommands;
    private long _preFillRejects;
    private long _commands;
    private long _commandRejects;
    private long _crossingGtc;
    private int _minResting = int.MaxValue;
    private int _maxResting;

    /// <summary>Creates a generator (and its shadow engine, with empty books).</summary>
    /// <param name="options">The configuration (default: <see cref="WorkloadOptions"/>'s defaults: BTC/USD, 1,000 accounts, 1,000 resting orders).</param>
    /// <exception cref="ArgumentException">The options are invalid, or name a market that is not configured.</exception>
    public WorkloadGenerator(WorkloadOptions? options = null)
    {
        _options = options ?? new WorkloadOptions();
        string? problem = _options.Validate();
        if (problem is not null) throw new ArgumentException(problem, nameof(options));
        Markets = _options.Markets ?? MarketsFile.Default();
        LiveOrders = new LiveOrderTracker();
        ShadowEngine = new MatchingEngine(Markets, LiveOrders);
        _random = new WorkloadRandom(_options.Seed);
        _nextOrderId = _options.FirstOrderId;

        _lanes = new Lane[_options.MarketIds.Count];
        int perMarket = _options.TargetRestingOrders / _lanes.Length;
        for (int i = 0; i < _lanes.Length; i++)
        {
            ushort id = _options.MarketIds[i];
            OrderBook book = ShadowEngine.FindBook(id)
                ?? throw new ArgumentException($"market_ids: market {id} is not configured", nameof(options));
            int target = perMarket + (i < _options.TargetRestingOrders % _lanes.Length ? 1 : 0);
            _lanes[i] = new Lane(book, target, _options.PriceSpreadTicks);
        }

        double total = _options.Mix.Total;
        double sum = 0;
        for (int k = 0; k < WorkloadCommandKinds.Count; k++)
        {
            sum += _options.Mix.WeightOf((WorkloadCommandKind)k) / total;
            _cumulativeMix[k] = sum;
        }
        _cumulativeMix[^1] = 1.0;
    }

    /// <summary>The options in force.</summary>
    public WorkloadOptions Options => _options;

    /// <summary>All configured markets (those of the shadow engine).</summary>
    public IReadOnlyList<MarketDefinition> Markets { get; }

    /// <summary>
    /// The engine that has processed every command generated so far. Read it (books, state hash);
    /// do not send it commands of your own, or the generator's view of the live orders drifts from
    /// the stream it emitted.
    /// </summary>
    public MatchingEngine ShadowEngine { get; }

    /// <summary>The live orders of the shadow engine, followed from its execution reports.</summary>
    public LiveOrderTracker LiveOrders { get; }

    /// <summary>Whether every market has reached its share of <see cref="WorkloadOptions.TargetRestingOrders"/>.</summary>
    public bool IsPreFilled
    {
        get
        {
            foreach (var lane in _lanes)
            {
                if (LiveOrders.CountOf(lane.Id) < lane.Target) return false;
            }
            return true;
        }
    }

    /// <summary>
    /// Generates passive GTC orders (alternating sides per market, prices spread over many levels
    /// around the mid, none crossing) until every market holds its target number of resting orders.
    /// Call it first; calling it again after the target is reached returns an empty array.
    /// </summary>
    /// <returns>The pre-fill commands, in order.</returns>
    public Command[] PreFill()
    {
        var list = new List<Command>(_options.TargetRestingOrders + 16);
        // Bounded: each command adds one resting order unless the market clamps it into a cross.
        long budget = 4L * _options.TargetRestingOrders + 1_000;
        while (!IsPreFilled && budget-- > 0)
        {
            foreach (var lane in _lanes)
            {
                if (LiveOrders.CountOf(lane.Id) >= lane.Target) continue;
                Side side = LiveOrders.CountOf(lane.Id, Side.Buy) <= LiveOrders.CountOf(lane.Id, Side.Sell) ? Side.Buy : Side.Sell;
                Command c = PassiveLimit(lane, side);
                long rejects = LiveOrders.Rejects;
                ShadowEngine.Process(ref c);
                _preFillRejects += LiveOrders.Rejects - rejects;
                _preFillCommands++;
                list.Add(c);
            }
        }
        return [.. list];
    }

    /// <summary>Generates the next <paramref name="count"/> steady-state commands.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative.</exception>
    public Command[] Generate(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var commands = new Command[count];
        Generate(commands);
        return commands;
    }

    /// <summary>Fills <paramref name="destination"/> with the next steady-state commands.</summary>
    public void Generate(Span<Command> destination)
    {
        for (int i = 0; i < destination.Length; i++) Next(out destination[i]);
    }

    /// <summary>
    /// Generates one steady-state command: a kind drawn from <see cref="WorkloadOptions.Mix"/>
    /// (nudged to keep the resting-order count within its tolerance band), in a market drawn
    /// uniformly from <see cref="WorkloadOptions.MarketIds"/>, and applies it to the shadow engine.
    /// </summary>
    /// <param name="command">The command.</param>
    public void Next(out Command command)
    {
        Lane lane = _lanes.Length == 1 ? _lanes[0] : _lanes[_random.Next(_lanes.Length)];
        WorkloadCommandKind kind = DrawKind();
        int resting = LiveOrders.CountOf(lane.Id);
        double tolerance = _options.RestingOrdersTolerance;
        bool forcePassive = false;
        if (kind == WorkloadCommandKind.Cancel && resting < lane.Target * (1 - tolerance))
        {
            kind = WorkloadCommandKind.GoodTillCancel;
            forcePassive = true;
        }
        else if (kind == WorkloadCommandKind.GoodTillCancel && resting > lane.Target * (1 + tolerance))
        {
            kind = WorkloadCommandKind.Cancel;
        }
        if (resting == 0 && kind is WorkloadCommandKind.Cancel or WorkloadCommandKind.Move or WorkloadCommandKind.Reduce)
        {
            kind = WorkloadCommandKind.GoodTillCancel;
            forcePassive = true;
        }

        command = kind switch
        {
            WorkloadCommandKind.GoodTillCancel => NewGoodTillCancel(lane, forcePassive),
            WorkloadCommandKind.ImmediateOrCancel => Aggressive(lane, TimeInForce.ImmediateOrCancel),
            WorkloadCommandKind.FillOrKill => Aggressive(lane, TimeInForce.FillOrKill),
            WorkloadCommandKind.Market => MarketOrder(lane),
            WorkloadCommandKind.Cancel => CancelLive(lane),
            WorkloadCommandKind.Move => Move(lane, ref kind),
            _ => Reduce(lane, ref kind),
        };
        _kindCounts[(int)kind]++;

        long rejects = LiveOrders.Rejects;
        ShadowEngine.Process(ref command);
        _commandRejects += LiveOrders.Rejects - rejects;
        _commands++;
        resting = LiveOrders.Count;
        if (resting < _minResting) _minResting = resting;
        if (resting > _maxResting) _maxResting = resting;
    }

    /// <summary>A snapshot of what has been generated so far.</summary>
    public WorkloadStats Stats
    {
        get
        {
            int levels = 0;
            foreach (var lane in _lanes) levels += lane.Book.BidLevelCount + lane.Book.AskLevelCount;
            return new WorkloadStats
            {
                PreFillCommands = _preFillCommands,
                PreFillRejects = _preFillRejects,
                Commands = _commands,
                Rejects = _commandRejects,
                KindCounts = [.. _kindCounts],
                CrossingGoodTillCancel = _crossingGtc,
                Trades = LiveOrders.Trades,
                Reports = LiveOrders.Reports,
                RestingOrders = LiveOrders.Count,
                TargetRestingOrders = _options.TargetRestingOrders,
                MinRestingOrders = _commands == 0 ? LiveOrders.Count : _minResting,
                MaxRestingOrders = _commands == 0 ? LiveOrders.Count : _maxResting,
                PriceLevels = levels,
            };
        }
    }

    // ------------------------------------------------------------------ command kinds

    private WorkloadCommandKind DrawKind()
    {
        double u = _random.NextDouble();
        for (int k = 0; k < _cumulativeMix.Length; k++)
        {
            if (u < _cumulativeMix[k]) return (WorkloadCommandKind)k;
        }
        return WorkloadCommandKind.Move;
    }

    private Command NewGoodTillCancel(Lane lane, bool forcePassive)
    {
        if (!forcePassive && _random.Chance(_options.CrossingGtcShare))
        {
            Side side = AggressorSide(lane);
            if (TryBest(lane, Opposite(side), out long best))
            {
                _crossingGtc++;
                long price = AggressivePrice(lane, side, best);
                return Command.Limit(lane.Id, NextAccount(), _nextOrderId++, side, price, NextQuantity(lane));
            }
        }
        int bids = LiveOrders.CountOf(lane.Id, Side.Buy);
        int asks = LiveOrders.CountOf(lane.Id, Side.Sell);
        // Lean toward the thinner side so both sides stay populated.
        double buyChance = bids == asks ? 0.5 : bids < asks ? 0.7 : 0.3;
        return PassiveLimit(lane, _random.Chance(buyChance) ? Side.Buy : Side.Sell);
    }

    private Command PassiveLimit(Lane lane, Side side)
    {
        long tick = lane.Tick;
        long mid = Mid(lane);
        double u = _random.NextDouble();
        long distance = 1 + (long)(lane.SpreadTicks * u * u);
        long price;
        if (side == Side.Buy)
        {
            price = mid - distance * tick;
            if (TryBest(lane, Side.Sell, out long bestAsk) && price >= bestAsk) price = bestAsk - tick;
        }
        else
        {
            price = mid + distance * tick;
            if (TryBest(lane, Side.Buy, out long bestBid) && price <= bestBid) price = bestBid + tick;
        }
        price = ClampToCollar(lane, price);
        return Command.Limit(lane.Id, NextAccount(), _nextOrderId++, side, price, NextQuantity(lane));
    }

    private Command Aggressive(Lane lane, TimeInForce tif)
    {
        Side side = AggressorSide(lane);
        long price = TryBest(lane, Opposite(side), out long best) ? AggressivePrice(lane, side, best) : ClampToCollar(lane, Mid(lane));
        return Command.Limit(lane.Id, NextAccount(), _nextOrderId++, side, price, NextQuantity(lane), tif);
    }

    private Command MarketOrder(Lane lane) =>
        Command.MarketOrder(lane.Id, NextAccount(), _nextOrderId++, AggressorSide(lane), NextQuantity(lane));

    private Command CancelLive(Lane lane)
    {
        TrackedOrder o = PickLive(lane);
        return Command.CancelOrder(lane.Id, o.AccountId, o.OrderId);
    }

    private Command Move(Lane lane, ref WorkloadCommandKind kind)
    {
        TrackedOrder o = PickLive(lane);
        long tick = lane.Tick;
        long mid = Mid(lane);
        long deltaTicks = (mid - o.Price) / tick;
        // At least one tick toward the mid (as exchange-core's moves), plus a symmetric jitter.
        long step = (long)Math.Ceiling(Math.Abs(deltaTicks) * _options.MoveTowardMid);
        if (step == 0 && deltaTicks != 0) step = 1;
        step *= Math.Sign(deltaTicks);
        int jitter = _options.MoveJitterTicks;
        if (jitter > 0) step += _random.Next(-jitter, jitter);
        if (step == 0) step = _random.Chance(0.5) ? 1 : -1;
        long price = ClampToCollar(lane, o.Price + step * tick);
        if (price == o.Price)
        {
            price = ClampToCollar(lane, o.Price - step * tick);
            if (price == o.Price)
            {
                kind = WorkloadCommandKind.Cancel;
                return Command.CancelOrder(lane.Id, o.AccountId, o.OrderId);
            }
        }
        return Command.AmendOrder(lane.Id, o.AccountId, o.OrderId, price, o.Quantity);
    }

    private Command Reduce(Lane lane, ref WorkloadCommandKind kind)
    {
        TrackedOrder o = PickLive(lane);
        long lots = o.Quantity / lane.Lot;
        long minLots = lane.MinQuantity / lane.Lot;
        if (lots - 1 < minLots)
        {
            // Too small to reduce: move it instead (the mix counts what was emitted).
            kind = WorkloadCommandKind.Move;
            return Move(lane, ref kind);
        }
        long newLots = minLots + (long)(_random.NextDouble() * (lots - minLots));
        if (newLots >= lots) newLots = lots - 1;
        return Command.AmendOrder(lane.Id, o.AccountId, o.OrderId, o.Price, newLots * lane.Lot);
    }

    // ------------------------------------------------------------------ helpers

    private TrackedOrder PickLive(Lane lane) => LiveOrders.At(lane.Id, _random.Next(LiveOrders.CountOf(lane.Id)));

    private long NextAccount() => _options.FirstAccountId + _random.Next(_options.Accounts);

    private long NextQuantity(Lane lane)
    {
        int f = _options.MaxSizeFactor + 1;
        long lots = 1 + (long)_random.Next(f) * _random.Next(f) * _random.Next(f);
        long quantity = lots * lane.Lot;
        if (quantity < lane.MinQuantity) quantity = lane.MinQuantity;
        if (quantity > lane.MaxQuantity) quantity = lane.MaxQuantity;
        return quantity;
    }

    /// <summary>
    /// The side of an aggressive order: even, unless the last trade has drifted more than
    /// <see cref="WorkloadOptions.PriceDriftBand"/> from the configured reference, then 3:1 toward
    /// the side that brings it back (exchange-core's price direction, in spirit).
    /// </summary>
    private Side AggressorSide(Lane lane)
    {
        long anchor = lane.Book.Market.ReferencePrice;
        long last = lane.Book.LastTradePrice;
        double buyChance = 0.5;
        if (anchor > 0 && last > 0)
        {
            double drift = (double)(last - anchor) / anchor;
            if (drift > _options.PriceDriftBand) buyChance = 0.25;
            else if (drift < -_options.PriceDriftBand) buyChance = 0.75;
        }
        return _random.Chance(buyChance) ? Side.Buy : Side.Sell;
    }

    private long AggressivePrice(Lane lane, Side side, long bestOpposite)
    {
        long k = _random.Next(_options.AggressionTicks + 1);
        long price = side == Side.Buy ? bestOpposite + k * lane.Tick : bestOpposite - k * lane.Tick;
        return ClampToCollar(lane, price);
    }

    private static Side Opposite(Side side) => side == Side.Buy ? Side.Sell : Side.Buy;

    private static bool TryBest(Lane lane, Side side, out long price)
    {
        if (lane.Book.TryGetBest(side, out BookLevel level))
        {
            price = level.Price.Units;
            return true;
        }
        price = 0;
        return false;
    }

    /// <summary>The mid of the best bid and ask on the tick grid; else one side's best, the last trade, the reference, or 1,000 ticks.</summary>
    private static long Mid(Lane lane)
    {
        bool hasBid = TryBest(lane, Side.Buy, out long bid);
        bool hasAsk = TryBest(lane, Side.Sell, out long ask);
        long tick = lane.Tick;
        if (hasBid && hasAsk) return (bid + (ask - bid) / 2) / tick * tick;
        if (hasBid) return bid;
        if (hasAsk) return ask;
        if (lane.Book.LastTradePrice > 0) return lane.Book.LastTradePrice;
        if (lane.Book.ReferencePrice > 0) return lane.Book.ReferencePrice;
        return 1_000 * tick;
    }

    /// <summary>Clamps a price into the market's current collar, [tick, max price], on the tick grid.</summary>
    private static long ClampToCollar(Lane lane, long price)
    {
        long tick = lane.Tick;
        long low = tick;
        long high = lane.Book.Market.MaxPrice / tick * tick;
        int bps = lane.Book.Market.PriceCollarBasisPoints;
        long reference = lane.Book.ReferencePrice;
        if (bps > 0 && reference > 0)
        {
            // As docs/engine-semantics.md: [ceilToTick(R - floor(R*b/10000)), floorToTick(R + floor(R*b/10000))].
            long offset = (long)((Int128)reference * bps / 10_000);
            long collarLow = reference - offset;
            collarLow = (collarLow + tick - 1) / tick * tick;
            long collarHigh = (reference + offset) / tick * tick;
            low = Math.Max(low, collarLow);
            high = Math.Min(high, collarHigh);
        }
        price = price / tick * tick;
        if (price < low) price = low;
        if (price > high) price = high;
        return price;
    }

    private sealed class Lane
    {
        public Lane(OrderBook book, int target, int spreadTicks)
        {
            Book = book;
            Id = book.Market.Id;
            Target = target;
            Tick = book.Market.TickSize;
            Lot = book.Market.LotSize;
            MinQuantity = Math.Max(book.Market.MinQuantity, book.Market.LotSize);
            MaxQuantity = book.Market.MaxQuantity / Lot * Lot;
            long spread = spreadTicks;
            int bps = book.Market.PriceCollarBasisPoints;
            long reference = book.Market.ReferencePrice;
            if (bps > 0 && reference > 0)
            {
                // Keep passive orders well inside the collar: a quarter of its width.
                long collarTicks = (long)((Int128)reference * bps / 10_000 / Tick);
                spread = Math.Max(1, Math.Min(spread, collarTicks / 2));
            }
            SpreadTicks = spread;
        }

        public OrderBook Book { get; }
        public ushort Id { get; }
        public int Target { get; }
        public long Tick { get; }
        public long Lot { get; }
        public long MinQuantity { get; }
        public long MaxQuantity { get; }
        public long SpreadTicks { get; }
    }
}
