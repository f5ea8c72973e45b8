namespace ExchangeHealth.Engine.Workload;

/// <summary>A live (resting) order as the <see cref="LiveOrderTracker"/> knows it.</summary>
/// <param name="MarketId">Market id.</param>
/// <param name="OrderId">Order id.</param>
/// <param name="AccountId">Owner.</param>
/// <param name="Side">Side.</param>
/// <param name="Price">Limit price in price units.</param>
/// <param name="Quantity">Open (leaves) quantity in quantity units.</param>
public readonly record struct TrackedOrder(ushort MarketId, long OrderId, long AccountId, Side Side, long Price, long Quantity);

/// <summary>
/// Follows which orders are live, their price and open quantity, from execution reports alone, so
/// a client (the workload generator, a load driver) can address cancels and amends at orders that
/// exist. Attach it as (or behind) the <see cref="IExecutionReportSink"/> of an engine.
/// </summary>
/// <remarks>
/// Rules (from <c>docs/engine-semantics.md</c>): <c>Accepted</c> adds the order with its quantity;
/// a <c>Fill</c> sets its open quantity to the fill's leaves quantity and removes it at 0;
/// <c>Cancelled</c> and <c>Expired</c> remove it; <c>Amended</c> sets price and quantity. An IOC,
/// FOK or market order is therefore added and removed within its own command. Orders can be picked
/// uniformly at random by index (<see cref="At"/>): the live set of each market is a dense array
/// with swap-remove. Single-threaded, like the engine that feeds it.
/// </remarks>
public sealed class LiveOrderTracker : IExecutionReportSink
{
    private readonly MarketOrders?[] _markets = new MarketOrders?[MarketDefinition.MaxMarketId + 1];
    private readonly long[] _byType = new long[16];
    private readonly long[] _byReject = new long[256];
    private int _count;

    /// <summary>Live orders over all markets.</summary>
    public int Count => _count;

    /// <summary>Reports received.</summary>
    public long Reports { get; private set; }

    /// <summary><see cref="ReportType.Rejected"/> reports received (one per rejected command).</summary>
    public long Rejects => _byType[(int)ReportType.Rejected];

    /// <summary>Trades seen (each trade yields two fills).</summary>
    public long Trades => _byType[(int)ReportType.Fill] / 2;

    /// <summary>Reports of <paramref name="type"/> received.</summary>
    public long CountOf(ReportType type) => _byType[(int)type];

    /// <summary>Rejects with <paramref name="reason"/> received.</summary>
    public long CountOf(RejectReason reason) => _byReject[(int)reason];

    /// <summary>Live orders in market <paramref name="marketId"/>.</summary>
    public int CountOf(ushort marketId) => Market(marketId)?.Count ?? 0;

    /// <summary>Live orders on <paramref name="side"/> of market <paramref name="marketId"/>.</summary>
    public int CountOf(ushort marketId, Side side)
    {
        MarketOrders? m = Market(marketId);
        if (m is null) return 0;
        return side == Side.Buy ? m.Bids : m.Count - m.Bids;
    }

    /// <summary>The live order at <paramref name="index"/> (0..<see cref="CountOf(ushort)"/>-1) of a market, in no particular order.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not a live-order index of that market.</exception>
    public TrackedOrder At(ushort marketId, int index)
    {
        MarketOrders? m = Market(marketId);
        if (m is null || (uint)index >= (uint)m.Count) throw new ArgumentOutOfRangeException(nameof(index), index, "no live order at this index");
        return m.Orders[index];
    }

    /// <summary>Looks up a live order.</summary>
    public bool TryGet(ushort marketId, long orderId, out TrackedOrder order)
    {
        MarketOrders? m = Market(marketId);
        if (m is not null && m.Slots.TryGetValue(orderId, out int slot))
        {
            order = m.Orders[slot];
            return true;
        }
        order = default;
        return false;
    }

    /// <inheritdoc/>
    public void OnReport(in ExecutionReport report)
    {
        Reports++;
        _byType[(int)report.Type & 15]++;
        switch (report.Type)
        {
            case ReportType.Rejected:
                _byReject[(int)report.RejectReason]++;
                break;
            case ReportType.Accepted:
                Add(new TrackedOrder(report.MarketId, report.OrderId, report.AccountId, report.Side, report.Price.Units, report.LeavesQuantity.Units));
                break;
            case ReportType.Fill:
                if (report.LeavesQuantity.Units == 0) Remove(report.MarketId, report.OrderId);
                else Update(report.MarketId, report.OrderId, null, report.LeavesQuantity.Units);
                break;
            case ReportType.Cancelled:
            case ReportType.Expired:
                Remove(report.MarketId, report.OrderId);
                break;
            case ReportType.Amended:
                Update(report.MarketId, report.OrderId, report.Price.Units, report.LeavesQuantity.Units);
                break;
            default:
                break;
        }
    }

    private MarketOrders? Market(ushort marketId) => marketId < _markets.Length ? _markets[marketId] : null;

    private void Add(in TrackedOrder order)
    {
        if (order.MarketId >= _markets.Length) return;
        MarketOrders m = _markets[order.MarketId] ??= new MarketOrders();
        if (m.Slots.ContainsKey(order.OrderId)) return;
        if (m.Count == m.Orders.Length) Array.Resize(ref m.Orders, m.Orders.Length * 2);
        m.Orders[m.Count] = order;
        m.Slots[order.OrderId] = m.Count;
        m.Count++;
        if (order.Side == Side.Buy) m.Bids++;
        _count++;
    }

    private void Remove(ushort marketId, long orderId)
    {
        MarketOrders? m = Market(marketId);
        if (m is null || !m.Slots.Remove(orderId, out int slot)) return;
        if (m.Orders[slot].Side == Side.Buy) m.Bids--;
        int last = m.Count - 1;
        if (slot != last)
        {
            m.Orders[slot] = m.Orders[last];
            m.Slots[m.Orders[slot].OrderId] = slot;
        }
        m.Orders[last] = default;
        m.Count--;
        _count--;
    }

    private void Update(ushort marketId, long orderId, long? price, long quantity)
    {
        MarketOrders? m = Market(marketId);
        if (m is null || !m.Slots.TryGetValue(orderId, out int slot)) return;
        ref TrackedOrder o = ref m.Orders[slot];
        o = o with { Price = price ?? o.Price, Quantity = quantity };
    }

    private sealed class MarketOrders
    {
        public TrackedOrder[] Orders = new TrackedOrder[1024];
        public readonly Dictionary<long, int> Slots = new(1024);
        public int Count;
        public int Bids;
    }
}
