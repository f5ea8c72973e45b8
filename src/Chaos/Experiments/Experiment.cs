namespace ExchangeHealth.Chaos.Experiments;

/// <summary>
/// A parsed chaos experiment file (format: docs/chaos.md; in the spirit of Chaos Toolkit's
/// experiment: a steady-state hypothesis, a method, rollbacks), plus detection expectations,
/// abort conditions and CI overrides. Built by <see cref="ExperimentFile"/>; run by
/// <see cref="ExperimentRunner"/>.
/// </summary>
public sealed record Experiment
{
    /// <summary>The file the experiment came from (for messages and the report).</summary>
    public required string Source { get; init; }

    /// <summary>One-line title (required).</summary>
    public required string Title { get; init; }

    /// <summary>Free text; "" when absent.</summary>
    public string Description { get; init; } = "";

    /// <summary>Tags (e.g. <c>engine</c>, <c>ci</c>).</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>What the platform must run (<c>platform:</c>).</summary>
    public PlatformRequest Platform { get; init; } = new();

    /// <summary>Wait after the platform is up and before the steady-state check (<c>warm_up:</c>, default 0).</summary>
    public TimeSpan WarmUp { get; init; }

    /// <summary>The steady-state hypothesis, or null (then no steady-state check and no recovery time).</summary>
    public SteadyStateHypothesis? SteadyState { get; init; }

    /// <summary>The method: actions and pauses in order (at least one action).</summary>
    public required IReadOnlyList<ExperimentStep> Method { get; init; }

    /// <summary>Rollbacks: run after the method whenever the method was started (also after a failure, an abort or Ctrl-C).</summary>
    public IReadOnlyList<ExperimentStep> Rollbacks { get; init; } = [];

    /// <summary>Detection, recovery and invariant expectations (<c>expect:</c>).</summary>
    public ExperimentExpectations Expect { get; init; } = new();

    /// <summary>Conditions checked every second from the start of the method until the observation ends; one crossing aborts the run.</summary>
    public IReadOnlyList<AbortCondition> AbortWhen { get; init; } = [];

    /// <summary>Overrides applied by <c>--short</c> (<see cref="WithShortOverrides"/>), or null.</summary>
    public ShortOverrides? Short { get; init; }

    /// <summary>
    /// A short-name for report directories: the file name without extension, lower case, runs of
    /// characters other than a-z, 0-9 replaced by one <c>-</c>.
    /// </summary>
    public string Slug
    {
        get
        {
            string name = Path.GetFileNameWithoutExtension(Source);
            if (name.Length == 0) name = Title;
            var sb = new System.Text.StringBuilder();
            foreach (char c in name.ToLowerInvariant())
            {
                if (char.IsAsciiLetterOrDigit(c)) sb.Append(c);
                else if (sb.Length > 0 && sb[^1] != '-') sb.Append('-');
            }
            string slug = sb.ToString().Trim('-');
            return slug.Length == 0 ? "experiment" : slug;
        }
    }

    /// <summary>The action whose completion is the fault injection moment: the first with <c>fault: true</c>, else the method's first action.</summary>
    public ExperimentStep FaultStep => Method.FirstOrDefault(s => s.IsFault) ?? Method.First(s => !s.IsPause);

    /// <summary>
    /// This experiment with its <c>short:</c> overrides applied (CI runs): warm-up, steady-state
    /// wait, recovery budget, named pauses and merged arguments of named actions. The same
    /// experiment when it has none.
    /// </summary>
    public Experiment WithShortOverrides()
    {
        if (Short is not { } s) return this;
        ExperimentStep Apply(ExperimentStep step)
        {
            if (step.IsPause)
                return step.Name is { } n && s.Pauses.TryGetValue(n, out var p) ? step with { Pause = p } : step;
            if (step.Name is { } a && s.Arguments.TryGetValue(a, out var overrides))
            {
                var merged = new Dictionary<string, ArgumentValue>(step.Arguments, StringComparer.Ordinal);
                foreach (var (k, v) in overrides) merged[k] = v;
                return step with { Arguments = merged };
            }
            return step;
        }
        return this with
        {
            WarmUp = s.WarmUp ?? WarmUp,
            SteadyState = SteadyState is null ? null : SteadyState with { Within = s.SteadyStateWithin ?? SteadyState.Within },
            Method = [.. Method.Select(Apply)],
            Rollbacks = [.. Rollbacks.Select(Apply)],
            Expect = Expect with { RecoveryWithin = s.RecoveryWithin ?? Expect.RecoveryWithin },
            Short = null,
        };
    }
}

