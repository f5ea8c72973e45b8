using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Alerting.Routing;

/// <summary>The four comparison operators of Alertmanager's label matchers.</summary>
public enum MatcherType
{
    /// <summary><c>=</c>: the label's value equals the matcher's value (an absent label has the value "").</summary>
    Equal,

    /// <summary><c>!=</c>: the value differs.</summary>
    NotEqual,

    /// <summary><c>=~</c>: the whole value matches the regular expression.</summary>
    Regex,

    /// <summary><c>!~</c>: the whole value does not match the regular expression.</summary>
    NotRegex,
}

/// <summary>
/// One label matcher as in Alertmanager's <c>pkg/labels.Matcher</c>: a label name, an operator and
/// a value. Regular expressions are fully anchored (<c>^(?:re)$</c>, where <c>$</c> means the end
/// of the value as in Go's RE2), compiled once, and run by .NET's non-backtracking engine, which
/// like RE2 guarantees linear time and refuses look-arounds, back-references and atomic groups.
/// An absent label has the value "", so <c>team=""</c> matches alerts without a <c>team</c> label.
/// Immutable and thread-safe; equality is by name, type and value.
/// </summary>
public sealed class LabelMatcher : IEquatable<LabelMatcher>
{
    /// <summary>Longest a single regular-expression match may run before it counts as "no match".</summary>
    public static readonly TimeSpan RegexMatchTimeout = TimeSpan.FromMilliseconds(100);

    private static readonly Regex ClassicMatcher = new(
        @"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*(.*?)\s*\z",
        RegexOptions.Singleline | RegexOptions.CultureInvariant);

    private readonly Regex? _regex;

    /// <summary>Creates a matcher; for the regex types the value is compiled here.</summary>
    /// <param name="name">Label name (the string syntax allows <c>[a-zA-Z_:][a-zA-Z0-9_:]*</c>).</param>
    /// <param name="type">Operator.</param>
    /// <param name="value">Value, or the regular expression (RE2 syntax subset) for <see cref="MatcherType.Regex"/> and <see cref="MatcherType.NotRegex"/>.</param>
    /// <exception cref="FormatException">The regular expression does not compile or uses syntax RE2 does not have; the message starts with "bad regex".</exception>
    public LabelMatcher(string name, MatcherType type, string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(value);
        Name = name;
        Type = type;
        Value = value;
        if (type is MatcherType.Regex or MatcherType.NotRegex) _regex = CompileAnchored(value);
    }

    /// <summary>The label name.</summary>
    public string Name { get; }

    /// <summary>The operator.</summary>
    public MatcherType Type { get; }

    /// <summary>The value or regular expression as written (unanchored).</summary>
    public string Value { get; }

    /// <summary>True for <c>=~</c> and <c>!~</c>.</summary>
    public bool IsRegex => Type is MatcherType.Regex or MatcherType.NotRegex;

    /// <summary>True for <c>=</c> and <c>=~</c> (Alertmanager API v2's <c>isEqual</c>).</summary>
    public bool IsEqual => Type is MatcherType.Equal or MatcherType.Regex;

    /// <summary>The operator as written: <c>=</c>, <c>!=</c>, <c>=~</c> or <c>!~</c>.</summary>
    public string Operator => OperatorText(Type);

    /// <summary>Whether <paramref name="value"/> (a label value, "" when the label is absent) satisfies the matcher. A regex match that exceeds <see cref="RegexMatchTimeout"/> counts as not matching (so <c>!~</c> then matches).</summary>
    public bool Matches(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return Type switch
        {
            MatcherType.Equal => string.Equals(value, Value, StringComparison.Ordinal),
            MatcherType.NotEqual => !string.Equals(value, Value, StringComparison.Ordinal),
            MatcherType.Regex => SafeIsMatch(value),
            _ => !SafeIsMatch(value),
        };
    }

    /// <summary>Whether the value of <see cref="Name"/> in <paramref name="labels"/> satisfies the matcher.</summary>
    public bool Matches(LabelSet labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        return Matches(labels[Name]);
    }

