using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Alerting.Routing;

/// <summary>
/// Applies inhibition rules with Alertmanager's semantics (<c>inhibit.Inhibitor.Mutes</c>): a
/// target alert is muted while some <i>firing</i> source alert matches a rule's source matchers,
/// the target matches the rule's target matchers, and every <c>equal</c> label has the same value
/// in both (a label absent from both counts as equal). When the target itself also matches the
/// source matchers, sources that also match the target matchers are skipped, so an alert never
/// inhibits itself and two alerts matching both sides never mute each other.
/// </summary>
public sealed class Inhibitor
{
    private readonly IReadOnlyList<InhibitRule> _rules;

    /// <summary>Creates an inhibitor for <paramref name="rules"/>.</summary>
    public Inhibitor(IReadOnlyList<InhibitRule> rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        _rules = rules;
    }

    /// <summary>The rules applied.</summary>
    public IReadOnlyList<InhibitRule> Rules => _rules;

    /// <summary>
    /// Freezes the candidate sources: the alerts of <paramref name="alerts"/> firing at
    /// <paramref name="now"/> that match each rule's source matchers. Alertmanager considers every
    /// alert it holds as a source, silenced ones included.
    /// </summary>
    public InhibitionSnapshot Snapshot(IEnumerable<Alert> alerts, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        var firing = alerts.Where(a => a.StatusAt(now) == AlertStatus.Firing).ToList();
        var perRule = new Dictionary<string, List<(Alert Alert, string Fingerprint)>>[_rules.Count];
        for (int i = 0; i < _rules.Count; i++)
        {
            var rule = _rules[i];
            var index = new Dictionary<string, List<(Alert, string)>>(StringComparer.Ordinal);
            foreach (var a in firing)
            {
                if (!LabelMatcher.MatchesAll(rule.SourceMatchers, a.Labels)) continue;
                string key = InhibitionSnapshot.EqualKey(rule.Equal, a.Labels);
                if (!index.TryGetValue(key, out var list)) index.Add(key, list = []);
                list.Add((a, a.Fingerprint));
            }
            perRule[i] = index;
        }
        return new InhibitionSnapshot(_rules, perRule);
    }
}

/// <summary>The inhibiting alerts at one moment (see <see cref="Inhibitor.Snapshot"/>); answers which targets are muted.</summary>
public sealed class InhibitionSnapshot
{
    private readonly IReadOnlyList<InhibitRule> _rules;
    // Per rule: the firing sources, indexed by their values of the rule's equal labels.
    private readonly Dictionary<string, List<(Alert Alert, string Fingerprint)>>[] _sources;

    internal InhibitionSnapshot(IReadOnlyList<InhibitRule> rules, Dictionary<string, List<(Alert Alert, string Fingerprint)>>[] sources)
    {
        _rules = rules;
        _sources = sources;
    }

    /// <summary>
    /// Fingerprints (16 hex digits, sorted, distinct) of the firing alerts that inhibit an alert
    /// with <paramref name="target"/> labels; empty when it is not inhibited.
    /// </summary>
    public IReadOnlyList<string> InhibitedBy(LabelSet target)
    {
        ArgumentNullException.ThrowIfNull(target);
        SortedSet<string>? result = null;
        Visit(target, fp =>
        {
            (result ??= new SortedSet<string>(StringComparer.Ordinal)).Add(fp);
            return true;
        });
        return result is null ? [] : [.. result];
    }

    /// <summary>True when <see cref="InhibitedBy"/> is not empty (stops at the first inhibiting alert).</summary>
    public bool IsInhibited(LabelSet target)
    {
        ArgumentNullException.ThrowIfNull(target);
        bool found = false;
        Visit(target, _ =>
        {
            found = true;
            return false;
        });
        return found;
    }

    // Calls onSource with each inhibiting source's fingerprint while it returns true.
    private void Visit(LabelSet target, Func<string, bool> onSource)
    {
        for (int i = 0; i < _rules.Count; i++)
        {
            var rule = _rules[i];
            if (!LabelMatcher.MatchesAll(rule.TargetMatchers, target)) continue;
            if (!_sources[i].TryGetValue(EqualKey(rule.Equal, target), out var candidates)) continue;
            bool excludeTwoSided = LabelMatcher.MatchesAll(rule.SourceMatchers, target);
            foreach (var (source, fingerprint) in candidates)
            {
                if (excludeTwoSided && LabelMatcher.MatchesAll(rule.TargetMatchers, source.Labels)) continue;
                if (source.Labels == target) continue;
                if (!onSource(fingerprint)) return;
            }
        }
    }

    // The values of the equal labels ("" when absent, so both absent is equal), joined by a
    // separator that cannot occur in valid UTF-8 label values.
    internal static string EqualKey(IReadOnlyList<string> equal, LabelSet labels)
    {
        if (equal.Count == 0) return "";
        if (equal.Count == 1) return labels[equal[0]];
        var sb = new System.Text.StringBuilder();
        foreach (string name in equal) sb.Append(labels[name]).Append('\uffff');
        return sb.ToString();
    }
}
