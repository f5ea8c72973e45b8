using System.Globalization;
using System.Reflection;
using ExchangeHealth.Engine.Primitives;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ExchangeHealth.Engine;

/// <summary>
/// Loads market definitions from YAML. Shape:
/// <code>
/// markets:
///   - id: 1
///     symbol: BTC/USD
///     price_scale: 8                   # integer prices are price * 10^8 (default 8)
///     quantity_scale: 8                # integer quantities are quantity * 10^8 (default 8)
///     tick_size: "0.01"                # decimal, in quote currency
///     lot_size: "0.0001"               # decimal, in base asset
///     min_quantity: "0.0001"           # default: one lot
///     max_quantity: "100"               # default and upper bound: 2^47 quantity units
///     max_price: "10000000"
///     price_collar_percent: 10         # 0 or absent: no collar
///     market_order_protection_percent: 5
///     reference_price: "60000"         # collar reference until the first trade
///     state: online                    # online | post_only | limit_only | cancel_only | halted
/// </code>
/// Decimal values are exact (never floating point): a value with more decimals than the scale,
/// or off the tick/lot grid, is an error naming the file, line and field.
/// </summary>
public static class MarketsFile
{
    private static readonly HashSet<string> KnownKeys =
    [
        "id", "symbol", "price_scale", "quantity_scale", "tick_size", "lot_size", "min_quantity", "max_quantity",
        "max_price", "price_collar_percent", "market_order_protection_percent", "reference_price", "state",
    ];

    /// <summary>Name of the embedded default markets file (BTC/USD, ETH/USD, ETH/BTC).</summary>
    public const string DefaultName = "markets.yaml (embedded default)";

    /// <summary>Loads and validates a markets file.</summary>
    /// <exception cref="ConfigException">The file is missing, not YAML, or a market is invalid; the message names file and line.</exception>
    public static IReadOnlyList<MarketDefinition> Load(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (IOException e) { throw new ConfigException(path, 0, $"cannot read the markets file: {e.Message}"); }
        catch (UnauthorizedAccessException e) { throw new ConfigException(path, 0, $"cannot read the markets file: {e.Message}"); }
        return Parse(text, path);
    }

    /// <summary>The embedded default markets (the same text as <c>config/markets.yaml</c>).</summary>
    public static IReadOnlyList<MarketDefinition> Default() => Parse(DefaultText(), DefaultName);