/// <summary>
/// What an experiment's <c>platform:</c> section asks the supervisor to start. The runner fills
/// <see cref="SlackApi"/> and <see cref="DataDirectory"/> before calling the platform factory.
/// </summary>
public sealed record PlatformRequest
{
    /// <summary>Monitor nodes: 1, or 2 in a Quartz cluster on PostgreSQL (<c>monitor_nodes</c>, default 1).</summary>
    public int MonitorNodes { get; init; } = 1;

    /// <summary>Generated order flow in orders per second; 0 for none (<c>order_rate</c>, default 100).</summary>
    public double OrderRate { get; init; } = 100;

    /// <summary>Whether the runner starts the local Slack stand-in and the monitors post to it (<c>slack</c>, default true).</summary>
    public bool Slack { get; init; } = true;

    /// <summary>Size in bytes of a tmpfs the engine journal is put on (<c>engine_journal_tmpfs: 64MiB</c>), or null for the normal data directory.</summary>
    public long? EngineJournalTmpfsBytes { get; init; }

    /// <summary>Extra command-line arguments of <c>exh engine</c> (<c>engine_args</c>).</summary>
    public IReadOnlyList<string> EngineArgs { get; init; } = [];

    /// <summary>The Slack stand-in's Web API base URL (set by the runner when <see cref="Slack"/>), else null.</summary>
    public Uri? SlackApi { get; init; }

    /// <summary>The platform's root data directory (set by the runner: <c>--data</c>, else <c>RUN_DIR/data</c>).</summary>
    public string? DataDirectory { get; init; }
}

/// <summary>The steady-state hypothesis: probes that must all be within tolerance.</summary>
/// <param name="Title">Title ("" when absent).</param>
/// <param name="Within">How long the check before the method may retry until it holds (0: one check).</param>
/// <param name="Probes">The probes (at least one).</param>
public sealed record SteadyStateHypothesis(string Title, TimeSpan Within, IReadOnlyList<Probe> Probes);

/// <summary>Probe kinds.</summary>
public enum ProbeType
{
    /// <summary>An instant PromQL query; every sample must be within the tolerance; no sample fails.</summary>
    Promql,

    /// <summary>An HTTP request; the status must match, and optionally a JSON field.</summary>
    Http,

    /// <summary>A monitor alert's state (<c>inactive</c>, <c>pending</c>, <c>firing</c>) from the monitor's <c>/api/v1/rules</c>.</summary>
    Alert,
}

/// <summary>Numeric tolerance: an exact value or a closed range <c>[min, max]</c>.</summary>
/// <param name="Min">Lowest value allowed.</param>
/// <param name="Max">Highest value allowed.</param>
public sealed record Tolerance(double Min, double Max)
{
    /// <summary>True when <paramref name="value"/> is in <c>[Min, Max]</c>.</summary>
    public bool Accepts(double value) => value >= Min && value <= Max;

    /// <inheritdoc/>
    public override string ToString() => Min == Max
        ? Min.ToString("G", System.Globalization.CultureInfo.InvariantCulture)
        : $"[{Min.ToString("G", System.Globalization.CultureInfo.InvariantCulture)}, {Max.ToString("G", System.Globalization.CultureInfo.InvariantCulture)}]";
}

/// <summary>One steady-state probe.</summary>
public sealed record Probe
{
    /// <summary>Name (required; unique in the hypothesis).</summary>
    public required string Name { get; init; }

    /// <summary>Kind.</summary>
    public required ProbeType Type { get; init; }

    /// <summary>Line in the file.</summary>
    public int Line { get; init; }

    /// <summary><see cref="ProbeType.Promql"/>: the expression.</summary>
    public string Query { get; init; } = "";

