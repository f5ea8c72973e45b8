using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ExchangeHealth.Chaos.Experiments;

/// <summary>How a run ended (report.json <c>outcome</c>: <c>passed</c>, <c>failed</c>, <c>aborted</c>, <c>steady-state-not-met</c>).</summary>
public enum ExperimentOutcome
{
    /// <summary>Every expectation met within budget, recovered in time, every invariant holds, no action or rollback failed.</summary>
    Passed,

    /// <summary>An expectation, the recovery, an invariant, an action or a rollback failed (see <see cref="ExperimentReport.Reasons"/>).</summary>
    Failed,

    /// <summary>An <c>abort_when</c> limit was crossed, or the run was interrupted (Ctrl-C); rollbacks ran.</summary>
    Aborted,

    /// <summary>The steady-state hypothesis did not hold before the method: no fault was injected.</summary>
    SteadyStateNotMet,
}

/// <summary>A moment of the run: the time (ISO 8601 in JSON) and seconds after the fault injection (null before it or without one).</summary>
/// <param name="At">The time, on the runner's clock.</param>
/// <param name="SecondsAfterFault">Seconds after the fault injection.</param>
public sealed record TimePoint(DateTimeOffset At, double? SecondsAfterFault);

/// <summary>One probe's verdict.</summary>
/// <param name="Name">Probe name.</param>
/// <param name="Type"><c>promql</c>, <c>http</c> or <c>alert</c>.</param>
/// <param name="Passed">Within tolerance.</param>
/// <param name="Detail">What was seen, e.g. <c>value 0.002 within [0, 0.01]</c>.</param>
public sealed record ProbeResult(string Name, string Type, bool Passed, string Detail);

/// <summary>A steady-state check.</summary>
/// <param name="Holds">Every probe passed.</param>
/// <param name="CheckedAt">The time of the (last) check.</param>
/// <param name="Attempts">How many checks were made.</param>
/// <param name="Probes">The probes of the last check.</param>
public sealed record SteadyStateResult(bool Holds, TimePoint CheckedAt, int Attempts, IReadOnlyList<ProbeResult> Probes);

/// <summary>One step run (action or pause).</summary>
/// <param name="Name">Action name, or <c>pause</c>.</param>
/// <param name="Provider">Provider type, or <c>pause</c>.</param>
/// <param name="Fault">True for the fault injection step.</param>
/// <param name="Started">Start.</param>
/// <param name="Ended">End.</param>
/// <param name="Succeeded">False when the handler failed, threw or timed out (or the pause was cut short).</param>
/// <param name="Message">The outcome's line.</param>
public sealed record StepRecord(string Name, string Provider, bool Fault, TimePoint Started, TimePoint Ended, bool Succeeded, string Message);

/// <summary>One expectation's verdict.</summary>
/// <param name="Kind"><c>alert</c>, <c>slack</c>, <c>incident</c> or <c>recovery</c>.</param>
/// <param name="Name">What, e.g. <c>EngineDown firing</c>.</param>
/// <param name="BudgetSeconds">The budget.</param>
/// <param name="Observed">When it was first seen (null: never).</param>
/// <param name="Met">Seen within the budget.</param>
/// <param name="Detail">Details (e.g. the incident id, the first Slack attempt).</param>
public sealed record ExpectationResult(string Kind, string Name, double BudgetSeconds, TimePoint? Observed, bool Met, string Detail);

/// <summary>One invariant's verdict.</summary>
/// <param name="Name">Invariant name.</param>
/// <param name="Passed">It holds.</param>
/// <param name="Summary">One line with counts.</param>
/// <param name="Counts">Counts by name.</param>
public sealed record InvariantReport(string Name, bool Passed, string Summary, IReadOnlyDictionary<string, long> Counts);

/// <summary>The key moments, relative to the fault injection.</summary>
/// <param name="FaultInjected">End of the fault action.</param>
/// <param name="FirstPending">First expected alert seen pending (or firing).</param>
/// <param name="Firing">First expected alert seen firing.</param>
/// <param name="SlackRequest">First <c>chat.postMessage</c> carrying an expected alert (any answer).</param>
/// <param name="IncidentOpened">First incident created after the fault, as first seen.</param>
/// <param name="Recovered">Steady state held again after the rollbacks.</param>
public sealed record ExperimentTimeline(TimePoint? FaultInjected, TimePoint? FirstPending, TimePoint? Firing, TimePoint? SlackRequest, TimePoint? IncidentOpened, TimePoint? Recovered);

