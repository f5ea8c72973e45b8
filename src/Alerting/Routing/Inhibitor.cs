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
        var perRule = new List<Alert>[_rules.Count];
        for (int i = 0; i < _rules.Count; i++)
        {
            var rule = _rules[i];
            perRule[i] = firing.Where(a => LabelMatcher.MatchesAll(rule.SourceMatchers, a.Labels)).ToList();
        }
        return new InhibitionSnapshot(_rules, perRule);
    }
}

/// <summary>The inhibiting alerts at one moment (see <see cref="Inhibitor.Snapshot"/>); answers which targets are muted.</summary>
public sealed class InhibitionSnapshot
{
    private readonly IReadOnlyList<InhibitRule> _rules;
    private readonly List<Alert>[] _sources;

    internal InhibitionSnapshot(IReadOnlyList<InhibitRule> rules, List<Alert>[] sources)
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
        for (int i = 0; i < _rules.Count; i++)
        {
            var rule = _rules[i];
            if (!LabelMatcher.MatchesAll(rule.TargetMatchers, target)) continue;
            bool excludeTwoSided = LabelMatcher.MatchesAll(rule.SourceMatchers, target);
            foreach (var source in _sources[i])
            {
                if (!EqualLabels(rule.Equal, source.Labels, target)) continue;
                if (excludeTwoSided && LabelMatcher.MatchesAll(rule.TargetMatchers, source.Labels)) continue;
                if (source.Labels == target) continue;
                (result ??= new SortedSet<string>(StringComparer.Ordinal)).Add(source.Fingerprint);
            }
        }
        return result is null ? [] : [.. result];
    }

    /// <summary>True when <see cref="InhibitedBy"/> is not empty.</summary>
    public bool IsInhibited(LabelSet target) => InhibitedBy(target).Count > 0;

    private static bool EqualLabels(IReadOnlyList<string> equal, LabelSet source, LabelSet target)
    {
        foreach (string name in equal)
        {
            if (!string.Equals(source[name], target[name], StringComparison.Ordinal)) return false;
        }
        return true;
    }
}