    private bool SafeIsMatch(string value)
    {
        try { return _regex!.IsMatch(value); }
        catch (RegexMatchTimeoutException) { return false; }
    }

    /// <summary>Alertmanager's notation: <c>name="value"</c>, <c>name=~"re"</c>, the value quoted and escaped (<c>\\</c>, <c>\"</c>, <c>\n</c>).</summary>
    public override string ToString() => Name + Operator + Quote(Value);

    /// <inheritdoc/>
    public bool Equals(LabelMatcher? other) =>
        other is not null && Type == other.Type
        && string.Equals(Name, other.Name, StringComparison.Ordinal)
        && string.Equals(Value, other.Value, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as LabelMatcher);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(StringComparer.Ordinal.GetHashCode(Name), Type, StringComparer.Ordinal.GetHashCode(Value));

    /// <summary>
    /// Parses one matcher in Alertmanager's string syntax: <c>name op value</c> with op one of
    /// <c>= != =~ !~</c>; the value may be double-quoted (escapes <c>\"</c>, <c>\\</c>, <c>\n</c>)
    /// or bare (surrounding spaces trimmed), e.g. <c>alertname="EngineDown"</c>,
    /// <c>severity=~page|ticket</c>.
    /// </summary>
    /// <exception cref="FormatException">Not a matcher, an unescaped quote, or a bad regex; the message says which.</exception>
    public static LabelMatcher Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var m = ClassicMatcher.Match(text);
        if (!m.Success) throw new FormatException($"bad matcher format: {text}");
        string raw = m.Groups[3].Value;
        bool expectTrailingQuote = false;
        if (raw.StartsWith('"'))
        {
            raw = raw[1..];
            expectTrailingQuote = true;
        }
        var value = new StringBuilder(raw.Length);
        bool escaped = false;
        for (int i = 0; i < raw.Length; i++)
        {
            char c = raw[i];
            if (escaped)
            {
                escaped = false;
                switch (c)
                {
                    case 'n': value.Append('\n'); break;
                    case '"' or '\\': value.Append(c); break;
                    default: value.Append('\\').Append(c); break; // a spurious escape stays literal, as in Alertmanager
                }
                continue;
            }
            switch (c)
            {
                case '\\' when i < raw.Length - 1: escaped = true; break;
                case '"':
                    if (!expectTrailingQuote || i < raw.Length - 1)
                        throw new FormatException($"matcher value contains unescaped double quote: {m.Groups[3].Value}");
                    expectTrailingQuote = false;
                    break;
                default: value.Append(c); break;
            }
        }
        if (expectTrailingQuote) throw new FormatException($"matcher value contains unescaped double quote: {m.Groups[3].Value}");
        var type = m.Groups[2].Value switch
        {
            "=" => MatcherType.Equal,
            "!=" => MatcherType.NotEqual,
            "=~" => MatcherType.Regex,
            _ => MatcherType.NotRegex,
        };
        return new LabelMatcher(m.Groups[1].Value, type, value.ToString());
    }

    /// <summary>
    /// Parses a comma-separated list of matchers, optionally in braces, as Alertmanager's
    /// <c>labels.ParseMatchers</c>: <c>{alertname="X", severity=~"page|ticket"}</c> or
    /// <c>a=b,c!=d</c>. Commas inside quotes do not split. An empty list (<c>""</c> or <c>{}</c>)
    /// gives no matchers.
    /// </summary>
    /// <exception cref="FormatException">One of the matchers is invalid (see <see cref="Parse"/>).</exception>
    public static IReadOnlyList<LabelMatcher> ParseList(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string s = text;
        if (s.StartsWith('{')) s = s[1..];
        if (s.EndsWith('}')) s = s[..^1];
        var tokens = new List<string>();
        var token = new StringBuilder();
        bool insideQuotes = false, escaped = false;
        foreach (char c in s)
        {
            switch (c)
            {
                case ',' when !insideQuotes:
                    tokens.Add(token.ToString());
                    token.Clear();
                    continue;
                case '"':
                    if (!escaped) insideQuotes = !insideQuotes;
                    else escaped = false;
                    break;
                case '\\': escaped = !escaped; break;
                default: escaped = false; break;
            }
            token.Append(c);
        }
        string last = token.ToString().Trim();
        if (last.Length > 0) tokens.Add(last);
        var result = new List<LabelMatcher>(tokens.Count);
        foreach (string t in tokens) result.Add(Parse(t));
        return result;
    }

    /// <summary>Formats matchers as Alertmanager's <c>Matchers.String()</c>: <c>{a="b",c=~"d"}</c>.</summary>
    public static string FormatList(IEnumerable<LabelMatcher> matchers)
    {
        ArgumentNullException.ThrowIfNull(matchers);
        return "{" + string.Join(",", matchers.Select(m => m.ToString())) + "}";
    }

    /// <summary>True when every matcher matches <paramref name="labels"/> (true for an empty list).</summary>
    public static bool MatchesAll(IReadOnlyList<LabelMatcher> matchers, LabelSet labels)
    {
        ArgumentNullException.ThrowIfNull(matchers);
        for (int i = 0; i < matchers.Count; i++)
        {
            if (!matchers[i].Matches(labels)) return false;
        }
        return true;
    }

    /// <summary>
    /// Sorts matchers in Alertmanager's order (<c>labels.Matchers.Less</c>: by name, then value,
    /// then operator), which fixes a route's key.
    /// </summary>
    public static IReadOnlyList<LabelMatcher> Sort(IEnumerable<LabelMatcher> matchers)
    {
        ArgumentNullException.ThrowIfNull(matchers);
        var list = matchers.ToList();
        list.Sort((a, b) =>
        {
            int c = string.CompareOrdinal(a.Name, b.Name);
            if (c != 0) return c;
            c = string.CompareOrdinal(a.Value, b.Value);
            return c != 0 ? c : a.Type.CompareTo(b.Type);
        });
        return list;
    }

    /// <summary>True for a valid Prometheus label name: <c>[a-zA-Z_][a-zA-Z0-9_]*</c>.</summary>
    public static bool IsValidLabelName(string? name)
    {
        if (string.IsNullOrEmpty(name)) return false;
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            bool ok = char.IsAsciiLetter(c) || c == '_' || (i > 0 && char.IsAsciiDigit(c));
            if (!ok) return false;
        }
        return true;
    }

    internal static string OperatorText(MatcherType type) => type switch
    {
        MatcherType.Equal => "=",
        MatcherType.NotEqual => "!=",
        MatcherType.Regex => "=~",
        _ => "!~",
    };

    internal static string Quote(string value)
    {
        var sb = new StringBuilder(value.Length + 2).Append('"');
        foreach (char c in value)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '"': sb.Append("\\\""); break;
                case '\n': sb.Append("\\n"); break;
                default: sb.Append(c); break;
            }
        }
        return sb.Append('"').ToString();
    }

    /// <summary>
    /// Compiles <c>^(?:re)\z</c>. Go's <c>(?P&lt;name&gt;</c> groups are accepted; constructs RE2
    /// lacks are refused because the non-backtracking engine does not support them either.
    /// </summary>
    private static Regex CompileAnchored(string re)
    {
        string translated = re.Replace("(?P<", "(?<", StringComparison.Ordinal);
        try
        {
            return new Regex("^(?:" + translated + @")\z",
                RegexOptions.NonBacktracking | RegexOptions.CultureInvariant, RegexMatchTimeout);
        }
        catch (ArgumentException e)
        {
            throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"bad regex \"{re}\": {e.Message}"), e);
        }
        catch (NotSupportedException e)
        {
            throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"bad regex \"{re}\": unsupported syntax (Alertmanager uses RE2: no look-arounds, back-references or atomic groups): {e.Message}"), e);
        }
    }
}