/// <summary>The result of one run, written as <c>report.json</c> (stable snake_case names) and <c>report.md</c>.</summary>
public sealed record ExperimentReport
{
    /// <summary>Experiment title.</summary>
    public required string Title { get; init; }

    /// <summary>Experiment file.</summary>
    public required string File { get; init; }

    /// <summary>Tags.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>Run with <c>--short</c> overrides.</summary>
    public bool Short { get; init; }

    /// <summary>Outcome.</summary>
    public ExperimentOutcome Outcome { get; init; }

    /// <summary>Why it did not pass (empty when passed).</summary>
    public IReadOnlyList<string> Reasons { get; init; } = [];

    /// <summary>Run start.</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>Run end.</summary>
    public required DateTimeOffset EndedAt { get; init; }

    /// <summary>Wall duration in seconds.</summary>
    public double DurationSeconds => Math.Round((EndedAt - StartedAt).TotalSeconds, 3);

    /// <summary>Key moments.</summary>
    public ExperimentTimeline Timeline { get; init; } = new(null, null, null, null, null, null);

    /// <summary>Expectations with their budgets.</summary>
    public IReadOnlyList<ExpectationResult> Expectations { get; init; } = [];

    /// <summary>Steady state before the method (null without a hypothesis or when the platform did not start).</summary>
    public SteadyStateResult? SteadyStateBefore { get; init; }

    /// <summary>Steady state after the rollbacks (null when not checked).</summary>
    public SteadyStateResult? SteadyStateAfter { get; init; }

    /// <summary>Method steps run.</summary>
    public IReadOnlyList<StepRecord> Method { get; init; } = [];

    /// <summary>Rollback steps run.</summary>
    public IReadOnlyList<StepRecord> Rollbacks { get; init; } = [];

    /// <summary>Invariants.</summary>
    public IReadOnlyList<InvariantReport> Invariants { get; init; } = [];

    /// <summary>Why the run aborted (limit crossed or interrupted), or null.</summary>
    public string? AbortReason { get; init; }

    /// <summary>Component → log file path.</summary>
    public IReadOnlyDictionary<string, string> PlatformLogs { get; init; } = new Dictionary<string, string>();

    /// <summary>The run's directory (report.md, report.json, run.log).</summary>
    public string ReportDirectory { get; init; } = "";
}

/// <summary>Writes <see cref="ExperimentReport"/> as JSON and Markdown, and the console summary.</summary>
public static class ExperimentReportWriter
{
    /// <summary>JSON options of report.json: snake_case names, kebab-case enums, ISO 8601 times, indented.</summary>
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    /// <summary>Writes <c>report.json</c> and <c>report.md</c> into <see cref="ExperimentReport.ReportDirectory"/>; returns their paths.</summary>
    /// <exception cref="IOException">The files cannot be written.</exception>
    public static (string Markdown, string Json) Write(ExperimentReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(report.ReportDirectory);
        string json = Path.Combine(report.ReportDirectory, "report.json");
        string md = Path.Combine(report.ReportDirectory, "report.md");
        System.IO.File.WriteAllText(json, JsonSerializer.Serialize(report, JsonOptions) + "\n");
        System.IO.File.WriteAllText(md, Markdown(report));
        return (md, json);
    }

    private static string S(double? seconds) => seconds is { } s ? s.ToString("0.0##", CultureInfo.InvariantCulture) + " s" : "-";

