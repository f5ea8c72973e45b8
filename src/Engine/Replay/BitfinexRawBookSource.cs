using System.Text;
using System.Text.Json;
using ExchangeHealth.Engine.Primitives;

namespace ExchangeHealth.Engine.Replay;

/// <summary>
/// Replays a Bitfinex raw order book feed (<c>book</c> channel, <c>prec: R0</c>, order by order)
/// saved as one JSON array of websocket messages:
/// <c>[{"event":"info",...}, {"event":"subscribed","symbol":"tBTCUSD","prec":"R0",...},
/// [chanId, [[id, price, amount], ...]], [chanId, [id, price, amount]], [chanId, "hb"], ...]</c>.
/// </summary>
/// <remarks>
/// <para>
/// Feed semantics: <c>amount &gt; 0</c> is a bid, <c>&lt; 0</c> an ask, <c>price == 0</c> deletes the
/// order; an id seen before with a new price or amount is a modification. Numbers are converted
/// exactly from their JSON text (including exponents such as <c>1e-05</c>) at the market's scales;
/// a number with more decimals than the scale is a format error.
/// </para>
/// <para>
/// Translation (one account per feed order, account id = order id; see <c>docs/replay.md</c>):
/// new id: GTC limit order; delete: cancel; price change or larger amount: amend (loses time
/// priority); smaller amount of the order first in line at the best price: a synthetic IOC limit
/// order from <see cref="ReplayIds.TakerAccount"/> at that price for the difference, which trades
/// with exactly that order; any other smaller amount: amend down (keeps priority). An entry (new or
/// repriced) that would cross the engine's book is deferred: held outside the engine, updated by
/// later messages, and submitted as soon as it no longer crosses. The engine's book then equals
/// the book implied by the feed minus the deferred orders, and equals it exactly when nothing is
/// deferred.
/// </para>
/// </remarks>
public sealed class BitfinexRawBookSource : IOrderFlowSource
{
    private const ushort MarketId = 1;

    private readonly JsonTokenStream _json;
    private readonly ShadowBook _book;
    private readonly List<Deferred> _deferred = [];
    private readonly MarketDefinition _market;
    private readonly char[] _chars = new char[64];
    private long _nextSyntheticId = ReplayIds.SyntheticOrderIdBase;
    private bool _inSnapshot;
    private long _element = -1;   // index of the current message in the top-level array
    private bool _ended;

    private long _snapshots, _snapshotOrders, _updates, _heartbeats, _checksums, _otherMessages;
    private long _newOrders, _deletes, _priceChanges, _growths, _shrinksTraded, _shrinksAmended, _sideChanges;
    private long _unchanged, _unknownDeletes, _deferredNew, _deferredRepriced, _deferredReleased, _deferredDropped, _deferredUpdates, _maxDeferred;
    private long _zeroAmount;

    private sealed class Deferred
    {
        public long Id;
        public Side Side;
        public long Price;
        public long Quantity;
    }

    /// <summary>Opens <paramref name="path"/> and reads the leading events (up to the first channel message).</summary>
    /// <param name="path">The JSON file.</param>
    /// <param name="markets">
    /// Optional markets file content: when it defines the feed's symbol (e.g. <c>BTC/USD</c>), that
    /// definition is used instead of the implied one (scales 8/8, tick and lot 1e-8, no collar).
    /// </param>
    /// <exception cref="ReplayFormatException">The file does not start like a Bitfinex raw book capture.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public BitfinexRawBookSource(string path, IReadOnlyList<MarketDefinition>? markets = null)
    {
        FileName = path;
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        TotalBytes = stream.Length;
        _json = new JsonTokenStream(stream, path);
        try
        {
            string symbol = ReadHeader();
            MarketDefinition? configured = null;
            if (markets is not null)
            {
                foreach (var m in markets)
                {
                    if (string.Equals(m.Symbol, symbol, StringComparison.OrdinalIgnoreCase)) configured = m with { Id = MarketId };
                }
                if (configured is null) throw new ReplayFormatException(path, 0, 0, $"the markets file defines no market '{symbol}' (the feed's symbol)");
            }
            _market = configured ?? ImpliedMarket(symbol);
            Markets = [_market];
            _book = new ShadowBook(_market);
        }
        catch
        {
            _json.Dispose();
            throw;
        }
    }

    /// <summary>The market a Bitfinex R0 capture implies: prices and amounts with 8 decimals, tick and lot 1e-8, no collar.</summary>
    public static MarketDefinition ImpliedMarket(string symbol) => new()
    {
        Id = MarketId,
        Symbol = symbol,
        PriceScale = 8,
        QuantityScale = 8,
        TickSize = 1,
        LotSize = 1,
        PriceCollarBasisPoints = 0,
    };

    /// <inheritdoc/>
    public OrderFlowFormat Format => OrderFlowFormat.Bitfinex;

