using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Primitives;

namespace ExchangeHealth.TestKit;

/// <summary>
/// Seeded random command streams over two tiny markets, built so that interesting collisions
/// happen often: few accounts (self-trades), order ids 1..30 (duplicates, reuse), prices in a
/// narrow band on and off the tick grid (crossing, collar), every order type, time in force and
/// flag, cancels and amends of orders the stream sent, cancel-all, all five market states, and a
/// few malformed values and unknown markets.
/// </summary>
/// <remarks>
/// The same seed always gives the same stream (<see cref="Random"/> with a seed is stable for a
/// given .NET version). Sequence numbers are 1..n and timestamps increase. To aim most cancels and
/// amends at orders that are really live, and to bring halted markets back online, the generator
/// runs its own <see cref="ReferenceEngine"/> over what it generated; it only reads the book and
/// states from it, so the streams stay random and no expected result is built in.
/// </remarks>
public sealed class CommandStreamGenerator
{
    /// <summary>Market with a 10% collar around a reference price of 1000, min and max quantity: tick 5, lot 10, max price 2000.</summary>
    public const ushort CollarMarketId = 1;

    /// <summary>
    /// Market with a 20% collar but no configured reference price (so no collar until its first
    /// trade): tick 2, lot 3, no minimum, max quantity 45, max price 60.
    /// </summary>
    public const ushort PlainMarketId = 2;

    /// <summary>The highest order id the generator uses for valid orders (ids are 1..this).</summary>
    public const int MaxOrderId = 30;

    private static readonly ushort[] UnknownMarkets = [0, 3, 7, 1024, 1025, ushort.MaxValue];

    private readonly Random _random;
    private readonly List<SentOrder> _sent = [];
    private readonly ReferenceEngine _tracker = new(Markets);
    private readonly int _accounts;
    private long _sequence = 1;

