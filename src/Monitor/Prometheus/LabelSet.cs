using System.Collections;
using System.Text;

namespace ExchangeHealth.Monitor.Prometheus;

/// <summary>
/// An immutable set of label name/value pairs, sorted by name, with value equality: the identity
/// of a series and of an alert (Prometheus <c>labels.Labels</c>). Empty values are dropped, as in
/// Prometheus, where a label with an empty value is the same as no label.
/// </summary>
public sealed class LabelSet : IEquatable<LabelSet>, IReadOnlyList<KeyValuePair<string, string>>
{
    private readonly KeyValuePair<string, string>[] _pairs;
    private readonly int _hash;

    /// <summary>The empty set.</summary>
    public static LabelSet Empty { get; } = new([]);

    private LabelSet(KeyValuePair<string, string>[] sortedPairs)
    {
        _pairs = sortedPairs;
        var hash = new HashCode();
        foreach (var (k, v) in _pairs) { hash.Add(k, StringComparer.Ordinal); hash.Add(v, StringComparer.Ordinal); }
        _hash = hash.ToHashCode();
    }

    /// <summary>Builds a set from pairs; a later duplicate name overrides an earlier one; empty values are dropped.</summary>
    public static LabelSet From(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var map = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in pairs)
        {
            if (string.IsNullOrEmpty(v)) map.Remove(k);
            else map[k] = v;
        }
        return map.Count == 0 ? Empty : new LabelSet([.. map]);
    }

    /// <summary>Builds a set from alternating names and values: <c>LabelSet.Of("job", "exh", "market", "BTC-USD")</c>.</summary>
    /// <exception cref="ArgumentException">An odd number of strings.</exception>
    public static LabelSet Of(params string[] namesAndValues)
    {
        ArgumentNullException.ThrowIfNull(namesAndValues);
        if (namesAndValues.Length % 2 != 0) throw new ArgumentException("expected name, value pairs", nameof(namesAndValues));
        var pairs = new List<KeyValuePair<string, string>>(namesAndValues.Length / 2);
        for (int i = 0; i < namesAndValues.Length; i += 2) pairs.Add(new(namesAndValues[i], namesAndValues[i + 1]));
        return From(pairs);
    }

    /// <summary>Number of labels.</summary>
    public int Count => _pairs.Length;

    /// <summary>The i-th pair in name order.</summary>
    public KeyValuePair<string, string> this[int index] => _pairs[index];

    /// <summary>The value of <paramref name="name"/>, or the empty string when absent (Prometheus semantics).</summary>
    public string this[string name] => TryGetValue(name, out string? v) ? v : "";

    /// <summary>Looks up a label by name.</summary>
    public bool TryGetValue(string name, out string value)
    {
        int lo = 0, hi = _pairs.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            int c = string.CompareOrdinal(_pairs[mid].Key, name);
            if (c == 0) { value = _pairs[mid].Value; return true; }
            if (c < 0) lo = mid + 1; else hi = mid - 1;
        }
        value = "";
        return false;
    }

    /// <summary>True when the set has a label <paramref name="name"/>.</summary>
    public bool Contains(string name) => TryGetValue(name, out _);

    /// <summary>This set with <paramref name="other"/>'s labels added, replacing same-named ones.</summary>
    public LabelSet Merge(LabelSet other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Count == 0) return this;
        if (Count == 0) return other;
        return From(_pairs.Concat(other._pairs));
    }

    /// <summary>This set with <paramref name="name"/> set to <paramref name="value"/> (removed when the value is empty).</summary>
    public LabelSet With(string name, string value) => From(_pairs.Append(new(name, value)));

    /// <summary>This set without the named labels.</summary>
    public LabelSet Without(params string[] names)
    {
        ArgumentNullException.ThrowIfNull(names);
        return From(_pairs.Where(p => Array.IndexOf(names, p.Key) < 0));
    }

    /// <summary>Only the named labels (those present).</summary>
    public LabelSet Only(IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var keep = new HashSet<string>(names, StringComparer.Ordinal);
        return From(_pairs.Where(p => keep.Contains(p.Key)));
    }

    /// <summary>
    /// A stable 64-bit fingerprint (FNV-1a over name, 0xFF, value, 0xFF, ...), the same across
    /// processes and runs; formatted as 16 hex digits by <see cref="FingerprintHex"/>.
    /// </summary>
    public ulong Fingerprint
    {
        get
        {
            ulong h = 14695981039346656037UL;
            foreach (var (k, v) in _pairs)
            {
                foreach (char c in k) { h ^= c; h *= 1099511628211UL; }
                h ^= 0xFF; h *= 1099511628211UL;
                foreach (char c in v) { h ^= c; h *= 1099511628211UL; }
                h ^= 0xFF; h *= 1099511628211UL;
            }
            return h;
        }
    }

    /// <summary><see cref="Fingerprint"/> as 16 lower-case hex digits (Alertmanager's format).</summary>
    public string FingerprintHex => Fingerprint.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The pairs as a dictionary (a copy).</summary>
    public Dictionary<string, string> ToDictionary() => _pairs.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    /// <summary>Prometheus notation: <c>{job="exh", market="BTC-USD"}</c>, values escaped.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder("{");
        for (int i = 0; i < _pairs.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(_pairs[i].Key).Append("=\"");
            foreach (char c in _pairs[i].Value)
            {
                switch (c)
                {
                    case '\\': sb.Append("\\\\"); break;
                    case '"': sb.Append("\\\""); break;
                    case '\n': sb.Append("\\n"); break;
                    default: sb.Append(c); break;
                }
            }
            sb.Append('"');
        }
        return sb.Append('}').ToString();
    }

    /// <inheritdoc/>
    public bool Equals(LabelSet? other)
    {
        if (ReferenceEquals(this, other)) return true;
        if (other is null || other._hash != _hash || other._pairs.Length != _pairs.Length) return false;
        for (int i = 0; i < _pairs.Length; i++)
        {
            if (!string.Equals(_pairs[i].Key, other._pairs[i].Key, StringComparison.Ordinal) ||
                !string.Equals(_pairs[i].Value, other._pairs[i].Value, StringComparison.Ordinal)) return false;
        }
        return true;
    }

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as LabelSet);

    /// <inheritdoc/>
    public override int GetHashCode() => _hash;

    /// <summary>Value equality.</summary>
    public static bool operator ==(LabelSet? a, LabelSet? b) => a is null ? b is null : a.Equals(b);

    /// <summary>Value inequality.</summary>
    public static bool operator !=(LabelSet? a, LabelSet? b) => !(a == b);

    /// <inheritdoc/>
    public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, string>>)_pairs).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
