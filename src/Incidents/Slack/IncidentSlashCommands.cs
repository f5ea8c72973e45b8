using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ExchangeHealth.Incidents.Lifecycle;
using ExchangeHealth.Incidents.Model;
using ExchangeHealth.Incidents.Store;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ExchangeHealth.Incidents.Slack;

/// <summary>
/// An answer to a slash command in Slack's message format ("Responding to slash commands",
/// docs.slack.dev): <c>{"response_type": "in_channel"|"ephemeral", "text": ..., "blocks": [...]}</c>.
/// In-channel answers are seen by the whole channel; ephemeral ones only by the person who typed the command.
/// </summary>
/// <param name="InChannel">True for <c>in_channel</c>, false for <c>ephemeral</c>.</param>
/// <param name="Text">The mrkdwn text (also the notification fallback).</param>
/// <param name="Blocks">Block Kit blocks, or null.</param>
public sealed record SlackCommandResponse(bool InChannel, string Text, JsonArray? Blocks = null)
{
    /// <summary>The JSON body.</summary>
    public JsonObject ToJson()
    {
        var o = new JsonObject { ["response_type"] = InChannel ? "in_channel" : "ephemeral", ["text"] = Text };
        if (Blocks is not null) o["blocks"] = Blocks.DeepClone();
        return o;
    }

    /// <summary>An ephemeral answer with one section.</summary>
    public static SlackCommandResponse Ephemeral(string mrkdwn) => new(false, mrkdwn, [SlackText.Section(mrkdwn)]);

    /// <summary>An in-channel answer with one section.</summary>
    public static SlackCommandResponse Public(string mrkdwn) => new(true, mrkdwn, [SlackText.Section(mrkdwn)]);
}

/// <summary>
/// Runs <c>/incident</c> slash commands (grammar: <see cref="IncidentSlashParser"/>) against the
/// <see cref="IncidentService"/>.
/// </summary>
/// <remarks>
/// <para>
/// Which incident: the <c>#ID</c> given; else the open incident whose own Slack channel or page
/// channel is the command's channel (when exactly one is); else the incident whose own channel
/// this is, whatever its status (so <c>/incident close</c> works in a resolved incident's channel);
/// else the only open incident; else an ephemeral list of the open ones and how to say <c>#ID</c>.
/// </para>
/// <para>
/// The actor is <c>slack:{user_id} ({user_name})</c> with source <see cref="TimelineSources.Slack"/>.
/// Before a command that changes an incident runs, the command text is recorded verbatim on the
/// incident's timeline (kind <see cref="TimelineKinds.SlackCommand"/>), de-duplicated on Slack's
/// <c>trigger_id</c> (or a SHA-256 of user, text and request timestamp when absent): the same
/// invocation delivered twice runs once.
/// </para>
/// <para>
/// Answers: applied state changes (ack, mitigate, resolve, close, severity, commander) in the channel
/// ("SEV2 incident #42 acknowledged by &lt;@U123&gt;"); refusals (with the service's reason), notes,
/// follow-ups, status, list and help ephemeral. All person-typed text is escaped for Slack.
/// </para>
/// </remarks>
public sealed class IncidentSlashCommands
{
    /// <summary>Most incidents <c>list</c> and the ambiguity answer show.</summary>
    public const int MaxListed = 15;

    /// <summary>Timeline events <c>status</c> shows (the latest).</summary>
    public const int StatusTimelineEvents = 5;

    private readonly IncidentService _service;
    private readonly ILogger _log;

    /// <summary>Creates the handler.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="service"/> is null.</exception>
    public IncidentSlashCommands(IncidentService service, ILogger? log = null)
    {
        _service = service ?? throw new ArgumentNullException(nameof(service));
        _log = log ?? NullLogger.Instance;
    }

    /// <summary>The service commands go to.</summary>
    public IncidentService Service => _service;

    /// <summary>The actor of a slash command: <c>slack:{user_id} ({user_name})</c>, cut to <see cref="IncidentNames.MaxNameLength"/>.</summary>
    public static IncidentActor ActorOf(SlackSlashCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        string name = $"slack:{command.UserId} ({command.UserName})";
        return new IncidentActor(name.Length > IncidentNames.MaxNameLength ? name[..IncidentNames.MaxNameLength] : name, TimelineSources.Slack);
    }

