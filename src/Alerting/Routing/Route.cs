using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Alerting.Routing;

/// <summary>
/// The options a route applies to the alerts it matches (Alertmanager's <c>RouteOpts</c>). A
/// child route inherits every option its configuration does not set from its parent; the root
/// starts from Alertmanager's defaults (<see cref="Default"/>).
/// </summary>
/// <param name="Receiver">Receiver name.</param>
/// <param name="GroupBy">Label names whose values split alerts into aggregation groups (sorted, distinct).</param>
/// <param name="GroupByAll">True for <c>group_by: ['...']</c>: every label groups (one group per alert).</param>
/// <param name="GroupWait">How long a new group waits for more alerts before its first notification (default 30 s).</param>
/// <param name="GroupInterval">How long to wait before notifying about changes in a group already notified (default 5 min).</param>
/// <param name="RepeatInterval">How long to wait before repeating an unchanged notification (default 4 h).</param>
/// <param name="Page">ExchangeHealth extension <c>page: true</c>: firing alerts routed here open (or attach to) an incident; inherited by child routes; default false.</param>
public sealed record RouteOptions(
    string Receiver,
    IReadOnlyList<string> GroupBy,
    bool GroupByAll,
    TimeSpan GroupWait,
    TimeSpan GroupInterval,
    TimeSpan RepeatInterval,
    bool Page = false)
{
    /// <summary>Alertmanager's defaults: no receiver, no grouping, group_wait 30s, group_interval 5m, repeat_interval 4h.</summary>
    public static RouteOptions Default { get; } = new("", [], false, TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(5), TimeSpan.FromHours(4));
}

/// <summary>
/// One node of the routing tree (Alertmanager's <c>dispatch.Route</c>). Built by
/// <see cref="RoutingConfig"/>; immutable after construction.
/// </summary>
public sealed class Route
{
    private readonly List<Route> _routes = [];

    internal Route(Route? parent, IReadOnlyList<LabelMatcher> matchers, bool @continue, RouteOptions options, int line, int siblingIndex)
    {
        Parent = parent;
        Matchers = LabelMatcher.Sort(matchers);
        Continue = @continue;
        Options = options;
        Line = line;
        string own = LabelMatcher.FormatList(Matchers);
        if (parent is null)
        {
            Key = own;
        }
        else
        {
            // Alertmanager's Route.Key(): parent key, '/', own matchers. Two siblings with the same
            // matchers would share a key (and a notification log entry): the later one gets its
            // index appended so that group keys stay unique.
            string key = parent.Key + "/" + own;
            if (parent._routes.Any(r => string.Equals(r.Key, key, StringComparison.Ordinal)))
                key += "#" + siblingIndex.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Key = key;
        }
    }

    /// <summary>The parent, or null for the root.</summary>
    public Route? Parent { get; }

    /// <summary>Child routes in configuration order.</summary>
    public IReadOnlyList<Route> Routes => _routes;

    /// <summary>This node's matchers (<c>matchers</c>, <c>match</c> and <c>match_re</c> together), in Alertmanager's sort order; empty for the root.</summary>
    public IReadOnlyList<LabelMatcher> Matchers { get; }

    /// <summary>When true, matching continues with the next sibling after this route matched.</summary>
    public bool Continue { get; }

    /// <summary>The effective options (inherited values filled in).</summary>
    public RouteOptions Options { get; }

    /// <summary>Receiver name (same as <see cref="RouteOptions.Receiver"/>).</summary>
    public string Receiver => Options.Receiver;

    /// <summary>Line of the route in its configuration file (0 when unknown).</summary>
    public int Line { get; }

    /// <summary>
    /// Stable identity of the node, as Alertmanager's <c>Route.Key()</c>: the matchers of every
    /// node from the root down, e.g. <c>{}/{severity="page"}/{market=~"BTC.*"}</c>; a node whose
    /// key equals an earlier sibling's gets <c>#index</c> appended.
    /// </summary>
    public string Key { get; }

    internal void AddChild(Route child) => _routes.Add(child);

    /// <summary>
    /// The routes that take <paramref name="labels"/>, as Alertmanager's <c>Route.Match</c>: empty
    /// when this node's matchers do not match; otherwise depth-first over the children in order,
    /// stopping after the first child that matched unless that child has <c>continue: true</c>;
    /// this node itself when no child matched.
    /// </summary>
    public IReadOnlyList<Route> Match(LabelSet labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var all = new List<Route>();
        MatchInto(labels, all);
        return all;
    }

    private bool MatchInto(LabelSet labels, List<Route> all)
    {
        if (!LabelMatcher.MatchesAll(Matchers, labels)) return false;
        int before = all.Count;
        foreach (var child in _routes)
        {
            if (child.MatchInto(labels, all) && !child.Continue) break;
        }
        if (all.Count == before) all.Add(this);
        return true;
    }

    /// <summary>The alert labels that define its aggregation group on this route: the <c>group_by</c> labels present, or all labels for <c>'...'</c>.</summary>
    public LabelSet GroupLabels(LabelSet alertLabels)
    {
        ArgumentNullException.ThrowIfNull(alertLabels);
        return Options.GroupByAll ? alertLabels : alertLabels.Only(Options.GroupBy);
    }

    /// <summary>Every node of the tree below and including this one, depth-first.</summary>
    public IEnumerable<Route> Walk()
    {
        yield return this;
        foreach (var child in _routes)
        {
            foreach (var r in child.Walk()) yield return r;
        }
    }

    /// <summary>The key, receiver and line.</summary>
    public override string ToString() => $"{Key} receiver={Receiver}";
}