    /// <inheritdoc/>
    public string FileName { get; }

    /// <inheritdoc/>
    public IReadOnlyList<MarketDefinition> Markets { get; }

    /// <inheritdoc/>
    public long BytesRead => _json.BytesBuffered;

    /// <inheritdoc/>
    public long TotalBytes { get; }

    /// <inheritdoc/>
    public long RecordNumber { get; private set; }

    /// <summary>Entries currently held back because they would cross the engine's book.</summary>
    public int DeferredCount => _deferred.Count;

    /// <inheritdoc/>
    public IReadOnlyList<ReplayCounter> Counters =>
    [
        new("snapshots", _snapshots, "snapshot messages (a later one is applied like updates: orders it lacks are not removed)"),
        new("snapshot_orders", _snapshotOrders, "orders in the snapshot(s)"),
        new("updates", _updates, "order updates after the snapshot"),
        new("heartbeats", _heartbeats, "heartbeat messages (no command)"),
        new("checksums", _checksums, "checksum messages (no command)"),
        new("other_messages", _otherMessages, "events (info, subscribed, ...) and messages of other shapes (skipped)"),
        new("new_orders", _newOrders, "new feed orders submitted as GTC limit orders (incl. released deferred ones)"),
        new("deletes", _deletes, "deletes (price 0): cancels, or dropped while deferred"),
        new("price_changes", _priceChanges, "price changes applied as amends (lose priority)"),
        new("growths", _growths, "amount increases at the same price: amends (lose priority)"),
        new("shrinks_traded", _shrinksTraded, "amount decreases of the first order at the best price: synthetic IOC trades"),
        new("shrinks_amended", _shrinksAmended, "other amount decreases: amends down (keep priority)"),
        new("side_changes", _sideChanges, "orders that changed side: cancel and enter again"),
        new("unchanged", _unchanged, "updates repeating an order's price and amount (no command)"),
        new("zero_amount_deletes", _zeroAmount, "updates with amount 0 and a price, treated as deletes"),
        new("unknown_deletes", _unknownDeletes, "deletes of ids never seen (no command)"),
        new("deferred", _deferredNew + _deferredRepriced, "entries held back because they would cross the engine's book"),
        new("deferred_new", _deferredNew, "of those, new orders (or side changes)"),
        new("deferred_repriced", _deferredRepriced, "of those, resting orders repriced across the book (cancelled, then held)"),
        new("deferred_updates", _deferredUpdates, "updates applied to a held entry"),
        new("deferred_released", _deferredReleased, "held entries submitted once they no longer crossed"),
        new("deferred_dropped", _deferredDropped, "held entries deleted by the feed before release"),
        new("deferred_at_end", _deferred.Count, "entries still held at the end (the engine's book lacks them)"),
        new("max_deferred", _maxDeferred, "most entries held at once"),
    ];

    /// <inheritdoc/>
    public bool ReadNext(CommandBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.Clear();
        while (!_ended)
        {
            if (_inSnapshot)
            {
                if (!_json.Read()) throw EndInside();
                if (_json.TokenType == JsonTokenType.EndArray)
                {
                    _inSnapshot = false;
                    ExpectEndOfMessage();
                    continue;
                }
                if (_json.TokenType != JsonTokenType.StartArray) throw Fail("snapshot: expected an [id, price, amount] entry");
                ReadEntry(out long id, out long price, out long amount);
                RecordNumber++;
                _snapshotOrders++;
                Apply(batch, id, price, amount);
                return true;
            }

            if (!_json.Read()) throw EndInside();
            switch (_json.TokenType)
            {
                case JsonTokenType.EndArray:
                    _ended = true;
                    if (_json.Read()) throw Fail("unexpected content after the closing ']'");
                    return false;
                case JsonTokenType.StartObject:
                    _element++;
                    _otherMessages++;
                    _json.SkipValue();
                    continue;
                case JsonTokenType.StartArray:
                    _element++;
                    if (ReadChannelMessage(batch)) return true;
                    continue;
                default:
                    throw Fail("expected a message (an object or [chanId, ...] array)");
            }
        }
        return false;
    }

    /// <summary>Reads <c>[chanId, ...]</c> after its '['. Returns true when it was an update (a record).</summary>
    private bool ReadChannelMessage(CommandBatch batch)
    {
        if (!_json.Read()) throw EndInside();
        if (_json.TokenType != JsonTokenType.Number) throw Fail("expected the channel id as the first element of a message");
        if (!_json.Read()) throw EndInside();
        if (_json.TokenType == JsonTokenType.String)
        {
            if (_json.IsString("hb"u8)) _heartbeats++;
            else if (_json.IsString("cs"u8)) _checksums++;
            else _otherMessages++;
            SkipToEndOfMessage();
            return false;
        }
        if (_json.TokenType != JsonTokenType.StartArray) throw Fail("expected \"hb\", a snapshot or an update after the channel id");
        if (!_json.Read()) throw EndInside();
        if (_json.TokenType == JsonTokenType.StartArray)
        {
            _json.PushBack();
            _inSnapshot = true;
            _snapshots++;
            return false;
        }
        if (_json.TokenType == JsonTokenType.EndArray)
        {
            // An empty snapshot.
            ExpectEndOfMessage();
            return false;
        }
        _json.PushBack();
        ReadEntry(out long id, out long price, out long amount);
        SkipToEndOfMessage();
        RecordNumber++;
        _updates++;
        Apply(batch, id, price, amount);
        return true;
    }

