using System.Globalization;
using System.Text.RegularExpressions;
using ExchangeHealth.Engine.Primitives;

namespace ExchangeHealth.Engine.Replay;

/// <summary>
/// Replays a LOBSTER message file (CSV without header: <c>time, type, order_id, size, price, direction</c>;
/// time in seconds after midnight with up to 9 decimals, price in USD x 10000, direction 1 buy / -1
/// sell) with the book seeded from its orderbook file.
/// </summary>
/// <remarks>
/// <para>
/// The orderbook file is found beside the message file by name (the last <c>message</c> in the
/// name replaced by <c>orderbook</c>). Its first row is the book after message 1; undoing message 1
/// gives the book before it, which is entered first (record 0) as one GTC order per price level
/// from <see cref="ReplayIds.SeedAccount"/>. The seed stands for the orders that rested at the
/// open and whose submissions are not in the file; without the orderbook file the book starts
/// empty.
/// </para>
/// <para>
/// Event types: 1 new limit order: GTC limit order (account = order id); 2 partial cancel: amend
/// down (keeps priority); 3 delete: cancel; 4 execution of a visible order: a synthetic IOC limit
/// order from <see cref="ReplayIds.TakerAccount"/> at the order's price when the order is first in
/// line at the best price (a real trade with exactly that order), otherwise an amend down or
/// cancel of it; 5 hidden execution and 6 cross trade: counted, no command; 7 halt: market state
/// (-1 halted, 0 quoting: limit_only, 1 online). Events on order ids that are not in the book
/// (submitted before the open) are counted and applied to the seed order of their price level
/// when there is one. A new order that would cross the book is held back until it no longer
/// would (see <c>docs/replay.md</c>).
/// </para>
/// </remarks>
public sealed partial class LobsterSource : IOrderFlowSource
{
    private const ushort MarketId = 1;
    private const int LobsterPriceScale = 4;
    private const long DummyPrice = 9_999_999_999;

    private readonly StreamReader _reader;
    private readonly MarketDefinition _market;
    private readonly ShadowBook _book;
    private readonly Dictionary<long, long> _bidSeeds = [];   // price -> seed order id
    private readonly Dictionary<long, long> _askSeeds = [];
    private readonly List<Held> _held = [];
    private readonly List<(Side Side, long Price, long Quantity)> _seedLevels = [];
    private readonly long _midnightUnixNs;
    private long _seedTimestamp;
    private readonly string[] _fields = new string[6];
    private long _nextSyntheticId = ReplayIds.SyntheticOrderIdBase;
    private bool _seeded;
    private long _line;

    private long _messages, _newOrders, _partialCancels, _deletes, _executions, _executionsTraded, _executionsNotFirst;
    private long _hiddenExecutions, _hiddenVolume, _crossTrades, _halts, _unknownIds, _unknownOnSeed, _unknownNoLevel;
    private long _sizeMismatches, _duplicateNew, _heldTotal, _heldReleased, _heldDropped, _seedOrders;

    /// <summary>A new order held back because it would cross the book (see <c>docs/replay.md</c>).</summary>
    private sealed class Held
    {
        public long Id;
        public Side Side;
        public long Price;
        public long Quantity;
    }

