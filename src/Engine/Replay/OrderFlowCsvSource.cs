using System.Globalization;
using ExchangeHealth.Engine.Primitives;

namespace ExchangeHealth.Engine.Replay;

/// <summary>
/// Reads our canonical order-flow CSV: a header row naming the columns (any order), then one
/// command per line. Specified in <c>docs/order-flow-csv.md</c>.
/// </summary>
/// <remarks>
/// <para>
/// Columns: <c>command</c> (required: <c>new</c>, <c>cancel</c>, <c>amend</c>, <c>cancel_all</c>,
/// <c>set_state</c>), <c>market</c> (a symbol of the markets file), <c>account</c>, <c>order_id</c>,
/// <c>side</c> (<c>buy</c>/<c>sell</c>), <c>type</c> (<c>limit</c>/<c>market</c>, default limit),
/// <c>tif</c> (<c>gtc</c>/<c>ioc</c>/<c>fok</c>, default gtc, ioc for market orders), <c>flags</c>
/// (empty or <c>post_only</c>), <c>price</c> and <c>quantity</c> (decimal text in the market's
/// units; a market order's price may be given but is not used: market orders have no limit), <c>state</c> (a market state name), <c>timestamp</c> (Unix nanoseconds or ISO 8601).
/// </para>
/// <para>
/// What is a line error (thrown as <see cref="ReplayFormatException"/> naming file, line and
/// column): a wrong number of fields, an unknown command, market, side, type, time in force, flag
/// or state, a missing field the command needs, text that is not a number, a number with more
/// decimals than the market's scale or too large for 64 bits. What is left to the engine (a
/// rejected command with a reason): every number that parses but is out of range or off the
/// grid, e.g. a zero quantity, a price off the tick grid, an unknown order id.
/// </para>
/// </remarks>
public sealed class OrderFlowCsvSource : IOrderFlowSource
{
    /// <summary>The column names this format knows.</summary>
    public static IReadOnlyList<string> ColumnNames { get; } =
        ["timestamp", "command", "market", "account", "order_id", "side", "type", "tif", "flags", "price", "quantity", "state"];

    private const int ColTimestamp = 0, ColCommand = 1, ColMarket = 2, ColAccount = 3, ColOrderId = 4, ColSide = 5,
        ColType = 6, ColTif = 7, ColFlags = 8, ColPrice = 9, ColQuantity = 10, ColState = 11;

    private readonly StreamReader _reader;
    private readonly Dictionary<string, MarketDefinition> _markets = new(StringComparer.OrdinalIgnoreCase);
    private readonly int[] _columnOf = new int[12];   // field index of each known column, -1 if absent
    private readonly string[] _headerNames;
    private readonly List<string> _fields = [];
    private long _line;
    private long _comments, _blankLines;

    /// <summary>Opens <paramref name="path"/> and reads its header row.</summary>
    /// <param name="path">The CSV file.</param>
    /// <param name="markets">The markets the <c>market</c> column refers to by symbol (e.g. <see cref="MarketsFile.Default"/>).</param>
    /// <exception cref="ReplayFormatException">The header is missing, names an unknown or repeated column, or lacks <c>command</c>.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public OrderFlowCsvSource(string path, IReadOnlyList<MarketDefinition> markets)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(markets);
        FileName = path;
        Markets = markets;
        foreach (var m in markets) _markets[m.Symbol] = m;
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        TotalBytes = stream.Length;
        _reader = new StreamReader(stream, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 64 * 1024);
        try
        {
            _headerNames = ReadHeader();
        }
        catch
        {
            _reader.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public OrderFlowFormat Format => OrderFlowFormat.Csv;

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
        new("comment_lines", _comments, "lines starting with '#' (skipped)"),
        new("blank_lines", _blankLines, "empty lines (skipped)"),
    ];

    private string[] ReadHeader()
    {
        Array.Fill(_columnOf, -1);
        string? text;
        while ((text = _reader.ReadLine()) is not null)
        {
            _line++;
            if (IsSkippable(text)) continue;
            Split(text);
            var names = new string[_fields.Count];
            for (int i = 0; i < _fields.Count; i++)
            {
                string name = _fields[i].ToLowerInvariant();
                names[i] = name;
                int known = IndexOfColumn(name);
                if (known < 0)
                    throw new ReplayFormatException(FileName, _line, i + 1, $"unknown column '{_fields[i]}' in the header; known columns: {string.Join(", ", ColumnNames)}");
                if (_columnOf[known] >= 0)
                    throw new ReplayFormatException(FileName, _line, i + 1, $"column '{name}' appears twice in the header");
                _columnOf[known] = i;
            }
            if (_columnOf[ColCommand] < 0)
                throw new ReplayFormatException(FileName, _line, 0, "the header has no 'command' column (the first non-comment line must name the columns, e.g. command,market,account,order_id,side,price,quantity)");
            return names;
        }
        throw new ReplayFormatException(FileName, 0, 0, "the file is empty: expected a header row naming the columns");
    }