    /// <summary>Reads <c>id, price, amount]</c> (the '[' already consumed).</summary>
    private void ReadEntry(out long id, out long price, out long amount)
    {
        if (!_json.Read()) throw EndInside();
        id = Number("order id", 0);
        if (id <= 0 || id > ReplayIds.MaxFeedOrderId) throw Fail($"order id {id} is outside 1..{ReplayIds.MaxFeedOrderId}");
        if (!_json.Read()) throw EndInside();
        price = Number("price", _market.PriceScale);
        if (price < 0) throw Fail("price: must not be negative");
        if (!_json.Read()) throw EndInside();
        amount = Number("amount", _market.QuantityScale);
        if (!_json.Read()) throw EndInside();
        if (_json.TokenType != JsonTokenType.EndArray) throw Fail("expected ']' after [id, price, amount]");
    }

    private long Number(string field, int scale)
    {
        if (_json.TokenType != JsonTokenType.Number) throw Fail($"{field}: expected a number");
        ReadOnlySpan<byte> raw = _json.ValueSpan;
        if (raw.Length > _chars.Length) throw Fail($"{field}: '{_json.ValueText()}' is too long");
        int n = Encoding.ASCII.GetChars(raw, _chars);
        if (!FixedPoint.TryParse(_chars.AsSpan(0, n), scale, out long units, out var error))
            throw Fail($"{field}: '{_json.ValueText()}' is not exact at {scale} decimals ({FixedPoint.Describe(error)})");
        return units;
    }

    private void ExpectEndOfMessage()
    {
        if (!_json.Read()) throw EndInside();
        if (_json.TokenType != JsonTokenType.EndArray) throw Fail("expected ']' closing the message");
    }

    private void SkipToEndOfMessage()
    {
        while (true)
        {
            if (!_json.Read()) throw EndInside();
            if (_json.TokenType == JsonTokenType.EndArray) return;
            _json.SkipValue();
        }
    }

    private ReplayFormatException EndInside() => Fail("unexpected end of the file (the JSON array is not closed)");

    /// <summary>An error at the current token, naming the message's index in the top-level array (the capture is often one long line).</summary>
    private ReplayFormatException Fail(string reason) => _json.Error(_element >= 0 ? $"message {_element}: {reason}" : reason);

    private string ReadHeader()
    {
        if (!_json.Read() || _json.TokenType != JsonTokenType.StartArray)
            throw Fail("expected '[': a Bitfinex capture is one JSON array of websocket messages");
        string? symbol = null;
        string? prec = null;
        while (true)
        {
            if (!_json.Read()) throw EndInside();
            if (_json.TokenType != JsonTokenType.StartObject)
            {
                _json.PushBack();
                break;
            }
            // An event object: remember symbol and precision of a 'subscribed' event.
            _element++;
            string? key = null;
            int depth = 1;
            string? ev = null, sym = null, pr = null;
            while (depth > 0)
            {
                if (!_json.Read()) throw EndInside();
                switch (_json.TokenType)
                {
                    case JsonTokenType.StartObject or JsonTokenType.StartArray: depth++; break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray: depth--; break;
                    case JsonTokenType.PropertyName: if (depth == 1) key = _json.ValueText(); break;
                    case JsonTokenType.String when depth == 1:
                        if (key == "event") ev = _json.ValueText();
                        else if (key == "symbol") sym = _json.ValueText();
                        else if (key == "prec") pr = _json.ValueText();
                        break;
                }
            }
            _otherMessages++;
            if (ev == "subscribed" && sym is not null)
            {
                symbol = sym;
                prec = pr;
            }
        }
        if (symbol is null) throw Fail("no 'subscribed' event with the symbol before the first channel message");
        if (prec is not null && prec != "R0") throw Fail($"the book is subscribed with prec '{prec}': only raw books (R0, order by order) can be replayed");
        return MarketSymbol(symbol);
    }

