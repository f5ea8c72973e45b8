using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Gateway.Protocol;
using ExchangeHealth.Engine.Replay;

namespace ExchangeHealth.Load.Workloads;

/// <summary>A request ready for a connection: the protocol message and which connection sends it.</summary>
internal struct OutboundCommand
{
    public int Connection;
    public MessageType Type;
    public ulong ClOrdId;
    public ushort MarketId;
    public Side Side;
    public OrderType OrderType;
    public TimeInForce TimeInForce;
    public OrderFlags Flags;
    public long Price;
    public long Quantity;
    public ulong OrigClOrdId;
    /// <summary>The workload's key of the order a new order creates (market, workload order id), to mark it dropped.</summary>
    public ushort SourceMarket;
    public long SourceOrderId;
}

/// <summary>The client order ids of one account, shared by the connections that trade for it.</summary>
internal sealed class AccountIds(long accountId, ulong first)
{
    private long _next = (long)first - 1;

    public long AccountId { get; } = accountId;

    /// <summary>The next unused client order id.</summary>
    public ulong Next() => (ulong)Interlocked.Increment(ref _next);

    /// <summary>The last id handed out.</summary>
    public ulong Last => (ulong)Volatile.Read(ref _next);
}

/// <summary>
/// Turns engine <see cref="Command"/>s of a workload (with the workload's own accounts and order
/// ids) into protocol requests for the run's connections: each workload account is pinned to one
/// connection, each new order gets a fresh client order id of that connection's account, and
/// cancels and amends name the client order id their order was sent with, on the same connection.
/// </summary>
internal sealed class CommandTranslator
{
    private struct OrderRef
    {
        public int Connection;
        public ulong ClOrdId;
        public bool Dropped;
    }

    private readonly AccountIds[] _ids;
    private readonly Func<long, int> _connectionOfAccount;
    private readonly Dictionary<(ushort Market, long OrderId), OrderRef> _orders = new(4096);

    /// <param name="ids">Per connection, the id space of its account.</param>
    /// <param name="connectionOfAccount">The connection a workload account is pinned to.</param>
    public CommandTranslator(AccountIds[] ids, Func<long, int> connectionOfAccount)
    {
        _ids = ids;
        _connectionOfAccount = connectionOfAccount;
    }

    /// <summary>Commands skipped because they cannot be sent over order entry (set market state: an admin command).</summary>
    public long SkippedAdmin { get; private set; }

    /// <summary>Cancels and amends skipped because their order was dropped (never sent).</summary>
    public long SkippedDroppedOrder { get; private set; }

    /// <summary>Orders remembered (for cancels and amends).</summary>
    public int TrackedOrders => _orders.Count;

    /// <summary>Translates <paramref name="command"/>; false when it is skipped (counted).</summary>
    public bool TryTranslate(in Command command, out OutboundCommand outbound)
    {
        outbound = default;
        switch (command.Type)
        {
            case CommandType.NewOrder:
            {
                int connection = _connectionOfAccount(command.AccountId);
                ulong id = _ids[connection].Next();
                _orders[(command.MarketId, command.OrderId)] = new OrderRef { Connection = connection, ClOrdId = id };
                outbound = new OutboundCommand
                {
                    Connection = connection, Type = MessageType.NewOrder, ClOrdId = id, MarketId = command.MarketId,
                    Side = command.Side, OrderType = command.OrderType, TimeInForce = command.TimeInForce, Flags = command.Flags,
                    Price = command.Price.Units, Quantity = command.Quantity.Units,
                    SourceMarket = command.MarketId, SourceOrderId = command.OrderId,
                };
                return true;
            }
            case CommandType.Cancel or CommandType.Amend:
            {
                int connection;
                ulong orig;
                if (_orders.TryGetValue((command.MarketId, command.OrderId), out var order))
                {
                    if (order.Dropped)
                    {
                        SkippedDroppedOrder++;
                        if (command.Type == CommandType.Cancel) _orders.Remove((command.MarketId, command.OrderId));
                        return false;
                    }
                    connection = order.Connection;
                    orig = order.ClOrdId;
                }
                else
                {
                    // An order the workload never placed (e.g. a replay event for an unknown id): a fresh id the
                    // engine does not know, so the engine answers unknown_order as a local replay would.
                    connection = _connectionOfAccount(command.AccountId);
                    orig = _ids[connection].Next();
                }
                ulong id = _ids[connection].Next();
                if (command.Type == CommandType.Cancel) _orders.Remove((command.MarketId, command.OrderId));
                outbound = new OutboundCommand
                {
                    Connection = connection, Type = command.Type == CommandType.Cancel ? MessageType.Cancel : MessageType.Amend,
                    ClOrdId = id, MarketId = command.MarketId, OrigClOrdId = orig,
                    Price = command.Price.Units, Quantity = command.Quantity.Units,
                };
                return true;
            }
            case CommandType.CancelAll:
            {
                int connection = _connectionOfAccount(command.AccountId);
                outbound = new OutboundCommand
                {
                    Connection = connection, Type = MessageType.CancelAll, ClOrdId = _ids[connection].Next(), MarketId = command.MarketId,
                };
                return true;
            }
            default:
                SkippedAdmin++;
                return false;
        }
    }

    /// <summary>The command was not sent: a new order's later cancels and amends are skipped too.</summary>
    public void MarkDropped(in OutboundCommand outbound)
    {
        if (outbound.Type != MessageType.NewOrder) return;
        var key = (outbound.SourceMarket, outbound.SourceOrderId);
        if (_orders.TryGetValue(key, out var order) && order.ClOrdId == outbound.ClOrdId)
        {
            order.Dropped = true;
            _orders[key] = order;
        }
    }

    /// <summary>Forgets the orders for which <paramref name="isLive"/> is false (bounds memory on long generator runs).</summary>
    public void Prune(Func<ushort, long, bool> isLive)
    {
        List<(ushort, long)>? dead = null;
        foreach (var (key, _) in _orders)
        {
            if (!isLive(key.Market, key.OrderId)) (dead ??= []).Add(key);
        }
        if (dead is not null) foreach (var key in dead) _orders.Remove(key);
    }
}

/// <summary>A source of requests for the load driver. Used by one thread.</summary>
internal abstract class LoadWorkload : IDisposable
{
    protected LoadWorkload(CommandTranslator translator) => Translator = translator;

    protected CommandTranslator Translator { get; }

    /// <summary>One line for reports.</summary>
    public abstract string Description { get; }

    /// <summary>Requests to send before the measured run (the generator's pre-fill); empty by default.</summary>
    public virtual IReadOnlyList<OutboundCommand> PreFill() => [];

    /// <summary>The next request; false at the end of the input.</summary>
    /// <exception cref="ReplayFormatException">The replay file has a malformed record.</exception>
    public abstract bool TryNext(out OutboundCommand command);

    /// <summary>The request was not sent.</summary>
    public void MarkDropped(in OutboundCommand command) => Translator.MarkDropped(command);

    /// <summary>Named counts for the report.</summary>
    public virtual IReadOnlyList<ReplayCounter> Counters =>
    [
        new("skipped_admin_commands", Translator.SkippedAdmin, "set_state commands: administrative, not part of order entry; not sent"),
        new("skipped_dropped_order", Translator.SkippedDroppedOrder, "cancels and amends of an order that was dropped (never sent); not sent"),
    ];

    /// <summary>Commands skipped (not scheduled).</summary>
    public long Skipped => Translator.SkippedAdmin + Translator.SkippedDroppedOrder;

    public virtual void Dispose() { }
}