    /// <summary>Runs a verified slash command and returns the answer for Slack.</summary>
    /// <param name="command">The parsed request.</param>
    /// <param name="requestTimestamp">The request's <c>X-Slack-Request-Timestamp</c> (for the de-duplication key when <c>trigger_id</c> is absent), or null.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The answer (never throws for a person's mistake; store failures propagate).</returns>
    public async Task<SlackCommandResponse> HandleAsync(SlackSlashCommand command, string? requestTimestamp, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (!IncidentSlashParser.TryParse(command.Text, out var request, out var error))
            return SlackCommandResponse.Ephemeral($"{SlackText.Escape(error.Message)}");

        if (request.Verb == IncidentSlashVerb.Help)
            return SlackCommandResponse.Ephemeral("*Incident commands*\n" + IncidentSlashParser.Usage);
        if (request.Verb == IncidentSlashVerb.List)
            return await ListAsync(cancellationToken).ConfigureAwait(false);

        Incident? incident;
        if (request.IncidentId is { } id)
        {
            incident = await _service.GetAsync(id, cancellationToken).ConfigureAwait(false);
            if (incident is null) return SlackCommandResponse.Ephemeral($"There is no incident #{id.ToString(CultureInfo.InvariantCulture)}. `/incident list` shows the open ones.");
        }
        else
        {
            var (found, answer) = await ResolveAsync(command, request, cancellationToken).ConfigureAwait(false);
            if (found is null) return answer!;
            incident = found;
        }

        if (request.Verb == IncidentSlashVerb.Status)
            return await StatusAsync(incident.Id, cancellationToken).ConfigureAwait(false);

        var actor = ActorOf(command);
        if (!await RecordCommandAsync(incident, command, actor, requestTimestamp, cancellationToken).ConfigureAwait(false))
            return SlackCommandResponse.Ephemeral("This command was already handled (Slack delivered it twice); nothing done again.");

        var result = await _service.ExecuteAsync(incident.Id, request.Command!, actor, cancellationToken).ConfigureAwait(false);
        return Answer(request, result, command, incident);
    }

    private SlackCommandResponse Answer(IncidentSlashRequest request, IncidentCommandResult result, SlackSlashCommand command, Incident before)
    {
        string n = "#" + before.Id.ToString(CultureInfo.InvariantCulture);
        string who = "<@" + command.UserId + ">";
        switch (result.Error)
        {
            case IncidentError.NotFound:
                return SlackCommandResponse.Ephemeral($"There is no incident {n}.");
            case IncidentError.Invalid:
                return SlackCommandResponse.Ephemeral($"Not done: {SlackText.Escape(result.Reason)}" + (result.Field is null ? "" : $" (`{SlackText.Escape(result.Field)}`)"));
            case IncidentError.IllegalTransition:
                _log.LogInformation("Slack /incident {Verb} on {Incident} refused: {Reason}", IncidentSlashParser.Name(request.Verb), n, result.Reason);
                return SlackCommandResponse.Ephemeral($"Not done: {SlackText.Escape(result.Reason)}.");
        }

        var after = result.Incident!;
        bool stored = after.Version != before.Version; // false for notes, follow-ups and no-ops (already SEV1, same commander)
        string sev = IncidentNames.Format(after.Severity);
        string title = SlackText.Escape(SlackText.Clip(after.Title, 200));
        string line = request.Command switch
        {
            IncidentCommand.Acknowledge => $"{sev} incident {n} acknowledged by {who}" + (after.Status == IncidentStatus.Mitigated ? " (it stays mitigated)" : ""),
            IncidentCommand.Mitigate => $"{sev} incident {n} mitigated by {who}",
            IncidentCommand.Resolve => $"{sev} incident {n} resolved by {who}",
            IncidentCommand.Close => $"{sev} incident {n} closed by {who}",
            IncidentCommand.SetSeverity when stored => $"{sev} incident {n}: severity changed from {IncidentNames.Format(before.Severity)} to {sev} by {who}",
            IncidentCommand.AssignCommander when stored => $"{sev} incident {n}: {SlackText.Person(after.Commander)} is now the incident commander (assigned by {who})",
            _ => "",
        };
        if (line.Length == 0) // notes, follow-ups, no-ops: only the person needs to know
            return SlackCommandResponse.Ephemeral(SlackText.Escape(Capitalize(result.Reason)) + ".");
        return new SlackCommandResponse(true, line, [SlackText.Section(line), SlackText.Context($"{title} · status *{IncidentNames.Format(after.Status)}*")]);
    }