    /// <summary>Bitfinex pair symbol to ours: <c>tBTCUSD</c> to <c>BTC/USD</c>, <c>tTESTBTC:TESTUSD</c> to <c>TESTBTC/TESTUSD</c>.</summary>
    public static string MarketSymbol(string bitfinexSymbol)
    {
        ArgumentNullException.ThrowIfNull(bitfinexSymbol);
        string s = bitfinexSymbol.StartsWith('t') ? bitfinexSymbol[1..] : bitfinexSymbol;
        int colon = s.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0) return s[..colon] + "/" + s[(colon + 1)..];
        return s.Length == 6 ? s[..3] + "/" + s[3..] : s;
    }

    // ------------------------------------------------------------------ translation

    private void Apply(CommandBatch batch, long id, long price, long amount)
    {
        if (price == 0 || amount == 0)
        {
            if (price != 0) _zeroAmount++;
            Delete(batch, id);
        }
        else
        {
            Side side = amount > 0 ? Side.Buy : Side.Sell;
            long quantity = amount > 0 ? amount : -amount;
            if (_book.TryGet(id, out var order)) Modify(batch, order, side, price, quantity);
            else if (FindDeferred(id) is { } held)
            {
                held.Side = side;
                held.Price = price;
                held.Quantity = quantity;
                _deferredUpdates++;
            }
            else
            {
                Enter(batch, id, side, price, quantity);
            }
        }
        Release(batch);
    }

    private void Delete(CommandBatch batch, long id)
    {
        if (_book.TryGet(id, out var order))
        {
            _deletes++;
            _book.Emit(batch, Command.CancelOrder(_market.Id, id, id));
        }
        else if (FindDeferred(id) is { } held)
        {
            _deletes++;
            _deferredDropped++;
            _deferred.Remove(held);
        }
        else
        {
            _unknownDeletes++;
        }
    }

    private void Modify(CommandBatch batch, RestingOrder order, Side side, long price, long quantity)
    {
        if (side != order.Side)
        {
            _sideChanges++;
            _book.Emit(batch, Command.CancelOrder(_market.Id, order.OrderId, order.OrderId));
            Enter(batch, order.OrderId, side, price, quantity);
            return;
        }
        if (price != order.Price.Units)
        {
            if (_book.Crosses(side, price))
            {
                // The new price would execute against an order the feed still shows: take the
                // order out and hold it until the book it would cross has moved.
                _book.Emit(batch, Command.CancelOrder(_market.Id, order.OrderId, order.OrderId));
                _deferredRepriced++;
                Defer(order.OrderId, side, price, quantity);
                return;
            }
            _priceChanges++;
            _book.Emit(batch, Command.AmendOrder(_market.Id, order.OrderId, order.OrderId, price, quantity));
            return;
        }
        if (quantity > order.Quantity.Units)
        {
            _growths++;
            _book.Emit(batch, Command.AmendOrder(_market.Id, order.OrderId, order.OrderId, price, quantity));
            return;
        }
        if (quantity == order.Quantity.Units)
        {
            _unchanged++;
            return;
        }
        if (_book.IsFrontOfBest(order.OrderId))
        {
            // A fill: an IOC at exactly this price hits this order first, and for less than its
            // open quantity, so it trades with this order only.
            _shrinksTraded++;
            Side taker = side == Side.Buy ? Side.Sell : Side.Buy;
            _book.Emit(batch, Command.Limit(_market.Id, ReplayIds.TakerAccount, ++_nextSyntheticId, taker, price,
                order.Quantity.Units - quantity, TimeInForce.ImmediateOrCancel));
        }
        else
        {
            _shrinksAmended++;
            _book.Emit(batch, Command.AmendOrder(_market.Id, order.OrderId, order.OrderId, price, quantity));
        }
    }

    private void Enter(CommandBatch batch, long id, Side side, long price, long quantity)
    {
        if (_book.Crosses(side, price))
        {
            _deferredNew++;
            Defer(id, side, price, quantity);
            return;
        }
        _newOrders++;
        _book.Emit(batch, Command.Limit(_market.Id, id, id, side, price, quantity));
    }

    private void Defer(long id, Side side, long price, long quantity)
    {
        _deferred.Add(new Deferred { Id = id, Side = side, Price = price, Quantity = quantity });
        if (_deferred.Count > _maxDeferred) _maxDeferred = _deferred.Count;
    }

    private Deferred? FindDeferred(long id)
    {
        foreach (var d in _deferred)
        {
            if (d.Id == id) return d;
        }
        return null;
    }

    /// <summary>Submits held entries, oldest first, that no longer cross the book.</summary>
    private void Release(CommandBatch batch)
    {
        for (int i = 0; i < _deferred.Count; i++)
        {
            var d = _deferred[i];
            if (_book.Crosses(d.Side, d.Price)) continue;
            _deferred.RemoveAt(i);
            i--;
            _deferredReleased++;
            _newOrders++;
            _book.Emit(batch, Command.Limit(_market.Id, d.Id, d.Id, d.Side, d.Price, d.Quantity));
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _json.Dispose();
}
