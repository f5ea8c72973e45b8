namespace ExchangeHealth.Engine.Replay;

/// <summary>
/// A feed translator's model of one engine order book: resting orders by id, price levels in
/// price order, each level a FIFO queue (time priority). It follows the engine's rules for the
/// operations a translator emits (new resting order, cancel, amend down in place, amend to the
/// back, a marketable IOC that hits only the front order of the best level), so the translator
/// can ask "would this cross?" and "is this order first in line?" without touching the engine.
/// </summary>
/// <remarks>Prices and quantities are in the market's integer units. Not thread-safe.</remarks>
internal sealed class ShadowBook
{
    internal sealed class Order
    {
        public long Id;
        public Side Side;
        public long Price;
        public long Quantity;
        public Order? Prev;
        public Order? Next;
        public Level Level = null!;
    }

    internal sealed class Level
    {
        public long Price;
        public long Quantity;
        public int Count;
        public Order? Head;
        public Order? Tail;
    }

    private readonly Dictionary<long, Order> _orders = [];
    private readonly SortedSet<long> _bidPrices = [];
    private readonly SortedSet<long> _askPrices = [];
    private readonly Dictionary<long, Level> _bidLevels = [];
    private readonly Dictionary<long, Level> _askLevels = [];

    /// <summary>Number of resting orders.</summary>
    public int Count => _orders.Count;

    /// <summary>Looks up a resting order.</summary>
    public bool TryGet(long id, out Order order)
    {
        bool found = _orders.TryGetValue(id, out var o);
        order = o!;
        return found;
    }

    /// <summary>Whether order <paramref name="id"/> rests.</summary>
    public bool Contains(long id) => _orders.ContainsKey(id);

    /// <summary>The best price of <paramref name="side"/>, if the side has orders.</summary>
    public bool TryGetBest(Side side, out long price)
    {
        SortedSet<long> prices = side == Side.Buy ? _bidPrices : _askPrices;
        if (prices.Count == 0)
        {
            price = 0;
            return false;
        }
        price = side == Side.Buy ? prices.Max : prices.Min;
        return true;
    }

    /// <summary>The level of <paramref name="side"/> at <paramref name="price"/>, or null.</summary>
    public Level? FindLevel(Side side, long price) =>
        (side == Side.Buy ? _bidLevels : _askLevels).GetValueOrDefault(price);

    /// <summary>
    /// Whether a limit order of <paramref name="side"/> at <paramref name="price"/> would execute on
    /// entry (the engine's rule: a buy crosses when price &gt;= best ask, a sell when price &lt;= best bid).
    /// </summary>
    public bool Crosses(Side side, long price)
    {
        if (side == Side.Buy) return _askPrices.Count > 0 && price >= _askPrices.Min;
        return _bidPrices.Count > 0 && price <= _bidPrices.Max;
    }

    /// <summary>Whether <paramref name="order"/> is the first in line of the best level of its side.</summary>
    public bool IsFrontOfBest(Order order) =>
        order.Level.Head == order && TryGetBest(order.Side, out long best) && best == order.Price;

    /// <summary>Adds a resting order at the back of its level.</summary>
    /// <exception cref="InvalidOperationException">The id already rests (a translator bug).</exception>
    public Order Add(long id, Side side, long price, long quantity)
    {
        if (_orders.ContainsKey(id)) throw new InvalidOperationException($"shadow book: order {id} already rests");
        var order = new Order { Id = id, Side = side, Price = price, Quantity = quantity };
        _orders.Add(id, order);
        Link(order);
        return order;
    }

    /// <summary>Removes a resting order (cancel, or filled in full).</summary>
    public void Remove(Order order)
    {
        Unlink(order);
        _orders.Remove(order.Id);
    }

    /// <summary>Lowers the open quantity at the same price; the order keeps its place in the queue.</summary>
    public void Reduce(Order order, long newQuantity)
    {
        order.Level.Quantity -= order.Quantity - newQuantity;
        order.Quantity = newQuantity;
    }

    /// <summary>Changes price and/or quantity and moves the order to the back of its (new) level.</summary>
    public void MoveToBack(Order order, long newPrice, long newQuantity)
    {
        Unlink(order);
        order.Price = newPrice;
        order.Quantity = newQuantity;
        Link(order);
    }

    /// <summary>Every resting order of <paramref name="side"/>, best level first, each level in time priority.</summary>
    public IEnumerable<Order> Orders(Side side)
    {
        SortedSet<long> prices = side == Side.Buy ? _bidPrices : _askPrices;
        Dictionary<long, Level> levels = side == Side.Buy ? _bidLevels : _askLevels;
        foreach (long price in side == Side.Buy ? prices.Reverse() : prices)
        {
            for (Order? o = levels[price].Head; o is not null; o = o.Next) yield return o;
        }
    }

    private void Link(Order order)
    {
        Dictionary<long, Level> levels = order.Side == Side.Buy ? _bidLevels : _askLevels;
        if (!levels.TryGetValue(order.Price, out var level))
        {
            level = new Level { Price = order.Price };
            levels.Add(order.Price, level);
            (order.Side == Side.Buy ? _bidPrices : _askPrices).Add(order.Price);
        }
        order.Level = level;
        order.Next = null;
        order.Prev = level.Tail;
        if (level.Tail is not null) level.Tail.Next = order;
        else level.Head = order;
        level.Tail = order;
        level.Count++;
        level.Quantity += order.Quantity;
    }

    private void Unlink(Order order)
    {
        Level level = order.Level;
        if (order.Prev is not null) order.Prev.Next = order.Next;
        else level.Head = order.Next;
        if (order.Next is not null) order.Next.Prev = order.Prev;
        else level.Tail = order.Prev;
        order.Prev = null;
        order.Next = null;
        level.Count--;
        level.Quantity -= order.Quantity;
        if (level.Count == 0)
        {
            (order.Side == Side.Buy ? _bidLevels : _askLevels).Remove(level.Price);
            (order.Side == Side.Buy ? _bidPrices : _askPrices).Remove(level.Price);
        }
    }
}
