using System.Buffers.Binary;
using System.Security.Cryptography;
using ExchangeHealth.Engine.Primitives;

namespace ExchangeHealth.Engine;

/// <summary>
/// The matching engine: one order book per market and the dispatch of input commands to them.
/// Deterministic: the same command sequence always yields the same execution reports and the
/// same <see cref="ComputeStateHash"/>; nothing here reads a clock or a random source.
/// </summary>
/// <remarks>
/// Single-threaded business logic as in LMAX: one thread calls <see cref="Process"/>. A command
/// is either fully applied or rejected with a reason and no state change; <see cref="Process"/>
/// never throws for bad input. Execution reports go to <see cref="ReportSink"/>.
/// </remarks>
public sealed class MatchingEngine
{
    private readonly OrderBook?[] _books = new OrderBook?[MarketDefinition.MaxMarketId + 1];
    private readonly List<OrderBook> _bookList = [];
    private readonly EngineCounters _counters = new();

    /// <summary>Creates an engine with empty books for <paramref name="markets"/>.</summary>
    /// <param name="markets">Market definitions (validated; ids and symbols unique).</param>
    /// <param name="reportSink">Where execution reports go (default: dropped).</param>
    /// <param name="initialOrderCapacity">Resting orders per book before its arrays first grow.</param>
    /// <exception cref="ArgumentException">A market is invalid or duplicated.</exception>
    public MatchingEngine(IEnumerable<MarketDefinition> markets, IExecutionReportSink? reportSink = null, int initialOrderCapacity = 4096)
    {
        ArgumentNullException.ThrowIfNull(markets);
        foreach (var market in markets)
        {
            string? problem = market.Validate();
            if (problem is not null) throw new ArgumentException($"market '{market.Symbol}': {problem}", nameof(markets));
            if (_books[market.Id] is not null) throw new ArgumentException($"market id {market.Id} is defined twice", nameof(markets));
            var book = new OrderBook(market, _counters, initialOrderCapacity);
            _books[market.Id] = book;
            _bookList.Add(book);
        }
        _bookList.Sort((a, b) => a.Market.Id.CompareTo(b.Market.Id));
        ReportSink = reportSink ?? NullReportSink.Instance;
    }

    /// <summary>Receives execution reports, on the thread that calls <see cref="Process"/>.</summary>
    public IExecutionReportSink ReportSink { get; set; }

    /// <summary>The books, by ascending market id.</summary>
    public IReadOnlyList<OrderBook> Books => _bookList;

    /// <summary>Sequence number of the last journaled command processed (0 if none).</summary>
    public SequenceNumber LastSequence { get; private set; }

    /// <summary>Id of the last trade (0 before the first). Trade ids are engine-wide and consecutive.</summary>
    public long LastTradeId => _counters.LastTradeId;

    /// <summary>Commands processed since this instance was created (including rejected ones).</summary>
    public long CommandsProcessed { get; private set; }

    /// <summary>Commands that hit an unexpected internal error (a bug): they were reported as <see cref="RejectReason.Internal"/>.</summary>
    public long InternalErrors { get; private set; }

    /// <summary>The book of market <paramref name="marketId"/>, or null.</summary>
    public OrderBook? FindBook(ushort marketId) => marketId <= MarketDefinition.MaxMarketId ? _books[marketId] : null;

    /// <summary>The book of the market with <paramref name="symbol"/> (case-insensitive), or null.</summary>
    public OrderBook? FindBook(string symbol)
    {
        foreach (var book in _bookList)
        {
            if (string.Equals(book.Market.Symbol, symbol, StringComparison.OrdinalIgnoreCase)) return book;
        }
        return null;
    }