    private static int IndexOfColumn(string name)
    {
        for (int i = 0; i < ColumnNames.Count; i++)
        {
            if (ColumnNames[i] == name) return i;
        }
        return -1;
    }

    private bool IsSkippable(string text)
    {
        ReadOnlySpan<char> t = text.AsSpan().Trim();
        if (t.Length == 0) { _blankLines++; return true; }
        if (t[0] == '#') { _comments++; return true; }
        return false;
    }

    private void Split(string text)
    {
        _fields.Clear();
        int start = 0;
        for (int i = 0; i <= text.Length; i++)
        {
            if (i < text.Length && text[i] != ',') continue;
            _fields.Add(text[start..i].Trim());
            start = i + 1;
        }
    }

    /// <inheritdoc/>
    public bool ReadNext(CommandBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.Clear();
        string? text;
        while ((text = _reader.ReadLine()) is not null)
        {
            _line++;
            if (IsSkippable(text)) continue;
            Split(text);
            if (_fields.Count != _headerNames.Length)
                throw Error(-1, $"expected {_headerNames.Length} fields as in the header ({string.Join(",", _headerNames)}), found {_fields.Count}");
            var command = ParseCommand();
            RecordNumber = _line;
            batch.Add(in command);
            return true;
        }
        return false;
    }

    private Command ParseCommand()
    {
        string name = Required(ColCommand, "every line");
        var c = new Command();
        if (_columnOf[ColTimestamp] >= 0 && Field(ColTimestamp).Length > 0) c.Timestamp = Timestamp();
        switch (name.ToLowerInvariant())
        {
            case "new": ParseNew(ref c); break;
            case "cancel": ParseCancel(ref c); break;
            case "amend": ParseAmend(ref c); break;
            case "cancel_all": ParseCancelAll(ref c); break;
            case "set_state": ParseSetState(ref c); break;
            default: throw Error(ColCommand, $"command: '{name}' is not one of new, cancel, amend, cancel_all, set_state");
        }
        return c;
    }

    private void ParseNew(ref Command c)
    {
        var market = Market(required: true)!;
        c.Type = CommandType.NewOrder;
        c.MarketId = market.Id;
        c.AccountId = Integer(ColAccount, "new");
        c.OrderId = Integer(ColOrderId, "new");
        c.Side = ParseSide("new");
        c.OrderType = OrderTypeOf();
        c.TimeInForce = TimeInForceOf(c.OrderType);
        c.Flags = FlagsOf();
        if (c.OrderType == OrderType.Limit) c.Price = new Price(DecimalUnits(ColPrice, market.PriceScale, "a new limit order"));
        else if (Optional(ColPrice).Length > 0) _ = DecimalUnits(ColPrice, market.PriceScale, "a new market order"); // checked, not used
        c.Quantity = new Quantity(DecimalUnits(ColQuantity, market.QuantityScale, "new"));
    }

    private void ParseCancel(ref Command c)
    {
        var market = Market(required: true)!;
        c.Type = CommandType.Cancel;
        c.MarketId = market.Id;
        c.AccountId = Integer(ColAccount, "cancel");
        c.OrderId = Integer(ColOrderId, "cancel");
    }

    private void ParseAmend(ref Command c)
    {
        var market = Market(required: true)!;
        c.Type = CommandType.Amend;
        c.MarketId = market.Id;
        c.AccountId = Integer(ColAccount, "amend");
        c.OrderId = Integer(ColOrderId, "amend");
        c.Price = new Price(DecimalUnits(ColPrice, market.PriceScale, "amend"));
        c.Quantity = new Quantity(DecimalUnits(ColQuantity, market.QuantityScale, "amend"));
    }

    private void ParseCancelAll(ref Command c)
    {
        var market = Market(required: false);
        c.Type = CommandType.CancelAll;
        c.MarketId = market?.Id ?? 0;
        c.AccountId = Integer(ColAccount, "cancel_all");
    }

    private void ParseSetState(ref Command c)
    {
        var market = Market(required: true)!;
        c.Type = CommandType.SetMarketState;
        c.MarketId = market.Id;
        string state = Required(ColState, "set_state");
        if (!Reasons.TryParseMarketState(state, out c.State))
            throw Error(ColState, $"state: '{state}' is not one of online, post_only, limit_only, cancel_only, halted");
    }

    private string Field(int column) => _fields[_columnOf[column]];

    private string Optional(int column) => _columnOf[column] >= 0 ? Field(column) : "";

    private string Required(int column, string who)
    {
        string name = ColumnNames[column];
        if (_columnOf[column] < 0) throw Error(-1, $"{name}: {who} needs a '{name}' column, and the header has none");
        string v = Field(column);
        if (v.Length == 0) throw Error(column, $"{name}: required for {who}, but empty");
        return v;
    }