    private async Task<(Incident? Incident, SlackCommandResponse? Answer)> ResolveAsync(SlackSlashCommand command, IncidentSlashRequest request, CancellationToken cancellationToken)
    {
        var inChannel = await _service.ListAsync(IncidentFilter.Open with { SlackChannel = command.ChannelId, Limit = MaxListed + 1 }, cancellationToken).ConfigureAwait(false);
        if (inChannel.Count == 1) return (inChannel[0], null);
        if (inChannel.Count > 1) return (null, Ambiguous(inChannel, request, "Several open incidents belong to this channel"));

        // The incident's own channel, whatever its status (close, notes and status after resolution).
        var own = await _service.ListAsync(new IncidentFilter { SlackChannel = command.ChannelId, Limit = 10 }, cancellationToken).ConfigureAwait(false);
        var ownChannel = own.Where(i => i.SlackChannel == command.ChannelId).ToList();
        if (ownChannel.Count == 1) return (ownChannel[0], null);

        var open = await _service.ListAsync(IncidentFilter.Open with { Limit = MaxListed + 1 }, cancellationToken).ConfigureAwait(false);
        if (open.Count == 1) return (open[0], null);
        if (open.Count == 0)
            return (null, SlackCommandResponse.Ephemeral("No incident is open. Name one with `#ID`, e.g. `/incident #42 " + IncidentSlashParser.Name(request.Verb) + "`."));
        return (null, Ambiguous(open, request, "Several incidents are open"));
    }

