namespace ExchangeHealth.Chaos.Experiments;

/// <summary>Checks one invariant at the end of a run (after rollbacks and recovery).</summary>
/// <param name="context">The run (platform still up).</param>
/// <param name="arguments">The invariant's arguments from the file (may be empty).</param>
/// <param name="cancellationToken">Cancellation.</param>
/// <returns>Passed or failed, with counts.</returns>
public delegate Task<InvariantResult> ChaosInvariant(ChaosContext context, ActionArguments arguments, CancellationToken cancellationToken);

/// <summary>An invariant's verdict.</summary>
/// <param name="Passed">True when it holds.</param>
/// <param name="Summary">One line with the counts, e.g. <c>acknowledged 12 345 orders, 0 missing from the journal</c>.</param>
/// <param name="Counts">The counts by name (stable keys for report.json), e.g. <c>acknowledged</c>, <c>missing</c>.</param>
public sealed record InvariantResult(bool Passed, string Summary, IReadOnlyDictionary<string, long> Counts);

/// <summary>An invariant registered in an <see cref="InvariantRegistry"/>.</summary>
/// <param name="Name">Name as written in <c>expect.invariants</c>.</param>
/// <param name="Check">The check.</param>
/// <param name="Arguments">Argument names it accepts.</param>
/// <param name="Description">One line of documentation.</param>
public sealed record RegisteredInvariant(string Name, ChaosInvariant Check, IReadOnlySet<string> Arguments, string Description);

/// <summary>
/// Invariant name → check. <see cref="CreateDefault"/> has <c>slack_delivered_once</c>
/// (<see cref="SlackDeliveredOnce"/>); loss checks of other providers are added with
/// <see cref="Register"/>.
/// </summary>
public sealed class InvariantRegistry
{
    private readonly Dictionary<string, RegisteredInvariant> _invariants = new(StringComparer.Ordinal);

    /// <summary>A registry with the built-in invariants.</summary>
    public static InvariantRegistry CreateDefault()
    {
        var registry = new InvariantRegistry();
        registry.Register(SlackDeliveredOnce.Name, SlackDeliveredOnce.CheckAsync, SlackDeliveredOnce.ArgumentNames, SlackDeliveredOnce.Description);
        return registry;
    }

    /// <summary>Registered invariants by name.</summary>
    public IReadOnlyDictionary<string, RegisteredInvariant> Invariants => _invariants;

    /// <summary>Adds (or replaces) an invariant.</summary>
    /// <exception cref="ArgumentException">Empty name.</exception>
    public void Register(string name, ChaosInvariant check, IEnumerable<string>? arguments = null, string description = "")
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(check);
        _invariants[name] = new RegisteredInvariant(name, check, new HashSet<string>(arguments ?? [], StringComparer.Ordinal), description);
    }

    /// <summary>The invariant <paramref name="name"/>, or null.</summary>
    public RegisteredInvariant? Find(string name) => _invariants.GetValueOrDefault(name);
}

/// <summary>
/// <c>slack_delivered_once</c>: every notification the monitors' outboxes (<c>GET /api/v1/outbox</c>,
/// all nodes, by dedup key) mark delivered is in the Slack stand-in exactly once, and none is
/// pending or dead after recovery.
/// </summary>
/// <remarks>
/// "Exactly once" follows the Slack notifier's contract (docs/notifications.md): each posted
/// message carries metadata <c>{dedup_key, part}</c>; a delivered <c>new</c>, <c>update</c>,
/// <c>repeat</c> or <c>escalation</c> notification must have at least one stored message with its
/// dedup key and no (dedup key, part) may be stored twice; <c>resolved</c> notifications are
/// <c>chat.update</c> calls only and are counted, not matched. Arguments: <c>receivers</c> (list):
/// only these receivers' entries (default: all); <c>settle</c> (duration, default 30s): how long
/// pending entries (deliveries in flight right after recovery) may take to finish before they count.
/// </remarks>
public static class SlackDeliveredOnce
{
    /// <summary>The invariant's name.</summary>
    public const string Name = "slack_delivered_once";

    /// <summary>One line of documentation.</summary>
    public const string Description = "every notification the outbox marks delivered is in the Slack stand-in exactly once; none pending or dead";

    /// <summary>Accepted arguments.</summary>
    public static readonly IReadOnlyList<string> ArgumentNames = ["receivers", "settle"];