    /// <summary>Opens a LOBSTER message file and, when present, reads the first row of its orderbook file.</summary>
    /// <param name="path">The message file.</param>
    /// <param name="markets">
    /// Optional markets file content: when it defines the ticker (taken from the file name, e.g.
    /// <c>AAPL</c>), that definition is used instead of the implied one (price scale 4, tick 0.01,
    /// quantity scale 0, lot 1, no collar).
    /// </param>
    /// <exception cref="ReplayFormatException">The orderbook file's first row or message 1 is malformed, or the markets file lacks the ticker.</exception>
    /// <exception cref="IOException">A file cannot be read.</exception>
    public LobsterSource(string path, IReadOnlyList<MarketDefinition>? markets = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        FileName = path;
        var (symbol, date) = ParseFileName(Path.GetFileName(path));
        MarketDefinition? configured = null;
        if (markets is not null)
        {
            foreach (var m in markets)
            {
                if (string.Equals(m.Symbol, symbol, StringComparison.OrdinalIgnoreCase)) configured = m with { Id = MarketId };
            }
            if (configured is null) throw new ReplayFormatException(path, 0, 0, $"the markets file defines no market '{symbol}' (the ticker in the file name)");
        }
        _market = configured ?? ImpliedMarket(symbol);
        Markets = [_market];
        _book = new ShadowBook(_market);
        _midnightUnixNs = MidnightUnixNs(date);

        OrderbookFile = FindOrderbookFile(path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        TotalBytes = stream.Length;
        _reader = new StreamReader(stream, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 64 * 1024);
        try
        {
            if (OrderbookFile is not null) BuildSeed(OrderbookFile, path);
        }
        catch
        {
            _reader.Dispose();
            throw;
        }
    }

    /// <summary>The market a LOBSTER file implies: price scale 4 (LOBSTER's USD x 10000), tick 0.01, whole shares, no collar.</summary>
    public static MarketDefinition ImpliedMarket(string symbol) => new()
    {
        Id = MarketId,
        Symbol = symbol,
        PriceScale = LobsterPriceScale,
        QuantityScale = 0,
        TickSize = 100,
        LotSize = 1,
        PriceCollarBasisPoints = 0,
    };

    /// <summary>The orderbook file used for the seed, or null when none was found.</summary>
    public string? OrderbookFile { get; }

    /// <inheritdoc/>
    public OrderFlowFormat Format => OrderFlowFormat.Lobster;

    /// <inheritdoc/>
    public string FileName { get; }

    /// <inheritdoc/>
    public IReadOnlyList<MarketDefinition> Markets { get; }

    /// <inheritdoc/>
    public long BytesRead => _reader.BaseStream.Position;

    /// <inheritdoc/>
    public long TotalBytes { get; }

    /// <inheritdoc/>
    public long RecordNumber { get; private set; }

    /// <inheritdoc/>
    public IReadOnlyList<ReplayCounter> Counters =>
    [
        new("seed_orders", _seedOrders, "price levels of the book before message 1, entered as one seed order each"),
        new("messages", _messages, "message lines read"),
        new("new_orders", _newOrders, "type 1: GTC limit orders (incl. released held ones)"),
        new("partial_cancels", _partialCancels, "type 2: amends down"),
        new("deletes", _deletes, "type 3: cancels"),
        new("executions", _executions, "type 4: executions of visible orders"),
        new("executions_traded", _executionsTraded, "type 4 turned into a synthetic IOC trade with the executed order (or its level's seed)"),
        new("executions_not_first_in_line", _executionsNotFirst, "type 4 on an order not first in line at the best price: amended down or cancelled, no trade"),
        new("hidden_executions", _hiddenExecutions, "type 5: executions of hidden orders (no command)"),
        new("hidden_volume", _hiddenVolume, "shares executed against hidden orders"),
        new("cross_trades", _crossTrades, "type 6: auction cross trades (no command)"),
        new("halts", _halts, "type 7: trading halt indicators (market state changes)"),
        new("unknown_order_ids", _unknownIds, "type 2/3/4 events on ids not in the book (submitted before the open)"),
        new("unknown_applied_to_seed", _unknownOnSeed, "of those, applied to the seed order of their price level"),
        new("unknown_no_level", _unknownNoLevel, "of those, with no seed at their price level (deeper than the seed's 10 levels): no command"),
        new("size_mismatches", _sizeMismatches, "events whose size exceeds (or, for deletes, differs from) what the book holds"),
        new("duplicate_new_orders", _duplicateNew, "type 1 with an id that is already live (no command)"),
        new("held", _heldTotal, "new orders held back because they would cross the book"),
        new("held_released", _heldReleased, "held orders submitted once they no longer crossed"),
        new("held_dropped", _heldDropped, "held orders deleted or executed in full before release"),
        new("held_at_end", _held.Count, "orders still held at the end"),
    ];

    /// <inheritdoc/>
    public bool ReadNext(CommandBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.Clear();
        if (!_seeded)
        {
            _seeded = true;
            EmitSeed(batch);
            for (int i = 0; i < batch.Count; i++) batch[i].Timestamp = _seedTimestamp;
            RecordNumber = 0;
            return true;
        }
        while (true)
        {
            string? text = _reader.ReadLine();
            if (text is null) return false;
            _line++;
            if (text.Length == 0) continue;
            var m = ParseMessage(text, FileName, _line);
            RecordNumber = _line;
            _messages++;
            Apply(batch, in m);
            Release(batch);
            long ts = _midnightUnixNs + m.TimeNs;
            for (int i = 0; i < batch.Count; i++) batch[i].Timestamp = ts;
            return true;
        }
    }

    // ------------------------------------------------------------------ parsing

    private readonly record struct Message(long TimeNs, int Type, long OrderId, long Size, long Price, Side Side, int Direction);

    private Message ParseMessage(string text, string file, long line)
    {
        int n = Split(text, _fields);
        if (n != 6) throw new ReplayFormatException(file, line, 0, $"expected 6 fields (time, type, order_id, size, price, direction), found {n}");
        if (!FixedPoint.TryParse(_fields[0], 9, out long timeNs, out var timeError) || timeNs < 0)
            throw new ReplayFormatException(file, line, 1, $"time: '{_fields[0]}' is not seconds after midnight with at most 9 decimals ({FixedPoint.Describe(timeError)})");
        int type = (int)Integer(_fields[1], file, line, 2, "type");
        if (type is < 1 or > 7) throw new ReplayFormatException(file, line, 2, $"type: {type} is not an event type (1 new, 2 partial cancel, 3 delete, 4 execution, 5 hidden execution, 6 cross trade, 7 halt)");
        long id = Integer(_fields[2], file, line, 3, "order_id");
        long size = Integer(_fields[3], file, line, 4, "size");
        long rawPrice = Integer(_fields[4], file, line, 5, "price");
        long direction = Integer(_fields[5], file, line, 6, "direction");
        if (direction is not (1 or -1)) throw new ReplayFormatException(file, line, 6, $"direction: {direction} is neither 1 (buy) nor -1 (sell)");
        long price = rawPrice;
        if (type is >= 1 and <= 4)
        {
            if (id <= 0 || id > ReplayIds.MaxFeedOrderId) throw new ReplayFormatException(file, line, 3, $"order_id: {id} is outside 1..{ReplayIds.MaxFeedOrderId}");
            if (size <= 0) throw new ReplayFormatException(file, line, 4, $"size: {size} must be positive");
            if (rawPrice <= 0) throw new ReplayFormatException(file, line, 5, $"price: {rawPrice} must be positive");
            if (!TryScalePrice(rawPrice, out price))
                throw new ReplayFormatException(file, line, 5, $"price: {rawPrice} (x 10^-4) is not exact at the market's {_market.PriceScale} decimals");
        }
        return new Message(timeNs, type, id, size, price, direction == 1 ? Side.Buy : Side.Sell, (int)direction);
    }

    private static long Integer(string text, string file, long line, int column, string name)
    {
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
            throw new ReplayFormatException(file, line, column, $"{name}: '{text}' is not an integer");
        return v;
    }

    /// <summary>Converts a LOBSTER price (x 10^4) to the market's price units.</summary>
    private bool TryScalePrice(long raw, out long units)
    {
        int scale = _market.PriceScale;
        if (scale >= LobsterPriceScale)
        {
            long f = FixedPoint.PowerOfTen(scale - LobsterPriceScale);
            units = raw * f;
            return raw <= long.MaxValue / f;
        }
        long d = FixedPoint.PowerOfTen(LobsterPriceScale - scale);
        units = raw / d;
        return raw % d == 0;
    }

    private static int Split(string text, string[] fields)
    {
        int n = 0;
        int start = 0;
        for (int i = 0; i <= text.Length; i++)
        {
            if (i < text.Length && text[i] != ',') continue;
            if (n < fields.Length) fields[n] = text[start..i].Trim();
            n++;
            start = i + 1;
        }
        return n;
    }

    [GeneratedRegex(@"([A-Za-z][A-Za-z0-9.]*)[_-](\d{4}-\d{2}-\d{2})", RegexOptions.CultureInvariant)]
    private static partial Regex TickerAndDate();

    /// <summary>Ticker and trading date from a LOBSTER file name (<c>AAPL_2012-06-21_..._message_10.csv</c>).</summary>
    internal static (string Symbol, DateOnly? Date) ParseFileName(string fileName)
    {
        var m = TickerAndDate().Match(fileName);
        if (!m.Success) return ("LOBSTER", null);
        DateOnly? date = DateOnly.TryParseExact(m.Groups[2].Value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d : null;
        return (m.Groups[1].Value.ToUpperInvariant(), date);
    }

    /// <summary>Unix nanoseconds of midnight in New York (NASDAQ's time zone) on <paramref name="date"/>; 0 when unknown.</summary>
    private static long MidnightUnixNs(DateOnly? date)
    {
        if (date is null) return 0;
        var local = date.Value.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
        DateTime utc;
        try { utc = TimeZoneInfo.ConvertTimeToUtc(local, TimeZoneInfo.FindSystemTimeZoneById("America/New_York")); }
        catch (TimeZoneNotFoundException) { utc = DateTime.SpecifyKind(local, DateTimeKind.Utc); }
        catch (InvalidTimeZoneException) { utc = DateTime.SpecifyKind(local, DateTimeKind.Utc); }
        return (utc - DateTime.UnixEpoch).Ticks * 100;
    }

    /// <summary>The orderbook file beside <paramref name="messagePath"/>, if it exists.</summary>
    public static string? FindOrderbookFile(string messagePath)
    {
        ArgumentNullException.ThrowIfNull(messagePath);
        string name = Path.GetFileName(messagePath);
        int at = name.LastIndexOf("message", StringComparison.Ordinal);
        if (at < 0) return null;
        string candidate = Path.Combine(Path.GetDirectoryName(messagePath) ?? "", name[..at] + "orderbook" + name[(at + "message".Length)..]);
        return File.Exists(candidate) ? candidate : null;
    }

    // ------------------------------------------------------------------ seed

    private void BuildSeed(string orderbookPath, string messagePath)
    {
        string? row;
        using (var ob = new StreamReader(orderbookPath)) row = ob.ReadLine();
        if (row is null) return;
        string[] cells = row.Split(',');
        if (cells.Length < 4 || cells.Length % 4 != 0)
            throw new ReplayFormatException(orderbookPath, 1, 0, $"expected 4 fields per level (ask price, ask size, bid price, bid size), found {cells.Length} fields");
        var bids = new SortedDictionary<long, long>();
        var asks = new SortedDictionary<long, long>();
        for (int i = 0; i < cells.Length; i += 4)
        {
            for (int k = 0; k < 2; k++)
            {
                int c = i + 2 * k;
                long rawPrice = Integer(cells[c].Trim(), orderbookPath, 1, c + 1, "price");
                long size = Integer(cells[c + 1].Trim(), orderbookPath, 1, c + 2, "size");
                if (size <= 0 || rawPrice <= 0 || rawPrice >= DummyPrice) continue; // LOBSTER's filler for an empty level
                if (!TryScalePrice(rawPrice, out long price))
                    throw new ReplayFormatException(orderbookPath, 1, c + 1, $"price: {rawPrice} is not exact at the market's {_market.PriceScale} decimals");
                var levels = k == 0 ? asks : bids;
                levels[price] = levels.GetValueOrDefault(price) + size;
            }
        }

        // Undo message 1: the orderbook row is the book after it.
        using (var msg = new StreamReader(messagePath))
        {
            string? first;
            long line = 0;
            do { first = msg.ReadLine(); line++; } while (first is not null && first.Length == 0);
            if (first is not null)
            {
                var m = ParseMessage(first, messagePath, line);
                _seedTimestamp = _midnightUnixNs + m.TimeNs;
                var levels = m.Side == Side.Buy ? bids : asks;
                switch (m.Type)
                {
                    case 1:
                        long left = levels.GetValueOrDefault(m.Price) - m.Size;
                        if (left > 0) levels[m.Price] = left;
                        else levels.Remove(m.Price);
                        break;
                    case 2 or 3 or 4:
                        levels[m.Price] = levels.GetValueOrDefault(m.Price) + m.Size;
                        break;
                }
            }
        }
        foreach (var (price, size) in asks) _seedLevels.Add((Side.Sell, price, size));
        foreach (var (price, size) in bids.Reverse()) _seedLevels.Add((Side.Buy, price, size));
    }

    private void EmitSeed(CommandBatch batch)
    {
        foreach (var (side, price, size) in _seedLevels)
        {
            long id = ++_nextSyntheticId;
            _book.Emit(batch, Command.Limit(_market.Id, ReplayIds.SeedAccount, id, side, price, size));
            (side == Side.Buy ? _bidSeeds : _askSeeds)[price] = id;
            _seedOrders++;
        }
    }

    // ------------------------------------------------------------------ translation

    private void Apply(CommandBatch batch, in Message m)
    {
        switch (m.Type)
        {
            case 1: New(batch, in m); break;
            case 2: PartialCancel(batch, in m); break;
            case 3: Delete(batch, in m); break;
            case 4: Execute(batch, in m); break;
            case 5:
                _hiddenExecutions++;
                _hiddenVolume += m.Size;
                break;
            case 6: _crossTrades++; break;
            case 7: Halt(batch, in m); break;
        }
    }

    private void New(CommandBatch batch, in Message m)
    {
        if (_book.Contains(m.OrderId) || FindHeld(m.OrderId) is not null)
        {
            _duplicateNew++;
            return;
        }
        if (_book.Crosses(m.Side, m.Price))
        {
            _heldTotal++;
            _held.Add(new Held { Id = m.OrderId, Side = m.Side, Price = m.Price, Quantity = m.Size });
            return;
        }
        _newOrders++;
        _book.Emit(batch, Command.Limit(_market.Id, m.OrderId, m.OrderId, m.Side, m.Price, m.Size));
    }

    private void PartialCancel(CommandBatch batch, in Message m)
    {
        _partialCancels++;
        if (_book.TryGet(m.OrderId, out var order)) ReduceInPlace(batch, order, m.Size);
        else if (!ReduceHeld(m.OrderId, m.Size)) ReduceUnknown(batch, in m);
    }

    private void Delete(CommandBatch batch, in Message m)
    {
        _deletes++;
        if (_book.TryGet(m.OrderId, out var order))
        {
            if (order.Quantity.Units != m.Size) _sizeMismatches++;
            _book.Emit(batch, Command.CancelOrder(_market.Id, order.AccountId, order.OrderId));
        }
        else if (FindHeld(m.OrderId) is { } held)
        {
            _held.Remove(held);
            _heldDropped++;
        }
        else
        {
            ReduceUnknown(batch, in m);
        }
    }

    private void Execute(CommandBatch batch, in Message m)
    {
        _executions++;
        RestingOrder order;
        if (_book.TryGet(m.OrderId, out var known))
        {
            order = known;
        }
        else if (ReduceHeld(m.OrderId, m.Size))
        {
            _executionsNotFirst++;
            return;
        }
        else
        {
            _unknownIds++;
            if (!TryGetSeed(m.Side, m.Price, out order))
            {
                _unknownNoLevel++;
                return;
            }
            _unknownOnSeed++;
        }

        if (order.Price.Units == m.Price && _book.IsFrontOfBest(order.OrderId))
        {
            // The executed order is first in line at the best price: an IOC at that price for at
            // most its open quantity trades with exactly this order.
            long fill = Math.Min(m.Size, order.Quantity.Units);
            if (fill < m.Size) _sizeMismatches++;
            _executionsTraded++;
            Side taker = order.Side == Side.Buy ? Side.Sell : Side.Buy;
            _book.Emit(batch, Command.Limit(_market.Id, ReplayIds.TakerAccount, ++_nextSyntheticId, taker, order.Price.Units, fill,
                TimeInForce.ImmediateOrCancel));
            return;
        }
        _executionsNotFirst++;
        ReduceInPlace(batch, order, m.Size);
    }

    private void Halt(CommandBatch batch, in Message m)
    {
        _halts++;
        MarketState state = m.Price switch
        {
            -1 => MarketState.Halted,
            0 => MarketState.LimitOnly,
            _ => MarketState.Online,
        };
        _book.Emit(batch, Command.ChangeMarketState(_market.Id, state));
    }

    /// <summary>Lowers an order by <paramref name="size"/> keeping its priority, or cancels it when nothing is left.</summary>
    private void ReduceInPlace(CommandBatch batch, RestingOrder order, long size)
    {
        long left = order.Quantity.Units - size;
        if (left > 0)
        {
            _book.Emit(batch, Command.AmendOrder(_market.Id, order.AccountId, order.OrderId, order.Price.Units, left));
            return;
        }
        if (left < 0) _sizeMismatches++;
        _book.Emit(batch, Command.CancelOrder(_market.Id, order.AccountId, order.OrderId));
    }

    /// <summary>An event on an id the book does not hold: reduce the seed order of its price level, if any.</summary>
    private void ReduceUnknown(CommandBatch batch, in Message m)
    {
        _unknownIds++;
        if (!TryGetSeed(m.Side, m.Price, out var seed))
        {
            _unknownNoLevel++;
            return;
        }
        _unknownOnSeed++;
        ReduceInPlace(batch, seed, m.Size);
    }

    /// <summary>The seed order of the level at <paramref name="price"/>, while it still rests.</summary>
    private bool TryGetSeed(Side side, long price, out RestingOrder seed)
    {
        seed = default;
        return (side == Side.Buy ? _bidSeeds : _askSeeds).TryGetValue(price, out long id) && _book.TryGet(id, out seed);
    }

    private Held? FindHeld(long id)
    {
        foreach (var h in _held)
        {
            if (h.Id == id) return h;
        }
        return null;
    }

    private bool ReduceHeld(long id, long size)
    {
        var held = FindHeld(id);
        if (held is null) return false;
        held.Quantity -= size;
        if (held.Quantity <= 0)
        {
            _held.Remove(held);
            _heldDropped++;
        }
        return true;
    }

    private void Release(CommandBatch batch)
    {
        for (int i = 0; i < _held.Count; i++)
        {
            var h = _held[i];
            if (_book.Crosses(h.Side, h.Price)) continue;
            _held.RemoveAt(i);
            i--;
            _heldReleased++;
            _newOrders++;
            _book.Emit(batch, Command.Limit(_market.Id, h.Id, h.Id, h.Side, h.Price, h.Quantity));
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _reader.Dispose();
}