    /// <summary>Creates a generator for one stream.</summary>
    /// <param name="seed">Seed of the random source: the same seed gives the same stream.</param>
    /// <param name="accounts">Number of accounts (ids 1..accounts), 3..5 makes self-trades common.</param>
    public CommandStreamGenerator(int seed, int accounts = 4)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(accounts, 1);
        _random = new Random(seed);
        _accounts = accounts;
    }

    /// <summary>The two markets the streams are meant for (ids <see cref="CollarMarketId"/> and <see cref="PlainMarketId"/>).</summary>
    public static IReadOnlyList<MarketDefinition> Markets { get; } =
    [
        new MarketDefinition
        {
            Id = CollarMarketId, Symbol = "COL/USD", PriceScale = 2, QuantityScale = 2, TickSize = 5, LotSize = 10,
            MinQuantity = 20, MaxQuantity = 300, MaxPrice = 2000, PriceCollarBasisPoints = 1000,
            MarketOrderProtectionBasisPoints = 1200, ReferencePrice = 1000,
        },
        new MarketDefinition
        {
            Id = PlainMarketId, Symbol = "PLN/USD", PriceScale = 0, QuantityScale = 0, TickSize = 2, LotSize = 3,
            MaxQuantity = 45, MaxPrice = 60, PriceCollarBasisPoints = 2000, MarketOrderProtectionBasisPoints = 700,
        },
    ];

    /// <summary>A stream of 1..<paramref name="maxLength"/> commands for <paramref name="seed"/>.</summary>
    public static Command[] Generate(int seed, int maxLength = 200)
    {
        var generator = new CommandStreamGenerator(seed, 3 + (int)((uint)seed % 3));
        int length = 1 + generator._random.Next(maxLength);
        return generator.Next(length);
    }

    /// <summary>The next <paramref name="count"/> commands of this stream.</summary>
    public Command[] Next(int count)
    {
        var commands = new Command[count];
        for (int i = 0; i < count; i++)
        {
            var c = NextCommand();
            long sequence = _sequence++;
            c.Sequence = new SequenceNumber(sequence);
            c.Timestamp = 1_700_000_000_000_000_000 + sequence * 1_000;
            commands[i] = c;
            _tracker.Process(c);
        }
        return commands;
    }

    private Command NextCommand()
    {
        // Non-online episodes are short, so most of a stream trades.
        foreach (var marketId in new[] { CollarMarketId, PlainMarketId })
        {
            if (_tracker.StateOf(marketId) != MarketState.Online && Chance(12))
                return Command.ChangeMarketState(marketId, MarketState.Online);
        }
        int roll = _random.Next(100);
        return roll switch
        {
            < 60 => NewOrder(),
            < 71 => Cancel(),
            < 89 => Amend(),
            < 92 => CancelAll(),
            < 97 => SetState(),
            < 98 => Malformed(),
            _ => NewOrder(),
        };
    }

    private Command NewOrder()
    {
        ushort market = PickMarket();
        long account = PickAccount();
        long orderId = PickNewOrderId();
        Side side = Chance(1) ? (Side)Pick(0, 3, 255) : Chance(50) ? Side.Buy : Side.Sell;
        OrderType type = Chance(1) ? (OrderType)Pick(0, 3, 200) : Chance(20) ? OrderType.Market : OrderType.Limit;
        TimeInForce tif;
        if (Chance(1)) tif = (TimeInForce)Pick(0, 4, 99);
        else if (type == OrderType.Market) tif = Chance(6) ? TimeInForce.GoodTillCancel : Chance(55) ? TimeInForce.ImmediateOrCancel : TimeInForce.FillOrKill;
        else tif = Chance(68) ? TimeInForce.GoodTillCancel : Chance(55) ? TimeInForce.ImmediateOrCancel : TimeInForce.FillOrKill;
        OrderFlags flags = Chance(1) ? (OrderFlags)Pick(2, 3, 128) : Chance(16) ? OrderFlags.PostOnly : OrderFlags.None;
        if (flags == OrderFlags.PostOnly && Chance(75))
        {
            type = OrderType.Limit;
            tif = TimeInForce.GoodTillCancel;
        }
        long price = type == OrderType.Market && Chance(70) ? 0 : PickPrice(market, side);
        long quantity = PickQuantity(market);
        _sent.Add(new SentOrder(market, orderId, account, side, price, quantity));
        var c = new Command
        {
            Type = CommandType.NewOrder, MarketId = market, AccountId = account, OrderId = orderId, Side = side,
            OrderType = type, TimeInForce = tif, Flags = flags, Price = new Price(price), Quantity = new Quantity(quantity),
        };
        return c;
    }

    private Command Cancel()
    {
        if (_sent.Count == 0 || Chance(12))
            return Command.CancelOrder(PickMarket(), PickAccount(), PickNewOrderId());
        var target = Chance(80) && PickLive() is { } live ? live : _sent[_sent.Count - 1 - _random.Next(Math.Min(_sent.Count, 25))];
        long account = Chance(85) ? target.AccountId : PickAccount();
        ushort market = Chance(95) ? target.MarketId : PickMarket();
        return Command.CancelOrder(market, account, target.OrderId);
    }

    private Command Amend()
    {
        if (_sent.Count == 0 || Chance(8))
            return Command.AmendOrder(PickMarket(), PickAccount(), PickNewOrderId(), PickPrice(PlainMarketId, Side.Buy), PickQuantity(PlainMarketId));
        int index = _sent.Count - 1 - _random.Next(Math.Min(_sent.Count, 25));
        var target = _sent[index];
        if (Chance(85) && PickLive() is { } live)
        {
            target = live;
            index = -1;
        }
        long account = Chance(88) ? target.AccountId : PickAccount();
        var m = MarketOf(target.MarketId);
        long price = target.Price;
        long quantity = target.Quantity;
        switch (_random.Next(8))
        {
            case 0: // same price, quantity down
                quantity -= m.LotSize * (1 + _random.Next(3));
                break;
            case 1: // same price, quantity up
                quantity += m.LotSize * (1 + _random.Next(3));
                break;
            case 2: // same price and quantity (nothing to amend, unless the order was partly filled)
                break;
            case 3: // price change, same quantity
                price += m.TickSize * NonZero(3);
                break;
            case 4: // price change towards / through the opposite side
                price += m.TickSize * (target.Side == Side.Buy ? 1 + _random.Next(4) : -1 - _random.Next(4));
                quantity += m.LotSize * (_random.Next(3) - 1);
                break;
            case 5: // anything from the price and quantity generators (invalid values too)
                price = PickPrice(target.MarketId, target.Side);
                quantity = PickQuantity(target.MarketId);
                break;
            default: // a fresh valid price and quantity
                price = OnGrid(target.MarketId, 4);
                quantity = m.LotSize * (1 + _random.Next(6));
                break;
        }
        if (index >= 0 && Chance(90)) _sent[index] = target with { Price = price, Quantity = quantity };
        return Command.AmendOrder(target.MarketId, account, target.OrderId, price, quantity);
    }

    private Command CancelAll()
    {
        int roll = _random.Next(100);
        ushort market = roll switch
        {
            < 40 => 0,
            < 68 => CollarMarketId,
            < 95 => PlainMarketId,
            _ => UnknownMarkets[1 + _random.Next(UnknownMarkets.Length - 1)],
        };
        return Command.CancelAllOrders(PickAccount(), market);
    }

    private Command SetState()
    {
        ushort market = Chance(5) ? UnknownMarkets[_random.Next(UnknownMarkets.Length)] : Chance(50) ? CollarMarketId : PlainMarketId;
        // A market that is not online is usually brought back, so most of a stream trades.
        bool online = market is not (CollarMarketId or PlainMarketId) || _tracker.StateOf(market) == MarketState.Online;
        MarketState state = Chance(4) ? (MarketState)Pick(0, 6, 255)
            : Chance(online ? 15 : 65) ? MarketState.Online
            : (MarketState)(2 + _random.Next(4));
        return Command.ChangeMarketState(market, state);
    }

    private Command Malformed()
    {
        var c = _random.Next(3) switch
        {
            0 => NewOrder(),
            1 => Cancel(),
            _ => SetState(),
        };
        c.Type = (CommandType)Pick(0, 6, 255);
        return c;
    }

    // ------------------------------------------------------------------ value pickers

    /// <summary>A live order of either market (as the tracker sees it), or null when both books are empty.</summary>
    private SentOrder? PickLive()
    {
        var live = new List<SentOrder>();
        foreach (var marketId in new[] { CollarMarketId, PlainMarketId })
        {
            foreach (var o in _tracker.Book(marketId))
                live.Add(new SentOrder(marketId, o.OrderId, o.AccountId, o.Side, o.Price.Units, o.Quantity.Units));
        }
        return live.Count == 0 ? null : live[_random.Next(live.Count)];
    }

    private ushort PickMarket()
    {
        if (Chance(2)) return UnknownMarkets[_random.Next(UnknownMarkets.Length)];
        return Chance(50) ? CollarMarketId : PlainMarketId;
    }

    private long PickAccount() => 1 + _random.Next(_accounts);

    private long PickNewOrderId()
    {
        if (Chance(2)) return Pick(0, -1, long.MinValue);
        return 1 + _random.Next(MaxOrderId);
    }

    /// <summary>Mostly valid prices near the middle of the band, some far (collar), off-grid or invalid.</summary>
    private long PickPrice(ushort marketId, Side side)
    {
        var m = MarketOf(marketId);
        int roll = _random.Next(100);
        if (roll < 80)
        {
            // Buyers lean low and sellers high, so books build up, with enough overlap to trade.
            long lean = side == Side.Buy ? -1 : side == Side.Sell ? 1 : 0;
            return OnGrid(marketId, 3) + lean * m.TickSize * _random.Next(2);
        }
        if (roll < 89) return OnGrid(marketId, 8);
        if (roll < 93) return OnGrid(marketId, marketId == CollarMarketId ? 30 : 8);
        if (roll < 97) return OnGrid(marketId, 4) + 1 + _random.Next((int)m.TickSize - 1);
        return Pick(0, -m.TickSize, m.MaxPrice + m.TickSize, m.MaxPrice);
    }

    private long OnGrid(ushort marketId, int spreadTicks)
    {
        var m = MarketOf(marketId);
        // The collar market's prices follow its reference price (the last trade), so most stay inside the collar.
        long center = marketId == CollarMarketId ? _tracker.ReferencePriceOf(CollarMarketId) : 48;
        return center + m.TickSize * (_random.Next(2 * spreadTicks + 1) - spreadTicks);
    }

    private long PickQuantity(ushort marketId)
    {
        var m = MarketOf(marketId);
        int roll = _random.Next(100);
        if (roll < 85) return m.LotSize * (1 + _random.Next(6));
        if (roll < 89) return Pick(0, -m.LotSize, -1);
        if (roll < 93) return m.LotSize * (1 + _random.Next(4)) + 1;
        if (roll < 97) return m.MaxQuantity + m.LotSize * (1 + _random.Next(3));
        return m.MaxQuantity - m.LotSize * _random.Next(2);
    }

    private static MarketDefinition MarketOf(ushort marketId) =>
        marketId == CollarMarketId ? Markets[0] : Markets[1];

    private int NonZero(int range)
    {
        int v = 1 + _random.Next(range);
        return Chance(50) ? v : -v;
    }

    private bool Chance(int percent) => _random.Next(100) < percent;

    private long Pick(long a, long b, long c) => _random.Next(3) switch { 0 => a, 1 => b, _ => c };

    private long Pick(long a, long b, long c, long d) => _random.Next(4) switch { 0 => a, 1 => b, 2 => c, _ => d };

    private readonly record struct SentOrder(ushort MarketId, long OrderId, long AccountId, Side Side, long Price, long Quantity);
}