    /// <summary>Runs the check.</summary>
    /// <exception cref="HttpRequestException">No monitor node answered.</exception>
    public static async Task<InvariantResult> CheckAsync(ChaosContext context, ActionArguments arguments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(arguments);
        if (context.Slack is null) return new InvariantResult(false, "the experiment runs without the Slack stand-in (platform.slack: false)", new Dictionary<string, long>());
        var receivers = arguments.List("receivers");
        var settle = arguments.Duration("settle", TimeSpan.FromSeconds(30));
        var deadline = context.Time.GetUtcNow() + settle;
        Dictionary<string, OutboxRow> entries;
        while (true)
        {
            entries = await ReadOutboxAsync(context, receivers, cancellationToken).ConfigureAwait(false);
            // Deliveries still in flight right after recovery (a resolved notification) get up to 'settle' to finish.
            if (!entries.Values.Any(e => e.State == "pending") || context.Time.GetUtcNow() >= deadline) break;
            await Task.Delay(TimeSpan.FromMilliseconds(500), context.Time, cancellationToken).ConfigureAwait(false);
        }

        var messages = context.Slack.Messages.Where(m => m.DedupKey is not null)
            .GroupBy(m => (m.DedupKey!, m.Part ?? "")).ToDictionary(g => g.Key, g => g.Count());
        var byKey = messages.GroupBy(m => m.Key.Item1).ToDictionary(g => g.Key, g => g.Sum(x => x.Value));
        long delivered = 0, resolved = 0, pending = 0, dead = 0, missing = 0, duplicates = 0, matched = 0;
        var problems = new List<string>();
        foreach (var row in entries.Values)
        {
            switch (row.State)
            {
                case "pending": pending++; problems.Add($"{row.DedupKey} still pending"); continue;
                case "dead": dead++; problems.Add($"{row.DedupKey} dead"); continue;
                case "delivered": delivered++; break;
                default: continue;
            }
            if (row.Kind == "resolved") { resolved++; continue; }
            if (!byKey.ContainsKey(row.DedupKey)) { missing++; problems.Add($"{row.DedupKey} ({row.Kind}) delivered but not in Slack"); continue; }
            matched++;
        }
        foreach (var ((key, part), count) in messages)
        {
            if (count > 1 && entries.ContainsKey(key)) { duplicates++; problems.Add($"{key} ({part}) in Slack {count} times"); }
        }
        long unknown = byKey.Keys.Count(k => !entries.ContainsKey(k));
        var counts = new Dictionary<string, long>
        {
            ["outbox_entries"] = entries.Count, ["delivered"] = delivered, ["matched"] = matched, ["resolved_updates"] = resolved,
            ["missing"] = missing, ["duplicates"] = duplicates, ["pending"] = pending, ["dead"] = dead,
            ["slack_messages"] = messages.Values.Sum(), ["unknown_in_slack"] = unknown,
        };
        bool passed = missing == 0 && duplicates == 0 && pending == 0 && dead == 0;
        string summary = $"{delivered} delivered notifications ({matched} messages matched, {resolved} resolved updates), {missing} missing, {duplicates} duplicated, {pending} pending, {dead} dead";
        if (!passed) summary += ": " + string.Join("; ", problems.Take(5)) + (problems.Count > 5 ? $"; and {problems.Count - 5} more" : "");
        return new InvariantResult(passed, summary, counts);
    }

    private static async Task<Dictionary<string, OutboxRow>> ReadOutboxAsync(ChaosContext context, IReadOnlyList<string> receivers, CancellationToken cancellationToken)
    {
        var entries = new Dictionary<string, OutboxRow>(StringComparer.Ordinal);
        Exception? last = null;
        int answered = 0;
        foreach (var node in context.Platform.Endpoints.Monitors)
        {
            try
            {
                var json = await context.GetMonitorJsonAsync(node, "api/v1/outbox?limit=1000", cancellationToken).ConfigureAwait(false);
                answered++;
                foreach (var e in json?.AsArray() ?? [])
                {
                    if (e is null) continue;
                    var row = new OutboxRow((string?)e["dedupKey"] ?? "", (string?)e["receiver"] ?? "", (string?)e["kind"] ?? "", (string?)e["state"] ?? "");
                    if (row.DedupKey.Length == 0 || (receivers.Count > 0 && !receivers.Contains(row.Receiver))) continue;
                    // Two nodes of a cluster share one store: the same entry seen twice counts once; delivered wins.
                    if (!entries.TryGetValue(row.DedupKey, out var seen) || (seen.State != "delivered" && row.State == "delivered")) entries[row.DedupKey] = row;
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException or System.Text.Json.JsonException or InvalidOperationException or TaskCanceledException)
            {
                last = e;
            }
        }
        if (answered == 0) throw new HttpRequestException($"no monitor node answered /api/v1/outbox: {last?.Message}", last);
        return entries;
    }

    private sealed record OutboxRow(string DedupKey, string Receiver, string Kind, string State);
}
