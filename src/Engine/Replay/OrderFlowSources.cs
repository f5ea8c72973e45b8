using System.Globalization;
using System.Text;

namespace ExchangeHealth.Engine.Replay;

/// <summary>Opens order-flow files: format detection and the source for each format.</summary>
public static class OrderFlowSources
{
    private const int SniffBytes = 8192;

    /// <summary>The lower-case name of a format as used by <c>--format</c>: <c>auto</c>, <c>bitfinex</c>, <c>lobster</c>, <c>csv</c>.</summary>
    public static string Name(this OrderFlowFormat format) => format switch
    {
        OrderFlowFormat.Bitfinex => "bitfinex",
        OrderFlowFormat.Lobster => "lobster",
        OrderFlowFormat.Csv => "csv",
        _ => "auto",
    };

    /// <summary>Parses a format name (see <see cref="Name"/>), case-insensitive.</summary>
    public static bool TryParseFormat(string text, out OrderFlowFormat format)
    {
        foreach (var f in (ReadOnlySpan<OrderFlowFormat>)[OrderFlowFormat.Auto, OrderFlowFormat.Bitfinex, OrderFlowFormat.Lobster, OrderFlowFormat.Csv])
        {
            if (string.Equals(f.Name(), text, StringComparison.OrdinalIgnoreCase))
            {
                format = f;
                return true;
            }
        }
        format = OrderFlowFormat.Auto;
        return false;
    }

    /// <summary>
    /// Tells the format from the first bytes of the file: a JSON array whose first element is a
    /// Bitfinex <c>{"event":"info",...}</c> object is <see cref="OrderFlowFormat.Bitfinex"/>; a first
    /// line of six numbers is a <see cref="OrderFlowFormat.Lobster"/> message file; a first
    /// non-comment line that names a <c>command</c> column is our <see cref="OrderFlowFormat.Csv"/>.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <exception cref="ReplayFormatException">The content matches none of the formats (use an explicit format).</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static OrderFlowFormat Detect(string path)
    {
        byte[] head = new byte[SniffBytes];
        int n;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }
        string text = Encoding.UTF8.GetString(head, 0, n).TrimStart('\uFEFF', ' ', '\t', '\r', '\n');
        if (text.StartsWith('['))
        {
            string rest = text[1..].TrimStart();
            int close = rest.IndexOf('}', StringComparison.Ordinal);
            string first = close > 0 ? rest[..close] : rest;
            if (rest.StartsWith('{') && first.Contains("\"event\"", StringComparison.Ordinal) && first.Contains("\"info\"", StringComparison.Ordinal))
                return OrderFlowFormat.Bitfinex;
        }
        else
        {
            foreach (string raw in text.Split('\n'))
            {
                string line = raw.Trim();
                if (line.Length == 0 || line.StartsWith('#')) continue;
                string[] fields = line.Split(',');
                if (fields.Length == 6 && Array.TrueForAll(fields, IsNumber)) return OrderFlowFormat.Lobster;
                if (Array.Exists(fields, f => string.Equals(f.Trim(), "command", StringComparison.OrdinalIgnoreCase))) return OrderFlowFormat.Csv;
                break;
            }
        }
        throw new ReplayFormatException(path, 0, 0,
            "cannot tell the format: expected a Bitfinex raw book capture (a JSON array starting with {\"event\":\"info\",...}), " +
            "a LOBSTER message file (lines of 6 numbers) or an order-flow CSV whose header names a 'command' column; " +
            "name the format with --format bitfinex|lobster|csv");
    }

    private static bool IsNumber(string field) =>
        decimal.TryParse(field.Trim(), NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _);

    /// <summary>Opens <paramref name="path"/> as <paramref name="format"/> (detected when <see cref="OrderFlowFormat.Auto"/>).</summary>
    /// <param name="path">The order-flow file.</param>
    /// <param name="format">The format, or <see cref="OrderFlowFormat.Auto"/>.</param>
    /// <param name="markets">
    /// Markets from a markets file, or null. The CSV format looks symbols up here (default:
    /// <see cref="MarketsFile.Default"/>); the feed formats imply their market and use the one of
    /// the same symbol from here instead when given.
    /// </param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ReplayFormatException">The format cannot be detected, or the file's start is malformed.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static IOrderFlowSource Open(string path, OrderFlowFormat format = OrderFlowFormat.Auto, IReadOnlyList<MarketDefinition>? markets = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        if (format == OrderFlowFormat.Auto) format = Detect(path);
        return format switch
        {
            OrderFlowFormat.Bitfinex => new BitfinexRawBookSource(path, markets),
            OrderFlowFormat.Lobster => new LobsterSource(path, markets),
            _ => new OrderFlowCsvSource(path, markets ?? MarketsFile.Default()),
        };
    }
}
