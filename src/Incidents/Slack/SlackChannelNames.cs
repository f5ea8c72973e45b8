using System.Globalization;
using System.Text;

namespace ExchangeHealth.Incidents.Slack;

/// <summary>
/// Slack channel names for incidents. Slack's rules (<c>conversations.create</c>, docs.slack.dev):
/// lowercase letters, digits, hyphens and underscores only, at most 80 characters. We also never
/// start or end with a hyphen or underscore and never repeat a separator, so names read well:
/// <c>inc-42-enginedown-on-btc-usd</c>.
/// </summary>
public static class SlackChannelNames
{
    /// <summary>Slack's maximum channel name length, in characters.</summary>
    public const int MaxLength = 80;

    private const int MaxSuffixLength = 4; // "-999"

    /// <summary>The default prefix.</summary>
    public const string DefaultPrefix = "inc";

    /// <summary>True when <paramref name="name"/> obeys the rules above (what this class produces).</summary>
    public static bool IsValid(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxLength) return false;
        if (IsSeparator(name[0]) || IsSeparator(name[^1])) return false;
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (!IsAllowed(c)) return false;
            if (i > 0 && IsSeparator(c) && IsSeparator(name[i - 1])) return false;
        }
        return true;
    }

    /// <summary>
    /// The slug of <paramref name="text"/>: lowercase ASCII letters and digits kept (accents removed:
    /// <c>é</c> → <c>e</c>), every other run of characters (spaces, punctuation, symbols, other
    /// scripts) becomes one hyphen, underscores kept unless repeated, no separator at either end;
    /// at most <paramref name="maxLength"/> characters (cut, then any separator at the cut removed).
    /// "" when nothing is left.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is negative.</exception>
    public static string Slug(string? text, int maxLength = MaxLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxLength);
        if (string.IsNullOrEmpty(text) || maxLength == 0) return "";
        var sb = new StringBuilder(Math.Min(text.Length, maxLength + 1));
        bool pendingSeparator = false;
        char pending = '-';
        foreach (char raw in text)
        {
            if (CharUnicodeInfo.GetUnicodeCategory(raw) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark)
                continue; // combining accents (a decomposed é)
            string? folded = Fold(raw);
            if (folded is not null)
            {
                if (pendingSeparator && sb.Length > 0) sb.Append(pending);
                pendingSeparator = false;
                sb.Append(folded);
                if (sb.Length >= maxLength) break;
                continue;
            }
            // Any other character is a separator; '_' survives only alone between two letters or digits.
            if (!pendingSeparator) pending = raw == '_' ? '_' : '-';
            else if (raw != '_') pending = '-';
            pendingSeparator = true;
        }
        string slug = sb.Length > maxLength ? sb.ToString(0, maxLength) : sb.ToString();
        return TrimSeparators(slug);
    }

    /// <summary>
    /// The channel name of incident <paramref name="id"/>: <c>{prefix}-{id}-{slug of title}</c>, with
    /// <c>-{attempt}</c> appended from the second attempt on (after Slack answered <c>name_taken</c>):
    /// <c>inc-42-engine-down</c>, <c>inc-42-engine-down-2</c>, ... The slug is shortened so the whole
    /// name fits <see cref="MaxLength"/> with any suffix (up to <c>-999</c>, so every attempt's name
    /// differs); the result is always <see cref="IsValid"/>.
    /// </summary>
    /// <param name="prefix">A valid name prefix (see <see cref="IsValidPrefix"/>), e.g. <c>inc</c>.</param>
    /// <param name="id">The incident number (1 or more).</param>
    /// <param name="title">The incident title (any text).</param>
    /// <param name="attempt">1 for the first try, 2 to 999 after <c>name_taken</c>.</param>
    /// <exception cref="ArgumentException">The prefix is not valid.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> or <paramref name="attempt"/> is below 1.</exception>
    public static string ForIncident(string prefix, long id, string? title, int attempt = 1)
    {
        if (!IsValidPrefix(prefix))
            throw new ArgumentException($"channel prefix \"{prefix}\" is not valid: 1 to 20 characters of a-z, 0-9, '-', '_', starting and ending with a letter or digit", nameof(prefix));
        ArgumentOutOfRangeException.ThrowIfLessThan(id, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(attempt, 999);
        string head = prefix + "-" + id.ToString(CultureInfo.InvariantCulture);
        string suffix = attempt == 1 ? "" : "-" + attempt.ToString(CultureInfo.InvariantCulture);
        // The slug's room is the same for every attempt (the longest suffix, "-999", is reserved), so
        // the names of attempts 1, 2, ... are the same base with different endings, never equal.
        int room = MaxLength - head.Length - MaxSuffixLength - 1; // 1 for the hyphen before the slug
        string slug = room > 0 ? Slug(title, room) : "";
        return slug.Length == 0 ? head + suffix : head + "-" + slug + suffix;
    }

    /// <summary>A usable prefix: 1 to 20 characters, valid as a name by itself (<see cref="IsValid"/>).</summary>
    public static bool IsValidPrefix(string? prefix) => prefix is { Length: >= 1 and <= 20 } && IsValid(prefix);

    private static string TrimSeparators(string s)
    {
        int start = 0, end = s.Length;
        while (start < end && IsSeparator(s[start])) start++;
        while (end > start && IsSeparator(s[end - 1])) end--;
        return s[start..end];
    }

    // Latin-1 Supplement and Latin Extended-A letters folded to ASCII (U+00C0 to U+017F; "" for
    // the two symbols × and ÷, which are separators). Culture-free: the process runs with
    // invariant globalization, where string.Normalize does not decompose.
    private static readonly string[] Latin =
    [
        // U+00C0
        "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
        "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "ss",
        "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
        "d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "y",
        // U+0100
        "a", "a", "a", "a", "a", "a", "c", "c", "c", "c", "c", "c", "c", "c", "d", "d",
        "d", "d", "e", "e", "e", "e", "e", "e", "e", "e", "e", "e", "g", "g", "g", "g",
        "g", "g", "g", "g", "h", "h", "h", "h", "i", "i", "i", "i", "i", "i", "i", "i",
        "i", "i", "ij", "ij", "j", "j", "k", "k", "k", "l", "l", "l", "l", "l", "l", "l",
        "l", "l", "l", "n", "n", "n", "n", "n", "n", "n", "n", "n", "o", "o", "o", "o",
        "o", "o", "oe", "oe", "r", "r", "r", "r", "r", "r", "s", "s", "s", "s", "s", "s",
        "s", "s", "t", "t", "t", "t", "t", "t", "u", "u", "u", "u", "u", "u", "u", "u",
        "u", "u", "u", "u", "w", "w", "y", "y", "y", "z", "z", "z", "z", "z", "z", "s",
    ];

    /// <summary>The lowercase ASCII letters or digit for <paramref name="c"/>, or null when it is a separator.</summary>
    private static string? Fold(char c)
    {
        if (c is >= 'a' and <= 'z' or >= '0' and <= '9') return c.ToString();
        if (c is >= 'A' and <= 'Z') return ((char)(c + 32)).ToString();
        if (c is >= '\u00c0' and <= '\u017f')
        {
            string f = Latin[c - 0xC0];
            return f.Length == 0 ? null : f;
        }
        return null;
    }

    private static bool IsAllowed(char c) => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_';

    private static bool IsSeparator(char c) => c is '-' or '_';
}