    private static string T(TimePoint? p) => p is null ? "-" : p.At.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).ReplaceLineEndings(" ");

    private static string OutcomeName(ExperimentOutcome o) => o switch
    {
        ExperimentOutcome.Passed => "passed",
        ExperimentOutcome.Failed => "failed",
        ExperimentOutcome.Aborted => "aborted",
        _ => "steady-state-not-met",
    };

    /// <summary>The Markdown report.</summary>
    public static string Markdown(ExperimentReport r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(inv, $"# Chaos experiment: {r.Title}\n\n");
        sb.Append(inv, $"- File: `{r.File}`{(r.Short ? " (--short)" : "")}\n");
        if (r.Tags.Count > 0) sb.Append(inv, $"- Tags: {string.Join(", ", r.Tags)}\n");
        sb.Append(inv, $"- Outcome: **{OutcomeName(r.Outcome)}**\n");
        foreach (string reason in r.Reasons) sb.Append(inv, $"  - {reason}\n");
        if (r.AbortReason is not null) sb.Append(inv, $"- Aborted: {r.AbortReason}\n");
        sb.Append(inv, $"- Started {T(new TimePoint(r.StartedAt, null))}, ended {T(new TimePoint(r.EndedAt, null))} ({S(r.DurationSeconds)})\n\n");

        sb.Append("## Timeline (seconds after the fault injection)\n\n| event | time (UTC) | after fault |\n|---|---|---|\n");
        void Row(string name, TimePoint? p) => sb.Append(inv, $"| {name} | {T(p)} | {S(p?.SecondsAfterFault)} |\n");
        Row("fault injected", r.Timeline.FaultInjected);
        Row("first pending", r.Timeline.FirstPending);
        Row("firing", r.Timeline.Firing);
        Row("Slack request", r.Timeline.SlackRequest);
        Row("incident opened", r.Timeline.IncidentOpened);
        Row("recovered", r.Timeline.Recovered);

        if (r.Expectations.Count > 0)
        {
            sb.Append("\n## Expectations\n\n| kind | expectation | budget | observed | met | detail |\n|---|---|---|---|---|---|\n");
            foreach (var e in r.Expectations)
                sb.Append(inv, $"| {e.Kind} | {Cell(e.Name)} | {S(e.BudgetSeconds)} | {S(e.Observed?.SecondsAfterFault)} | {(e.Met ? "yes" : "**no**")} | {Cell(e.Detail)} |\n");
        }

        void Steady(string title, SteadyStateResult? s)
        {
            if (s is null) return;
            sb.Append(inv, $"\n## {title}: {(s.Holds ? "holds" : "**does not hold**")} ({s.Attempts} check(s), last at {T(s.CheckedAt)})\n\n| probe | type | passed | detail |\n|---|---|---|---|\n");
            foreach (var p in s.Probes) sb.Append(inv, $"| {Cell(p.Name)} | {p.Type} | {(p.Passed ? "yes" : "**no**")} | {Cell(p.Detail)} |\n");
        }
        Steady("Steady state before", r.SteadyStateBefore);

        void Steps(string title, IReadOnlyList<StepRecord> steps)
        {
            sb.Append(inv, $"\n## {title}\n\n");
            if (steps.Count == 0) { sb.Append("(none run)\n"); return; }
            sb.Append("| step | provider | started | ended | after fault | ok | message |\n|---|---|---|---|---|---|---|\n");
            foreach (var s in steps)
                sb.Append(inv, $"| {Cell(s.Name)}{(s.Fault ? " (fault)" : "")} | {s.Provider} | {T(s.Started)} | {T(s.Ended)} | {S(s.Started.SecondsAfterFault)} | {(s.Succeeded ? "yes" : "**no**")} | {Cell(s.Message)} |\n");
        }
        Steps("Method", r.Method);
        Steps("Rollbacks", r.Rollbacks);
        Steady("Steady state after the rollbacks", r.SteadyStateAfter);

        if (r.Invariants.Count > 0)
        {
            sb.Append("\n## Invariants\n\n| invariant | passed | summary |\n|---|---|---|\n");
            foreach (var i in r.Invariants) sb.Append(inv, $"| {i.Name} | {(i.Passed ? "yes" : "**no**")} | {Cell(i.Summary)} |\n");
        }
        if (r.PlatformLogs.Count > 0)
        {
            sb.Append("\n## Platform logs\n\n");
            foreach (var (c, p) in r.PlatformLogs) sb.Append(inv, $"- {c}: `{p}`\n");
        }
        sb.Append(inv, $"\nRun log: `{Path.Combine(r.ReportDirectory, "run.log")}`\n");
        return sb.ToString();
    }

    /// <summary>The summary printed at the end of <c>exh chaos run</c>: outcome, each timing against its budget, invariants.</summary>
    public static string Summary(ExperimentReport r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(inv, $"{r.Title}: {OutcomeName(r.Outcome).ToUpperInvariant()}\n");
        foreach (string reason in r.Reasons) sb.Append(inv, $"  - {reason}\n");
        sb.Append(inv, $"  {"what",-44} {"after fault",12} {"budget",10}  ok\n");
        sb.Append(inv, $"  {"fault injected",-44} {S(r.Timeline.FaultInjected?.SecondsAfterFault),12} {"",10}\n");
        foreach (var e in r.Expectations)
            sb.Append(inv, $"  {Truncate(e.Kind + " " + e.Name, 44),-44} {S(e.Observed?.SecondsAfterFault),12} {S(e.BudgetSeconds),10}  {(e.Met ? "yes" : "NO")}\n");
        foreach (var i in r.Invariants) sb.Append(inv, $"  invariant {i.Name}: {(i.Passed ? "passed" : "FAILED")}: {i.Summary}\n");
        return sb.ToString();
    }

    private static string Truncate(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";
}