    private static SlackCommandResponse Ambiguous(IReadOnlyList<Incident> incidents, IncidentSlashRequest request, string why)
    {
        string verb = IncidentSlashParser.Name(request.Verb);
        long example = incidents[0].Id;
        var sb = new StringBuilder();
        sb.Append(why).Append("; say which one: `/incident #").Append(example.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(verb).Append("`\n");
        AppendList(sb, incidents);
        return SlackCommandResponse.Ephemeral(sb.ToString());
    }

    private async Task<SlackCommandResponse> ListAsync(CancellationToken cancellationToken)
    {
        var open = await _service.ListAsync(IncidentFilter.Open with { Limit = MaxListed + 1 }, cancellationToken).ConfigureAwait(false);
        if (open.Count == 0) return SlackCommandResponse.Ephemeral("No incident is open.");
        var sb = new StringBuilder();
        sb.Append(open.Count > MaxListed ? $"More than {MaxListed.ToString(CultureInfo.InvariantCulture)} incidents are open; the newest:" : "Open incidents:").Append('\n');
        AppendList(sb, open);
        return SlackCommandResponse.Ephemeral(sb.ToString());
    }

    private static void AppendList(StringBuilder sb, IReadOnlyList<Incident> incidents)
    {
        foreach (var i in incidents.Take(MaxListed))
        {
            sb.Append("• *#").Append(i.Id.ToString(CultureInfo.InvariantCulture)).Append("* ")
              .Append(IncidentNames.Format(i.Severity)).Append(' ').Append(IncidentNames.Format(i.Status))
              .Append(" — ").Append(SlackText.Escape(SlackText.Clip(i.Title, 120)));
            if (i.SlackChannel is not null) sb.Append(" <#").Append(i.SlackChannel).Append('>');
            sb.Append('\n');
        }
    }

    private async Task<SlackCommandResponse> StatusAsync(long id, CancellationToken cancellationToken)
    {
        var details = await _service.GetDetailsAsync(id, cancellationToken).ConfigureAwait(false);
        if (details is null) return SlackCommandResponse.Ephemeral($"There is no incident #{id.ToString(CultureInfo.InvariantCulture)}.");
        var i = details.Incident;
        string n = "#" + i.Id.ToString(CultureInfo.InvariantCulture);
        int firing = details.Alerts.Count(a => a.EndsAt is null);
        var lines = new StringBuilder();
        lines.Append("*Severity:* ").Append(IncidentNames.Format(i.Severity))
             .Append("   *Status:* ").Append(IncidentNames.Format(i.Status))
             .Append("   *Commander:* ").Append(SlackText.Person(i.Commander)).Append('\n');
        lines.Append("*Started:* ").Append(When(i.StartedAt))
             .Append("   *Detected:* ").Append(When(i.DetectedAt))
             .Append("   *Acknowledged:* ").Append(When(i.AcknowledgedAt));
        if (i.AcknowledgedBy is not null) lines.Append(" by ").Append(SlackText.Escape(i.AcknowledgedBy));
        lines.Append('\n');
        if (i.MitigatedAt is not null) lines.Append("*Mitigated:* ").Append(When(i.MitigatedAt)).Append("   ");
        if (i.ResolvedAt is not null) lines.Append("*Resolved:* ").Append(When(i.ResolvedAt)).Append("   ");
        lines.Append("*Alerts firing:* ").Append(firing.ToString(CultureInfo.InvariantCulture))
             .Append(" of ").Append(details.Alerts.Count.ToString(CultureInfo.InvariantCulture));
        if (i.SlackChannel is not null) lines.Append("   *Channel:* <#").Append(i.SlackChannel).Append('>');

        var recent = details.Timeline.TakeLast(StatusTimelineEvents).ToList();
        var timeline = new StringBuilder("*Last events*\n");
        if (recent.Count == 0) timeline.Append("(none)");
        foreach (var e in recent)
        {
            timeline.Append('`').Append(IncidentLifecycle.Time(e.At)).Append("` ").Append(SlackText.Escape(e.Kind))
                    .Append(" — ").Append(SlackText.Escape(SlackText.Clip(e.Text.ReplaceLineEndings(" "), 300))).Append('\n');
        }

        string header = $"Incident {n}: {SlackText.Clip(i.Title, 120)}";
        string text = $"{IncidentNames.Format(i.Severity)} incident {n} is {IncidentNames.Format(i.Status)}: {SlackText.Escape(SlackText.Clip(i.Title, 200))}";
        return new SlackCommandResponse(false, text,
        [
            SlackText.Header(header),
            SlackText.Section(lines.ToString()),
            SlackText.Section(timeline.ToString().TrimEnd('\n')),
        ]);
    }

    private async Task<bool> RecordCommandAsync(Incident incident, SlackSlashCommand command, IncidentActor actor, string? requestTimestamp, CancellationToken cancellationToken)
    {
        string dedup = command.TriggerId is { Length: > 0 } trigger
            ? "slack.command:" + trigger
            : "slack.command:sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(command.UserId + "\n" + command.Text + "\n" + (requestTimestamp ?? ""))));
        var e = new TimelineEvent
        {
            IncidentId = incident.Id,
            At = _service.Time.GetUtcNow(),
            Source = TimelineSources.Slack,
            Actor = actor.Name,
            Kind = TimelineKinds.SlackCommand,
            Text = command.Command + " " + command.Text,
            DedupKey = dedup.Length > 400 ? dedup[..400] : dedup,
            GroupKey = incident.GroupKey,
            Fields = new Dictionary<string, string>
            {
                ["user_id"] = command.UserId,
                ["user_name"] = command.UserName,
                ["channel_id"] = command.ChannelId,
                ["channel_name"] = command.ChannelName,
            },
        };
        return await _service.RecordAsync(e, cancellationToken).ConfigureAwait(false);
    }

    private static string When(DateTimeOffset? t) => t is { } v ? IncidentLifecycle.Time(v) : "—";

    private static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];
}