    /// <summary><see cref="ProbeType.Promql"/>: the tolerance every sample must meet.</summary>
    public Tolerance? Tolerance { get; init; }

    /// <summary><see cref="ProbeType.Http"/>: URL template (<c>{engine_http}ready</c>).</summary>
    public string Url { get; init; } = "";

    /// <summary><see cref="ProbeType.Http"/>: the method (default GET).</summary>
    public string Method { get; init; } = "GET";

    /// <summary><see cref="ProbeType.Http"/>: expected status (default 200).</summary>
    public int Status { get; init; } = 200;

    /// <summary><see cref="ProbeType.Http"/>: bearer token to send: <c>none</c>, <c>monitor</c> (the monitor token file) or <c>engine_admin</c> (the engine's admin token).</summary>
    public string Auth { get; init; } = "none";

    /// <summary><see cref="ProbeType.Http"/>: dotted path of a JSON field to check (<c>status.state</c>, <c>items.0.id</c>), or null.</summary>
    public string? JsonField { get; init; }

    /// <summary><see cref="ProbeType.Http"/>: the expected JSON field value (compared as text; numbers by value).</summary>
    public string? JsonEquals { get; init; }

    /// <summary><see cref="ProbeType.Alert"/>: the alert name.</summary>
    public string AlertName { get; init; } = "";

    /// <summary><see cref="ProbeType.Alert"/>: labels the alert must have.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary><see cref="ProbeType.Alert"/>: expected state: <c>inactive</c> (no pending or firing instance), <c>pending</c> or <c>firing</c>.</summary>
    public string State { get; init; } = "inactive";

    /// <summary>Timeout of one probe (default 5 s).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>One argument of an action or invariant: a scalar, a mapping of scalars or a list of scalars.</summary>
/// <param name="Line">Line in the file (0 when made in code).</param>
/// <param name="Text">The scalar, or null.</param>
/// <param name="Map">The mapping, or null.</param>
/// <param name="List">The list, or null.</param>
public sealed record ArgumentValue(int Line, string? Text, IReadOnlyDictionary<string, string>? Map = null, IReadOnlyList<string>? List = null)
{
    /// <summary>A scalar argument made in code.</summary>
    public static ArgumentValue Of(string text) => new(0, text);
}

/// <summary>One method or rollback step: a pause, or an action run by a provider of the <see cref="ChaosActionRegistry"/>.</summary>
public sealed record ExperimentStep
{
    /// <summary>The action's name (<c>action:</c>), or the pause's optional <c>name:</c>; null for an unnamed pause.</summary>
    public string? Name { get; init; }

    /// <summary>Line in the file.</summary>
    public int Line { get; init; }

    /// <summary>Non-null for a pause.</summary>
    public TimeSpan? Pause { get; init; }

    /// <summary>True for a pause.</summary>
    public bool IsPause => Pause is not null;

    /// <summary>The provider type, e.g. <c>process.signal</c> ("" for a pause).</summary>
    public string Provider { get; init; } = "";

    /// <summary>The provider's arguments.</summary>
    public IReadOnlyDictionary<string, ArgumentValue> Arguments { get; init; } = new Dictionary<string, ArgumentValue>();

    /// <summary>True for the fault injection moment (<c>fault: true</c>; at most one per method).</summary>
    public bool IsFault { get; init; }

    /// <summary>Time limit of the action (default 60 s).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <inheritdoc/>
    public override string ToString() => IsPause ? $"pause {Monitor.Prometheus.PromDuration.Format(Pause!.Value)}" : $"{Name} ({Provider})";
}

/// <summary>Expectations checked after the fault (<c>expect:</c>).</summary>
public sealed record ExperimentExpectations
{
    /// <summary>Alerts that must reach a state within a budget after the fault.</summary>
    public IReadOnlyList<AlertExpectation> Alerts { get; init; } = [];

    /// <summary>An incident that must open within a budget, or null.</summary>
    public IncidentExpectation? Incident { get; init; }

    /// <summary>Slack messages that must arrive within a budget.</summary>
    public IReadOnlyList<SlackExpectation> Slack { get; init; } = [];

