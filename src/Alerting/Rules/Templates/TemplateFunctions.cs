using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Alerting.Rules;

/// <summary>
/// The template functions: Prometheus's <c>humanize*</c> (<c>template/template.go</c> of
/// Prometheus 2.42), <c>toUpper</c>, <c>toLower</c>, <c>title</c>, and Go's builtins
/// <c>printf print index len not and or eq ne lt le gt ge</c> with Go 1.19 semantics.
/// </summary>
internal static partial class TemplateFunctions
{
    // name -> (minimum, maximum or -1 for variadic) argument count.
    private static readonly Dictionary<string, (int Min, int Max)> Arity = new(StringComparer.Ordinal)
    {
        ["humanize"] = (1, 1),
        ["humanize1024"] = (1, 1),
        ["humanizeDuration"] = (1, 1),
        ["humanizePercentage"] = (1, 1),
        ["humanizeTimestamp"] = (1, 1),
        ["printf"] = (1, -1),
        ["print"] = (0, -1),
        ["toUpper"] = (1, 1),
        ["toLower"] = (1, 1),
        ["title"] = (1, 1),
        ["index"] = (1, -1),
        ["len"] = (1, 1),
        ["not"] = (1, 1),
        ["and"] = (1, -1),
        ["or"] = (1, -1),
        ["eq"] = (2, -1),
        ["ne"] = (2, 2),
        ["lt"] = (2, 2),
        ["le"] = (2, 2),
        ["gt"] = (2, 2),
        ["ge"] = (2, 2),
    };

    /// <summary>The supported function names, comma-separated, for error messages.</summary>
    public static string SupportedList { get; } = string.Join(", ", Arity.Keys.Order(StringComparer.Ordinal));

    /// <summary>The functions whose parameters are Go strings (other parameters take any value).</summary>
    public static bool TakesStrings(string name) => name is "toUpper" or "toLower" or "title";

    public static bool IsKnown(string name) => Arity.ContainsKey(name);

    public static void CheckArity(string name, int count, int pos)
    {
        var (min, max) = Arity[name];
        if (count < min || (max >= 0 && count > max))
        {
            string want = max < 0 ? $"at least {min}" : min.ToString(CultureInfo.InvariantCulture);
            throw new TemplateSyntaxException(pos, $"wrong number of args for {name}: want {want} got {count}");
        }
    }

    /// <summary>Calls a function (not and/or, which the evaluator short-circuits); errors are <see cref="TemplateCallException"/>.</summary>
    public static object? Call(string name, IReadOnlyList<object?> args) => name switch
    {
        "humanize" => Humanize(ToFloat(args[0])),
        "humanize1024" => Humanize1024(ToFloat(args[0])),
        "humanizeDuration" => HumanizeDuration(ToFloat(args[0])),
        "humanizePercentage" => GoFmt.Sprintf("%.4g%%", [ToFloat(args[0]) * 100]),
        "humanizeTimestamp" => HumanizeTimestamp(ToFloat(args[0])),
        "printf" => GoFmt.Sprintf((string)args[0]!, args.Skip(1).ToList()),
        "print" => GoFmt.SprintMany(args),
        "toUpper" => ((string)args[0]!).ToUpperInvariant(),
        "toLower" => ((string)args[0]!).ToLowerInvariant(),
        "title" => Title((string)args[0]!),
        "index" => Index(args),
        "len" => Length(args[0]),
        "not" => !IsTrue(args[0]).Truth,
        "eq" => Eq(args[0], args.Skip(1)),
        "ne" => !Eq(args[0], [args[1]]),
        "lt" => Lt(args[0], args[1]),
        "le" => Lt(args[0], args[1]) || Eq(args[0], [args[1]]),
        "gt" => !(Lt(args[0], args[1]) || Eq(args[0], [args[1]])),
        "ge" => !Lt(args[0], args[1]),
        _ => throw new InvalidOperationException($"function {name} is not callable here"),
    };

    /// <summary>Go's <c>isTrue</c>: false, 0, empty string or map, nil are false; Ok is false for values that have no truth.</summary>
    public static (bool Truth, bool Ok) IsTrue(object? v) => v switch
    {
        null => (false, true),
        bool b => (b, true),
        long n => (n != 0, true),
        double d => (d != 0, true),
        string s => (s.Length > 0, true),
        LabelSet m => (m.Count > 0, true),
        _ => (true, true),
    };