    private MarketDefinition? Market(bool required)
    {
        string symbol = required ? Required(ColMarket, "this command") : Optional(ColMarket);
        if (!required && (symbol.Length == 0 || symbol == "*")) return null;
        if (_markets.TryGetValue(symbol, out var market)) return market;
        throw Error(ColMarket, $"market: '{symbol}' is not in the markets file (known: {string.Join(", ", _markets.Keys)})");
    }

    private long Integer(int column, string who)
    {
        string text = Required(column, who);
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
            throw Error(column, $"{ColumnNames[column]}: '{text}' is not an integer");
        return v;
    }

    private long DecimalUnits(int column, int scale, string who)
    {
        string text = Required(column, who);
        if (!FixedPoint.TryParse(text, scale, out long units, out var error))
        {
            string why = error switch
            {
                FixedPointError.TooManyDecimals => $"has more than the market's {scale} decimals",
                FixedPointError.Overflow => "is too large",
                _ => "is not a decimal number",
            };
            throw Error(column, $"{ColumnNames[column]}: '{text}' {why}");
        }
        return units;
    }

    private Side ParseSide(string who)
    {
        string text = Required(ColSide, who);
        if (text.Equals("buy", StringComparison.OrdinalIgnoreCase)) return Side.Buy;
        if (text.Equals("sell", StringComparison.OrdinalIgnoreCase)) return Side.Sell;
        throw Error(ColSide, $"side: '{text}' is neither buy nor sell");
    }

    private OrderType OrderTypeOf()
    {
        string text = Optional(ColType);
        if (text.Length == 0 || text.Equals("limit", StringComparison.OrdinalIgnoreCase)) return OrderType.Limit;
        if (text.Equals("market", StringComparison.OrdinalIgnoreCase)) return OrderType.Market;
        throw Error(ColType, $"type: '{text}' is neither limit nor market");
    }

    private TimeInForce TimeInForceOf(OrderType type)
    {
        string text = Optional(ColTif);
        if (text.Length == 0) return type == OrderType.Market ? TimeInForce.ImmediateOrCancel : TimeInForce.GoodTillCancel;
        if (text.Equals("gtc", StringComparison.OrdinalIgnoreCase)) return TimeInForce.GoodTillCancel;
        if (text.Equals("ioc", StringComparison.OrdinalIgnoreCase)) return TimeInForce.ImmediateOrCancel;
        if (text.Equals("fok", StringComparison.OrdinalIgnoreCase)) return TimeInForce.FillOrKill;
        throw Error(ColTif, $"tif: '{text}' is not one of gtc, ioc, fok");
    }

    private OrderFlags FlagsOf()
    {
        string text = Optional(ColFlags);
        if (text.Length == 0 || text.Equals("none", StringComparison.OrdinalIgnoreCase)) return OrderFlags.None;
        if (text.Equals("post_only", StringComparison.OrdinalIgnoreCase)) return OrderFlags.PostOnly;
        throw Error(ColFlags, $"flags: '{text}' is neither empty nor post_only");
    }

    private long Timestamp()
    {
        string text = Field(ColTimestamp);
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long ns)) return ns;
        if (TryParseIso8601(text, out ns)) return ns;
        throw Error(ColTimestamp, $"timestamp: '{text}' is neither Unix nanoseconds nor an ISO 8601 time (at most 9 decimals of a second)");
    }

    /// <summary>
    /// ISO 8601 to Unix nanoseconds, exact to the nanosecond: the fraction of the second is taken
    /// apart (DateTimeOffset keeps only 100 ns), the rest is parsed as UTC unless it has an offset.
    /// </summary>
    internal static bool TryParseIso8601(string text, out long unixNs)
    {
        unixNs = 0;
        int t = text.IndexOf('T', StringComparison.Ordinal);
        int dot = t < 0 ? -1 : text.IndexOf('.', t);
        long fractionNs = 0;
        string rest = text;
        if (dot >= 0)
        {
            int end = dot + 1;
            while (end < text.Length && char.IsAsciiDigit(text[end])) end++;
            int digits = end - dot - 1;
            if (digits is 0 or > 9) return false;
            fractionNs = long.Parse(text.AsSpan(dot + 1, digits), NumberStyles.None, CultureInfo.InvariantCulture) * FixedPoint.PowerOfTen(9 - digits);
            rest = text[..dot] + text[end..];
        }
        if (!DateTimeOffset.TryParse(rest, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)) return false;
        unixNs = (time.UtcDateTime - DateTime.UnixEpoch).Ticks * 100 + fractionNs;
        return true;
    }

    /// <summary>A line error; <paramref name="column"/> is a known-column index, or -1 for the whole line.</summary>
    private ReplayFormatException Error(int column, string reason)
    {
        int field = column >= 0 && _columnOf[column] >= 0 ? _columnOf[column] + 1 : 0;
        return new ReplayFormatException(FileName, _line, field, reason);
    }

    /// <inheritdoc/>
    public void Dispose() => _reader.Dispose();
}