    /// <summary>The embedded default markets file text.</summary>
    public static string DefaultText()
    {
        using var stream = typeof(MarketsFile).Assembly.GetManifestResourceStream("ExchangeHealth.Engine.markets.yaml")
            ?? throw new InvalidOperationException("embedded markets.yaml missing");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Parses and validates markets from YAML text.</summary>
    /// <param name="yaml">The YAML document.</param>
    /// <param name="source">File name used in error messages.</param>
    /// <exception cref="ConfigException">Malformed YAML or an invalid market; the message names file and line.</exception>
    public static IReadOnlyList<MarketDefinition> Parse(string yaml, string source)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(yaml)); }
        catch (YamlException e) { throw new ConfigException(source, (int)e.Start.Line, $"not valid YAML: {e.Message}"); }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new ConfigException(source, 1, "expected a mapping with a 'markets' list");
        if (!root.Children.TryGetValue(new YamlScalarNode("markets"), out var marketsNode) || marketsNode is not YamlSequenceNode list)
            throw new ConfigException(source, (int)root.Start.Line, "expected a 'markets' list");

        var markets = new List<MarketDefinition>();
        var ids = new Dictionary<ushort, int>();
        var symbols = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in list.Children)
        {
            if (item is not YamlMappingNode map) throw new ConfigException(source, (int)item.Start.Line, "each market must be a mapping");
            var market = ParseMarket(map, source);
            int line = (int)map.Start.Line;
            if (ids.TryGetValue(market.Id, out int other)) throw new ConfigException(source, line, $"id: {market.Id} is already used by the market at line {other}");
            if (symbols.TryGetValue(market.Symbol, out other)) throw new ConfigException(source, line, $"symbol: '{market.Symbol}' is already used by the market at line {other}");
            ids[market.Id] = line;
            symbols[market.Symbol] = line;
            markets.Add(market);
        }
        if (markets.Count == 0) throw new ConfigException(source, (int)list.Start.Line, "the 'markets' list is empty");
        return markets;
    }

    /// <summary>
    /// Writes <paramref name="markets"/> in the markets-file format, so that
    /// <see cref="Parse"/> of the result gives equal definitions (data directories keep a copy of
    /// the markets their journal was written with).
    /// </summary>
    public static string ToYaml(IEnumerable<MarketDefinition> markets)
    {
        ArgumentNullException.ThrowIfNull(markets);
        var inv = CultureInfo.InvariantCulture;
        var sb = new System.Text.StringBuilder("markets:\n");
        foreach (var m in markets)
        {
            string Q(string text) => "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
            sb.Append(inv, $"  - id: {m.Id}\n");
            sb.Append(inv, $"    symbol: {Q(m.Symbol)}\n");
            sb.Append(inv, $"    price_scale: {m.PriceScale}\n");
            sb.Append(inv, $"    quantity_scale: {m.QuantityScale}\n");
            sb.Append(inv, $"    tick_size: {Q(m.FormatPrice(m.TickSize))}\n");
            sb.Append(inv, $"    lot_size: {Q(m.FormatQuantity(m.LotSize))}\n");
            sb.Append(inv, $"    min_quantity: {Q(m.FormatQuantity(Math.Max(m.MinQuantity, m.LotSize)))}\n");
            sb.Append(inv, $"    max_quantity: {Q(m.FormatQuantity(m.MaxQuantity))}\n");
            sb.Append(inv, $"    max_price: {Q(m.FormatPrice(m.MaxPrice))}\n");
            sb.Append(inv, $"    price_collar_percent: {FixedPoint.Format(m.PriceCollarBasisPoints, 2)}\n");
            sb.Append(inv, $"    market_order_protection_percent: {FixedPoint.Format(m.MarketOrderProtectionBasisPoints, 2)}\n");
            sb.Append(inv, $"    reference_price: {Q(m.FormatPrice(m.ReferencePrice))}\n");
            sb.Append(inv, $"    state: {m.InitialState.Name()}\n");
        }
        return sb.ToString();
    }

    private static MarketDefinition ParseMarket(YamlMappingNode map, string source)
    {
        var fields = new Dictionary<string, YamlScalarNode>(StringComparer.Ordinal);
        foreach (var (k, v) in map.Children)
        {
            string key = ((YamlScalarNode)k).Value ?? "";
            if (!KnownKeys.Contains(key)) throw new ConfigException(source, (int)k.Start.Line, $"unknown field '{key}' (known: {string.Join(", ", KnownKeys)})");
            if (v is not YamlScalarNode scalar) throw new ConfigException(source, (int)v.Start.Line, $"{key}: expected a single value");
            fields[key] = scalar;
        }

        YamlScalarNode Required(string key) =>
            fields.TryGetValue(key, out var n) ? n : throw new ConfigException(source, (int)map.Start.Line, $"missing required field '{key}'");

        int Int(string key, int fallback, int min, int max)
        {
            if (!fields.TryGetValue(key, out var n)) return fallback;
            if (!int.TryParse(n.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min || v > max)
                throw new ConfigException(source, (int)n.Start.Line, $"{key}: '{n.Value}' is not an integer in {min}..{max}");
            return v;
        }

        long Decimal(YamlScalarNode n, string key, int scale)
        {
            if (FixedPoint.TryParse((n.Value ?? "").Trim(), scale, out long units, out var error)) return units;
            throw new ConfigException(source, (int)n.Start.Line, $"{key}: '{n.Value}' is invalid ({FixedPoint.Describe(error)}, scale {scale})");
        }

        long OptionalDecimal(string key, int scale, long fallback) =>
            fields.TryGetValue(key, out var n) ? Decimal(n, key, scale) : fallback;

        int Percent(string key, int fallback)
        {
            if (!fields.TryGetValue(key, out var n)) return fallback;
            // Percent with up to two decimals = whole basis points.
            if (!FixedPoint.TryParse((n.Value ?? "").Trim(), 2, out long bps, out var error) || bps < 0 || bps >= 10_000)
                throw new ConfigException(source, (int)n.Start.Line, $"{key}: '{n.Value}' must be a percentage in [0, 100) with at most 2 decimals ({FixedPoint.Describe(error)})");
            return (int)bps;
        }

        var idNode = Required("id");
        if (!ushort.TryParse(idNode.Value, NumberStyles.None, CultureInfo.InvariantCulture, out ushort id) || id < 1 || id > MarketDefinition.MaxMarketId)
            throw new ConfigException(source, (int)idNode.Start.Line, $"id: '{idNode.Value}' must be an integer in 1..{MarketDefinition.MaxMarketId}");
        string symbol = Required("symbol").Value ?? "";
        int priceScale = Int("price_scale", 8, 0, FixedPoint.MaxScale);
        int quantityScale = Int("quantity_scale", 8, 0, FixedPoint.MaxScale);
        long tick = Decimal(Required("tick_size"), "tick_size", priceScale);
        long lot = Decimal(Required("lot_size"), "lot_size", quantityScale);
        var state = MarketState.Online;
        if (fields.TryGetValue("state", out var stateNode) && !Reasons.TryParseMarketState(stateNode.Value ?? "", out state))
            throw new ConfigException(source, (int)stateNode.Start.Line, $"state: '{stateNode.Value}' is not one of online, post_only, limit_only, cancel_only, halted");

        var market = new MarketDefinition
        {
            Id = id,
            Symbol = symbol,
            PriceScale = priceScale,
            QuantityScale = quantityScale,
            TickSize = tick,
            LotSize = lot,
            MinQuantity = OptionalDecimal("min_quantity", quantityScale, lot),
            MaxQuantity = OptionalDecimal("max_quantity", quantityScale, MarketDefinition.QuantityLimit),
            MaxPrice = OptionalDecimal("max_price", priceScale, long.MaxValue / 2 / Math.Max(1, tick) * Math.Max(1, tick)),
            PriceCollarBasisPoints = Percent("price_collar_percent", 0),
            MarketOrderProtectionBasisPoints = Percent("market_order_protection_percent", 500),
            ReferencePrice = OptionalDecimal("reference_price", priceScale, 0),
            InitialState = state,
        };
        string? problem = market.Validate();
        if (problem is not null)
        {
            string field = problem.Split(':')[0];
            int line = fields.TryGetValue(field switch { "state" => "state", _ => field }, out var n) ? (int)n.Start.Line : (int)map.Start.Line;
            throw new ConfigException(source, line, $"market '{symbol}': {problem}");
        }
        return market;
    }
}

/// <summary>A configuration file is invalid. <see cref="Exception.Message"/> reads <c>file:line: reason</c>.</summary>
public sealed class ConfigException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ConfigException(string file, int line, string reason)
        : base(line > 0 ? $"{file}:{line}: {reason}" : $"{file}: {reason}")
    {
        File = file;
        Line = line;
        Reason = reason;
    }

    /// <summary>The file (or source name).</summary>
    public string File { get; }

    /// <summary>1-based line, or 0 when the whole file is at fault.</summary>
    public int Line { get; }

    /// <summary>What is wrong.</summary>
    public string Reason { get; }
}