    /// <summary>
    /// Applies one command and emits its execution reports. Never throws for bad input: malformed,
    /// out-of-range or disallowed commands produce a <see cref="ReportType.Rejected"/> report.
    /// </summary>
    /// <param name="command">The command; <see cref="Command.Sequence"/> and <see cref="Command.Timestamp"/> are copied into the reports.</param>
    public void Process(ref Command command)
    {
        IExecutionReportSink sink = ReportSink;
        try
        {
            switch (command.Type)
            {
                case CommandType.NewOrder:
                    (BookFor(ref command, sink))?.NewOrder(ref command, sink);
                    break;
                case CommandType.Cancel:
                    (BookFor(ref command, sink))?.Cancel(ref command, sink);
                    break;
                case CommandType.Amend:
                    (BookFor(ref command, sink))?.Amend(ref command, sink);
                    break;
                case CommandType.CancelAll:
                    CancelAll(ref command, sink);
                    break;
                case CommandType.SetMarketState:
                    SetMarketState(ref command, sink);
                    break;
                default:
                    Reject(ref command, RejectReason.MalformedCommand, sink);
                    break;
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A bug, not bad input: report it as internal and keep the engine running.
            InternalErrors++;
            Reject(ref command, RejectReason.Internal, sink);
        }
        if (command.Sequence.Value != 0) LastSequence = command.Sequence;
        CommandsProcessed++;
    }

    private OrderBook? BookFor(ref Command command, IExecutionReportSink sink)
    {
        OrderBook? book = command.MarketId <= MarketDefinition.MaxMarketId ? _books[command.MarketId] : null;
        if (book is null) Reject(ref command, RejectReason.UnknownMarket, sink);
        return book;
    }

    private void CancelAll(ref Command command, IExecutionReportSink sink)
    {
        int cancelled = 0;
        if (command.MarketId == 0)
        {
            foreach (var book in _bookList)
            {
                // A halted book is frozen: its orders stay until the halt ends.
                if (book.State != MarketState.Halted) cancelled += book.CancelAccount(ref command, command.AccountId, sink);
            }
        }
        else
        {
            OrderBook? book = BookFor(ref command, sink);
            if (book is null) return;
            if (book.State == MarketState.Halted)
            {
                Reject(ref command, RejectReason.MarketHalted, sink);
                return;
            }
            cancelled = book.CancelAccount(ref command, command.AccountId, sink);
        }
        var done = new ExecutionReport
        {
            Type = ReportType.CancelAllDone, Sequence = command.Sequence, Timestamp = command.Timestamp,
            MarketId = command.MarketId, AccountId = command.AccountId, Quantity = new Quantity(cancelled),
            CommandType = command.Type,
        };
        sink.OnReport(in done);
    }

    private void SetMarketState(ref Command command, IExecutionReportSink sink)
    {
        if (!Enum.IsDefined(command.State))
        {
            Reject(ref command, RejectReason.MalformedCommand, sink);
            return;
        }
        OrderBook? book = BookFor(ref command, sink);
        if (book is null) return;
        book.SetState(command.State);
        var report = new ExecutionReport
        {
            Type = ReportType.MarketStateChanged, Sequence = command.Sequence, Timestamp = command.Timestamp,
            MarketId = command.MarketId, State = command.State, CommandType = command.Type,
        };
        sink.OnReport(in report);
    }

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

    /// <summary>
    /// SHA-256 (lower-case hex) over the canonical engine state: the last trade id, then per market
    /// in id order its id, state, reference and last trade price and every resting order in
    /// canonical order (<see cref="OrderBook.RestingOrders"/>). Two engines that processed the same
    /// commands have the same hash; the journal sequence number is not part of it.
    /// </summary>
    public string ComputeStateHash()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> buf = stackalloc byte[64];
        "EXH-STATE-1"u8.CopyTo(buf);
        hash.AppendData(buf[..11]);
        BinaryPrimitives.WriteInt64LittleEndian(buf, _counters.LastTradeId);
        hash.AppendData(buf[..8]);
        foreach (var book in _bookList)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(buf, book.Market.Id);
            buf[2] = (byte)book.State;
            BinaryPrimitives.WriteInt64LittleEndian(buf[3..], book.ReferencePrice);
            BinaryPrimitives.WriteInt64LittleEndian(buf[11..], book.LastTradePrice);
            BinaryPrimitives.WriteInt32LittleEndian(buf[19..], book.OrderCount);
            hash.AppendData(buf[..23]);
            foreach (var o in book.RestingOrders())
            {
                WriteOrder(buf, o);
                hash.AppendData(buf[..OrderRecordSize]);
            }
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    internal const int OrderRecordSize = 34;

    internal static void WriteOrder(Span<byte> buf, in RestingOrder o)
    {
        buf[0] = (byte)o.Side;
        buf[1] = (byte)o.Flags;
        BinaryPrimitives.WriteInt64LittleEndian(buf[2..], o.OrderId);
        BinaryPrimitives.WriteInt64LittleEndian(buf[10..], o.AccountId);
        BinaryPrimitives.WriteInt64LittleEndian(buf[18..], o.Price.Units);
        BinaryPrimitives.WriteInt64LittleEndian(buf[26..], o.Quantity.Units);
    }

    internal static RestingOrder ReadOrder(ReadOnlySpan<byte> buf) => new(
        OrderId: BinaryPrimitives.ReadInt64LittleEndian(buf[2..]),
        AccountId: BinaryPrimitives.ReadInt64LittleEndian(buf[10..]),
        Side: (Side)buf[0],
        Price: new Price(BinaryPrimitives.ReadInt64LittleEndian(buf[18..])),
        Quantity: new Quantity(BinaryPrimitives.ReadInt64LittleEndian(buf[26..])),
        Flags: (OrderFlags)buf[1]);

    /// <summary>Restores engine-wide counters and the sequence number (snapshot loading).</summary>
    internal void RestoreCounters(SequenceNumber lastSequence, long lastTradeId)
    {
        LastSequence = lastSequence;
        _counters.LastTradeId = lastTradeId;
    }
}