    /// <summary>After the rollbacks, the steady state must hold again within this, or null for no check.</summary>
    public TimeSpan? RecoveryWithin { get; init; }

    /// <summary>Named invariants checked at the end (resolved by the <see cref="InvariantRegistry"/>).</summary>
    public IReadOnlyList<InvariantReference> Invariants { get; init; } = [];

    /// <summary>The longest detection budget (alerts, incident, Slack), or zero when there is none.</summary>
    public TimeSpan LongestDetectionBudget =>
        new[] { TimeSpan.Zero, Incident?.Within ?? TimeSpan.Zero }
            .Concat(Alerts.Select(a => a.Within)).Concat(Slack.Select(s => s.Within)).Max();
}

/// <summary>An alert that must reach <see cref="State"/> within <see cref="Within"/> of the fault injection.</summary>
/// <param name="AlertName">The <c>alertname</c>.</param>
/// <param name="Labels">Labels the alert instance must have (others are ignored).</param>
/// <param name="State"><c>pending</c> or <c>firing</c>.</param>
/// <param name="Within">Budget after the fault injection.</param>
/// <param name="Line">Line in the file.</param>
public sealed record AlertExpectation(string AlertName, IReadOnlyDictionary<string, string> Labels, string State, TimeSpan Within, int Line);

/// <summary>An incident that must open (be created) within <see cref="Within"/> of the fault injection.</summary>
/// <param name="Within">Budget.</param>
/// <param name="Severity">Required severity (<c>SEV1</c>...), or null for any.</param>
/// <param name="Line">Line in the file.</param>
public sealed record IncidentExpectation(TimeSpan Within, string? Severity, int Line)
{
    /// <summary>Only an incident opened for this alert counts (its title starts with the alert name, as incidents opened by a page are titled); null: any incident.</summary>
    public string? AlertName { get; init; }
}

/// <summary>A Slack <c>chat.postMessage</c> mentioning <see cref="AlertName"/> (text, blocks or metadata) that the stand-in stored within <see cref="Within"/> of the fault.</summary>
/// <param name="AlertName">The alert name looked for.</param>
/// <param name="Within">Budget.</param>
/// <param name="Line">Line in the file.</param>
public sealed record SlackExpectation(string AlertName, TimeSpan Within, int Line);

/// <summary>A named invariant with its optional arguments.</summary>
/// <param name="Name">The registered name, e.g. <c>slack_delivered_once</c>.</param>
/// <param name="Arguments">Arguments (may be empty).</param>
/// <param name="Line">Line in the file.</param>
public sealed record InvariantReference(string Name, IReadOnlyDictionary<string, ArgumentValue> Arguments, int Line);

/// <summary>Aborts the run when an instant PromQL query has a sample above <see cref="Above"/> or below <see cref="Below"/>.</summary>
/// <param name="Query">The expression (e.g. an error-budget burn rate).</param>
/// <param name="Above">Upper limit, or null.</param>
/// <param name="Below">Lower limit, or null.</param>
/// <param name="Line">Line in the file.</param>
public sealed record AbortCondition(string Query, double? Above, double? Below, int Line)
{
    /// <summary>True when <paramref name="value"/> crosses a limit (strictly above / below).</summary>
    public bool IsCrossedBy(double value) => (Above is { } a && value > a) || (Below is { } b && value < b);
}

/// <summary>Overrides applied with <c>--short</c> (CI): shorter waits and fault durations.</summary>
public sealed record ShortOverrides
{
    /// <summary>Replaces <see cref="Experiment.WarmUp"/>.</summary>
    public TimeSpan? WarmUp { get; init; }

    /// <summary>Replaces the hypothesis's <c>within</c>.</summary>
    public TimeSpan? SteadyStateWithin { get; init; }

    /// <summary>Replaces <c>expect.recovery_within</c>.</summary>
    public TimeSpan? RecoveryWithin { get; init; }

    /// <summary>Pause durations by pause name.</summary>
    public IReadOnlyDictionary<string, TimeSpan> Pauses { get; init; } = new Dictionary<string, TimeSpan>();

    /// <summary>Arguments merged into the actions of that name (method and rollbacks).</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, ArgumentValue>> Arguments { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, ArgumentValue>>();
}