    /// <summary>Prometheus's <c>convertToFloat</c>: float64, int, or a string parsed by Go's <c>strconv.ParseFloat</c>.</summary>
    internal static double ToFloat(object? v) => v switch
    {
        double d => d,
        long n => n,
        string s => ParseGoFloat(s),
        _ => throw new TemplateCallException($"can't convert {GoFmt.TypeName(v)} to float"),
    };

    [GeneratedRegex(@"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex DecimalFloat();

    [GeneratedRegex(@"^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?[0-9]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex HexFloat();

    /// <summary>
    /// Go's <c>strconv.ParseFloat(s, 64)</c>: decimal and hexadecimal (<c>0x1p-2</c>) numbers, <c>_</c>
    /// between digits, <c>inf</c>/<c>infinity</c> (signed) and <c>nan</c>, case-insensitive; no spaces.
    /// </summary>
    internal static double ParseGoFloat(string s)
    {
        string body = s.Length > 0 && s[0] is '+' or '-' ? s[1..] : s;
        bool neg = s.StartsWith('-');
        if (body.Equals("inf", StringComparison.OrdinalIgnoreCase) || body.Equals("infinity", StringComparison.OrdinalIgnoreCase))
            return neg ? double.NegativeInfinity : double.PositiveInfinity;
        if (s.Equals("nan", StringComparison.OrdinalIgnoreCase)) return double.NaN;
        string clean = s;
        if (s.Contains('_', StringComparison.Ordinal))
        {
            if (!UnderscoreOk(s)) throw InvalidSyntax(s);
            clean = s.Replace("_", "", StringComparison.Ordinal);
        }
        double v;
        if (HexFloat().Match(clean) is { Success: true } hex)
        {
            string intDigits = hex.Groups[2].Value, fracDigits = hex.Groups[3].Value;
            if (intDigits.Length + fracDigits.Length == 0) throw InvalidSyntax(s);
            var mantissa = System.Numerics.BigInteger.Parse("0" + intDigits + fracDigits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            if (!int.TryParse(hex.Groups[4].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int exp2)) exp2 = hex.Groups[4].Value.StartsWith('-') ? -100000 : 100000;
            v = Math.ScaleB((double)mantissa, exp2 - 4 * fracDigits.Length);
            if (hex.Groups[1].Value == "-") v = -v;
        }
        else if (DecimalFloat().IsMatch(clean))
        {
            v = double.Parse(clean, NumberStyles.Float, CultureInfo.InvariantCulture);
        }
        else
        {
            throw InvalidSyntax(s);
        }
        if (double.IsInfinity(v)) throw new TemplateCallException($"strconv.ParseFloat: parsing {GoFmt.Quote(s, false)}: value out of range");
        return v;
    }

    private static TemplateCallException InvalidSyntax(string s) => new($"strconv.ParseFloat: parsing {GoFmt.Quote(s, false)}: invalid syntax");

    /// <summary>Go's <c>underscoreOK</c>: each <c>_</c> sits between digits (a base prefix counts as a digit).</summary>
    internal static bool UnderscoreOk(string s)
    {
        char saw = '^';
        int i = 0;
        if (s.Length >= 1 && s[0] is '-' or '+') s = s[1..];
        bool hex = false;
        if (s.Length >= 2 && s[0] == '0' && char.ToLowerInvariant(s[1]) is 'b' or 'o' or 'x')
        {
            i = 2;
            saw = '0';
            hex = char.ToLowerInvariant(s[1]) == 'x';
        }
        for (; i < s.Length; i++)
        {
            char c = s[i];
            if (char.IsAsciiDigit(c) || (hex && char.IsAsciiHexDigit(c)))
            {
                saw = '0';
                continue;
            }
            if (c == '_')
            {
                if (saw != '0') return false;
                saw = '_';
                continue;
            }
            if (saw == '_') return false;
            saw = '!';
        }
        return saw != '_';
    }

    private static string Humanize(double v)
    {
        if (v == 0 || double.IsNaN(v) || double.IsInfinity(v)) return GoFmt.Sprintf("%.4g", [v]);
        string prefix = "";
        if (Math.Abs(v) >= 1)
        {
            foreach (string p in (string[])["k", "M", "G", "T", "P", "E", "Z", "Y"])
            {
                if (Math.Abs(v) < 1000) break;
                prefix = p;
                v /= 1000;
            }
            return GoFmt.Sprintf("%.4g", [v]) + prefix;
        }
        foreach (string p in (string[])["m", "u", "n", "p", "f", "a", "z", "y"])
        {
            if (Math.Abs(v) >= 1) break;
            prefix = p;
            v *= 1000;
        }
        return GoFmt.Sprintf("%.4g", [v]) + prefix;
    }

    private static string Humanize1024(double v)
    {
        if (Math.Abs(v) <= 1 || double.IsNaN(v) || double.IsInfinity(v)) return GoFmt.Sprintf("%.4g", [v]);
        string prefix = "";
        foreach (string p in (string[])["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"])
        {
            if (Math.Abs(v) < 1024) break;
            prefix = p;
            v /= 1024;
        }
        return GoFmt.Sprintf("%.4g", [v]) + prefix;
    }

    private static string HumanizeDuration(double v)
    {
        if (double.IsNaN(v) || double.IsInfinity(v)) return GoFmt.Sprintf("%.4g", [v]);
        if (v == 0) return GoFmt.Sprintf("%.4g", [v]) + "s";
        if (Math.Abs(v) >= 1)
        {
            string sign = "";
            if (v < 0)
            {
                sign = "-";
                v = -v;
            }
            long whole = GoInt64(v);
            long seconds = whole % 60;
            long minutes = whole / 60 % 60;
            long hours = whole / 60 / 60 % 24;
            long days = whole / 60 / 60 / 24;
            var inv = CultureInfo.InvariantCulture;
            if (days != 0) return string.Create(inv, $"{sign}{days}d {hours}h {minutes}m {seconds}s");
            if (hours != 0) return string.Create(inv, $"{sign}{hours}h {minutes}m {seconds}s");
            if (minutes != 0) return string.Create(inv, $"{sign}{minutes}m {seconds}s");
            return sign + GoFmt.Sprintf("%.4g", [v]) + "s";
        }
        string prefix = "";
        foreach (string p in (string[])["m", "u", "n", "p", "f", "a", "z", "y"])
        {
            if (Math.Abs(v) >= 1) break;
            prefix = p;
            v *= 1000;
        }
        return GoFmt.Sprintf("%.4g", [v]) + prefix + "s";
    }

    /// <summary>Go's float64 to int64 conversion on amd64: truncation, and the minimum int64 when out of range.</summary>
    private static long GoInt64(double v) => v >= 9.2233720368547758E18 || v < -9.2233720368547758E18 || double.IsNaN(v) ? long.MinValue : (long)v;

    private static string HumanizeTimestamp(double v)
    {
        if (double.IsNaN(v) || double.IsInfinity(v)) return GoFmt.Sprintf("%.4g", [v]);
        double ns = v * 1e9;
        if (ns > 9.2233720368547758E18 || ns < -9.2233720368547758E18)
            throw new TemplateCallException($"{GoFloat.FormatV(v)} cannot be represented as a nanoseconds timestamp since it overflows int64");
        // model.TimeFromUnixNano: whole milliseconds (truncated), then time.Time in UTC.
        long ms = GoInt64(ns) / 1_000_000;
        var t = DateTimeOffset.UnixEpoch.AddMilliseconds(ms);
        return GoTimeString(t);
    }

    /// <summary>Go's <c>time.Time.String()</c> of a UTC time: <c>2006-01-02 15:04:05.999999999 +0000 UTC</c>.</summary>
    internal static string GoTimeString(DateTimeOffset t)
    {
        var sb = new StringBuilder(t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
        long fractionTicks = t.UtcTicks % TimeSpan.TicksPerSecond;
        if (fractionTicks != 0) sb.Append('.').Append((fractionTicks * 100).ToString("D9", CultureInfo.InvariantCulture).TrimEnd('0'));
        return sb.Append(" +0000 UTC").ToString();
    }

    /// <summary>Go's (deprecated) <c>strings.Title</c>: upper-cases letters that follow a separator.</summary>
    private static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        Rune prev = new(' ');
        foreach (var r in s.EnumerateRunes())
        {
            sb.Append(IsSeparator(prev) ? Rune.ToUpperInvariant(r).ToString() : r.ToString());
            prev = r;
        }
        return sb.ToString();

        static bool IsSeparator(Rune r)
        {
            if (r.Value <= 0x7F) return !(char.IsAsciiLetterOrDigit((char)r.Value) || r.Value == '_');
            if (Rune.IsLetter(r) || Rune.IsDigit(r)) return false;
            return Rune.IsWhiteSpace(r);
        }
    }

    private static object? Index(IReadOnlyList<object?> args)
    {
        object? item = args[0];
        foreach (var key in args.Skip(1))
        {
            switch (item)
            {
                case LabelSet map:
                    if (key is not string name) throw new TemplateCallException($"value has type {GoFmt.TypeName(key)}; should be string");
                    item = map[name];
                    break;
                case string s:
                    if (key is not long i) throw new TemplateCallException($"cannot index slice/array with type {GoFmt.TypeName(key)}");
                    byte[] bytes = Encoding.UTF8.GetBytes(s);
                    if (i < 0 || i >= bytes.Length) throw new TemplateCallException(string.Create(CultureInfo.InvariantCulture, $"index out of range: {i}"));
                    item = (long)bytes[i];
                    break;
                case null:
                    throw new TemplateCallException("index of untyped nil");
                default:
                    throw new TemplateCallException($"can't index item of type {GoFmt.TypeName(item)}");
            }
        }
        return item;
    }

    private static long Length(object? v) => v switch
    {
        string s => Encoding.UTF8.GetByteCount(s),
        LabelSet m => m.Count,
        null => throw new TemplateCallException("len of nil pointer"),
        _ => throw new TemplateCallException($"len of type {GoFmt.TypeName(v)}"),
    };

    private enum Kind { Invalid, Bool, Int, Float, String }

    private static Kind BasicKind(object? v) => v switch
    {
        bool => Kind.Bool,
        long => Kind.Int,
        double => Kind.Float,
        string => Kind.String,
        _ => Kind.Invalid,
    };

    /// <summary>Go 1.19's <c>eq</c>: arg1 equals any of the others; different kinds (int and float, map and string) are incompatible, maps are not comparable.</summary>
    private static bool Eq(object? arg1, IEnumerable<object?> others)
    {
        var k1 = BasicKind(arg1);
        foreach (var arg in others)
        {
            var k2 = BasicKind(arg);
            bool truth;
            if (k1 != k2)
            {
                if (arg1 is not null && arg is not null) throw new TemplateCallException("incompatible types for comparison");
                truth = false;
            }
            else
            {
                truth = k1 switch
                {
                    Kind.Bool => (bool)arg1! == (bool)arg!,
                    Kind.Int => (long)arg1! == (long)arg!,
                    Kind.Float => (double)arg1! == (double)arg!,
                    Kind.String => string.Equals((string)arg1!, (string)arg!, StringComparison.Ordinal),
                    _ when arg1 is null && arg is null => true,
                    _ => throw new TemplateCallException($"non-comparable type {GoFmt.Sprintf("%s", [arg])}: {GoFmt.TypeName(arg)}"),
                };
            }
            if (truth) return true;
        }
        return false;
    }

    /// <summary>Go's <c>lt</c>: ints, floats or strings of one kind.</summary>
    private static bool Lt(object? a, object? b)
    {
        var k1 = BasicKind(a);
        var k2 = BasicKind(b);
        if (k1 == Kind.Invalid || k2 == Kind.Invalid) throw new TemplateCallException("invalid type for comparison");
        if (k1 != k2) throw new TemplateCallException("incompatible types for comparison");
        return k1 switch
        {
            Kind.Int => (long)a! < (long)b!,
            Kind.Float => (double)a! < (double)b!,
            Kind.String => string.CompareOrdinal((string)a!, (string)b!) < 0,
            _ => throw new TemplateCallException("invalid type for comparison"),
        };
    }
}

/// <summary>A function failed; the evaluator reports it as Go does: <c>error calling NAME: MESSAGE</c>.</summary>
internal sealed class TemplateCallException(string message) : Exception(message);
