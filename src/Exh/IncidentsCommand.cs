using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Command = System.CommandLine.Command;

namespace ExchangeHealth.Cli;

/// <summary>
/// <c>exh incidents list|show|timeline|declare|ack|mitigate|resolve|close|sev|commander|note|followup|report</c>:
/// a client of a running monitor's incidents API (<c>/api/v1/incidents</c>, docs/incident-api.md),
/// found through <c>DATA/monitor.json</c> and its token file as <c>exh silence</c> does. Actions are
/// recorded as <c>cli:NAME</c> (default <c>cli:$USER</c>), with source <c>cli</c> on the timeline.
/// Exit codes: 0 done; 2 bad input or refused by the monitor (400, 409, 413); 1 monitor not running
/// or unreachable, unknown incident (404), anything else.
/// </summary>
internal static class IncidentsCommand
{
    private const string CliPrefix = "cli:";

    public static Command Create()
    {
        var root = new Command("incidents",
            "Incidents of a running 'exh monitor': list and show them with their timeline, declare one, acknowledge, mitigate, " +
            "resolve and close it (illegal transitions are refused with the reason), change severity, assign the commander, add notes " +
            "and follow-ups, generate the post-incident report. Actions are recorded as cli:$USER unless --by says otherwise.\n\n" +
            "Examples:\n  exh incidents list\n  exh incidents ack 42\n  exh incidents note 42 failover to the standby matcher started\n  exh incidents timeline 42");

        var data = new Option<string>("--data") { Description = "The monitor's data directory (its monitor.json says where it listens and where the token is).", DefaultValueFactory = _ => MonitorCommand.DefaultDataDirectory };
        var json = new Option<bool>("--json") { Description = "Print the API's JSON answer as is instead of text." };
        var by = new Option<string>("--by") { Description = "Who is acting, recorded on the timeline as cli:NAME (default: cli:$USER).", DefaultValueFactory = _ => CliPrefix + Environment.UserName };
        var id = new Argument<long>("id") { Description = "The incident number (from 'exh incidents list')." };

        // list
        var status = new Option<string>("--status") { Description = "open (triggered, acknowledged, mitigated), all, or one or more of triggered, acknowledged, mitigated, resolved, closed (comma-separated).", DefaultValueFactory = _ => "open" };
        var limit = new Option<int>("--limit") { Description = "At most this many, newest first (1 to 1000).", DefaultValueFactory = _ => 100 };
        var list = Sub("list", "List incidents, newest first: number, severity, status, start (UTC), age, commander, title.",
            "exh incidents list\n  exh incidents list --status all --limit 20", data, json);
        list.Options.Add(status);
        list.Options.Add(limit);
        list.SetAction(async (parse, ct) =>
        {
            string path = $"api/v1/incidents?status={Uri.EscapeDataString(parse.GetValue(status)!)}&limit={parse.GetValue(limit).ToString(CultureInfo.InvariantCulture)}";
            return await MonitorCommand.CallAsync(parse.GetValue(data)!, HttpMethod.Get, path, null, Output(parse, json, PrintList), ct).ConfigureAwait(false);
        });

        // show, timeline
        var show = Sub("show", "Show an incident: its fields, alerts and follow-ups.", "exh incidents show 42", data, json, id);
        show.SetAction(async (parse, ct) => !TryId(parse, id, out long n) ? 2
            : await MonitorCommand.CallAsync(parse.GetValue(data)!, HttpMethod.Get, $"api/v1/incidents/{N(n)}", null, Output(parse, json, PrintShow), ct).ConfigureAwait(false));
        var timeline = Sub("timeline", "Show an incident's timeline: time (UTC, ms), source, actor, kind, text; its own events and the alerts, notifications and engine events around it.",
            "exh incidents timeline 42", data, json, id);
        timeline.SetAction(async (parse, ct) => !TryId(parse, id, out long n) ? 2
            : await MonitorCommand.CallAsync(parse.GetValue(data)!, HttpMethod.Get, $"api/v1/incidents/{N(n)}/timeline", null, Output(parse, json, PrintTimeline), ct).ConfigureAwait(false));

        // declare
        var title = new Option<string>("--title") { Description = "One line, at most 200 characters.", Required = true };
        var severity = new Option<string>("--severity") { Description = "SEV1 (trading stopped) to SEV4 (no customer impact); 1 to 4 also work.", Required = true };
        var market = new Option<string[]>("--market") { Description = "An affected market (repeat for several).", AllowMultipleArgumentsPerToken = true };
        var commanderOption = new Option<string?>("--commander") { Description = "Incident commander." };
        var declare = Sub("declare", "Declare an incident by hand (status triggered, started now).",
            "exh incidents declare --title 'BTC-USD order acks slow' --severity SEV2 --market BTC-USD --commander alice", data, json);
        foreach (Option o in new Option[] { title, severity, market, commanderOption, by }) declare.Options.Add(o);
        declare.SetAction(async (parse, ct) =>
        {
            var body = new Dictionary<string, object?>
            {
                ["title"] = parse.GetValue(title),
                ["severity"] = parse.GetValue(severity),
                ["markets"] = parse.GetValue(market) ?? [],
                ["by"] = Actor(parse.GetValue(by)),
            };
            if (parse.GetValue(commanderOption) is { } c) body["commander"] = c;
            return await MonitorCommand.CallAsync(parse.GetValue(data)!, HttpMethod.Post, "api/v1/incidents", body, Output(parse, json, e =>
            {
                var i = e.GetProperty("incident");
                Console.Out.WriteLine($"incident #{N(i.GetProperty("id").GetInt64())} declared: {Clean(Str(i, "title"))} ({Str(i, "severity")}, {Str(i, "status")})");
            }), ct).ConfigureAwait(false);
        });

        // transitions
        var ack = Transition("ack", "acknowledge", "Acknowledge an incident (triggered → acknowledged; on a mitigated one it records who).", data, json, by, id);
        var mitigate = Transition("mitigate", "mitigate", "Mark an incident mitigated: the impact stopped (triggered or acknowledged → mitigated).", data, json, by, id);
        var resolve = Transition("resolve", "resolve", "Resolve an incident: the cause is dealt with (→ resolved; the report is generated).", data, json, by, id);
        var close = Transition("close", "close", "Close a resolved incident after its review (resolved → closed).", data, json, by, id);

        // sev, commander, note, followup
        var level = new Argument<string>("severity") { Description = "SEV1 to SEV4 (or 1 to 4)." };
        var sev = Sub("sev", "Change an incident's severity.", "exh incidents sev 42 SEV1", data, json, id);
        sev.Arguments.Add(level);
        sev.Options.Add(by);
        sev.SetAction(async (parse, ct) => !TryId(parse, id, out long n) ? 2
            : await Post(parse, data, json, $"api/v1/incidents/{N(n)}/severity", new Dictionary<string, object?> { ["severity"] = parse.GetValue(level), ["by"] = Actor(parse.GetValue(by)) }, ct).ConfigureAwait(false));

        var name = new Argument<string>("name") { Description = "The commander: a name or a Slack mention such as <@U0123>." };
        var commander = Sub("commander", "Assign the incident commander.", "exh incidents commander 42 alice", data, json, id);
        commander.Arguments.Add(name);
        commander.Options.Add(by);
        commander.SetAction(async (parse, ct) => !TryId(parse, id, out long n) ? 2
            : await Post(parse, data, json, $"api/v1/incidents/{N(n)}/commander", new Dictionary<string, object?> { ["commander"] = parse.GetValue(name), ["by"] = Actor(parse.GetValue(by)) }, ct).ConfigureAwait(false));

        var text = new Argument<string[]>("text") { Description = "The text (the words are joined with spaces; at most 4000 characters).", Arity = ArgumentArity.OneOrMore };
        var note = Sub("note", "Add a note to an incident's timeline.", "exh incidents note 42 restarted matcher-2, acks recovering", data, json, id);
        note.Arguments.Add(text);
        note.Options.Add(by);
        note.SetAction(async (parse, ct) => !TryId(parse, id, out long n) ? 2
            : await Post(parse, data, json, $"api/v1/incidents/{N(n)}/notes", new Dictionary<string, object?> { ["text"] = string.Join(' ', parse.GetValue(text)!), ["by"] = Actor(parse.GetValue(by)) }, ct).ConfigureAwait(false));

        var owner = new Option<string?>("--owner") { Description = "Who owns the follow-up." };
        var followup = Sub("followup", "Add a follow-up action to an incident.", "exh incidents followup 42 alert on journal fsync latency --owner bob", data, json, id);
        followup.Arguments.Add(text);
        followup.Options.Add(owner);
        followup.Options.Add(by);
        followup.SetAction(async (parse, ct) =>
        {
            if (!TryId(parse, id, out long n)) return 2;
            var body = new Dictionary<string, object?> { ["text"] = string.Join(' ', parse.GetValue(text)!), ["by"] = Actor(parse.GetValue(by)) };
            if (parse.GetValue(owner) is { } o) body["owner"] = o;
            return await Post(parse, data, json, $"api/v1/incidents/{N(n)}/follow-ups", body, ct).ConfigureAwait(false);
        });

        // report
        var report = Sub("report", "Generate an incident's post-incident report now (Markdown and HTML) and print where the files are.", "exh incidents report 42", data, json, id);
        report.SetAction(async (parse, ct) => !TryId(parse, id, out long n) ? 2
            : await MonitorCommand.CallAsync(parse.GetValue(data)!, HttpMethod.Post, $"api/v1/incidents/{N(n)}/report", null, Output(parse, json, e =>
            {
                Console.Out.WriteLine($"markdown  {Str(e, "markdown")}");
                Console.Out.WriteLine($"html      {Str(e, "html")}");
            }), ct, TimeSpan.FromMinutes(2)).ConfigureAwait(false));

        foreach (var c in new[] { list, show, timeline, declare, ack, mitigate, resolve, close, sev, commander, note, followup, report }) root.Subcommands.Add(c);
        return root;
    }

    private static Command Sub(string name, string description, string example, Option<string> data, Option<bool> json, Argument<long>? id = null)
    {
        var command = new Command(name, $"{description}\n\nExample:\n  {example}");
        if (id is not null) command.Arguments.Add(id);
        command.Options.Add(data);
        command.Options.Add(json);
        return command;
    }

    private static Command Transition(string name, string path, string description, Option<string> data, Option<bool> json, Option<string> by, Argument<long> id)
    {
        var command = Sub(name, description, $"exh incidents {name} 42", data, json, id);
        command.Options.Add(by);
        command.SetAction(async (parse, ct) => !TryId(parse, id, out long n) ? 2
            : await Post(parse, data, json, $"api/v1/incidents/{N(n)}/{path}", new Dictionary<string, object?> { ["by"] = Actor(parse.GetValue(by)) }, ct).ConfigureAwait(false));
        return command;
    }

    private static Task<int> Post(ParseResult parse, Option<string> data, Option<bool> json, string path, object body, CancellationToken ct) =>
        MonitorCommand.CallAsync(parse.GetValue(data)!, HttpMethod.Post, path, body, Output(parse, json, e =>
        {
            string line = Str(e, "message");
            if (e.TryGetProperty("followUp", out var f) && f.ValueKind == JsonValueKind.Object) line += $" (follow-up #{N(f.GetProperty("id").GetInt64())})";
            Console.Out.WriteLine(Clean(line));
        }), ct);

    private static Action<JsonElement> Output(ParseResult parse, Option<bool> json, Action<JsonElement> print) =>
        parse.GetValue(json) ? e => Console.Out.WriteLine(e.GetRawText()) : print;

    private static bool TryId(ParseResult parse, Argument<long> id, out long value)
    {
        value = parse.GetValue(id);
        if (value > 0) return true;
        Cli.Fail($"the incident id must be a positive integer (got {N(value)})");
        return false;
    }

    /// <summary>The actor recorded: <c>cli:NAME</c>; a name given without the prefix gets it (the action does come from the CLI).</summary>
    internal static string Actor(string? by) =>
        string.IsNullOrWhiteSpace(by) ? CliPrefix + Environment.UserName : by.StartsWith(CliPrefix, StringComparison.Ordinal) ? by : CliPrefix + by;

    private static void PrintList(JsonElement e)
    {
        var rows = e.GetProperty("incidents").EnumerateArray().Select(i => new[]
        {
            N(i.GetProperty("id").GetInt64()),
            Str(i, "severity"),
            Str(i, "status"),
            Time(i.GetProperty("startedAt"), withMs: false),
            Age(i.GetProperty("ageSeconds").GetDouble()),
            Shorten(Str(i, "commander", "-"), 24),
            Str(i, "title"),
        }).ToList();
        if (rows.Count == 0)
        {
            string statuses = string.Join(", ", e.GetProperty("statuses").EnumerateArray().Select(s => s.GetString()));
            Console.Out.WriteLine($"no incidents ({(statuses.Length > 0 ? statuses : "any status")})");
            return;
        }
        TextTable.Write(Console.Out, ["ID", "SEV", "STATUS", "STARTED (UTC)", "AGE", "COMMANDER", "TITLE"], rows);
    }

    private static void PrintShow(JsonElement e)
    {
        var i = e.GetProperty("incident");
        var w = Console.Out;
        long id = i.GetProperty("id").GetInt64();
        w.WriteLine($"Incident #{N(id)}  {Str(i, "severity")}  {Str(i, "status")}");
        var fields = new List<string[]>
        {
            new[] { "Title", Str(i, "title") },
            new[] { "Commander", Str(i, "commander", "-") },
            new[] { "Markets", Join(i.GetProperty("markets")) },
            new[] { "Services", Join(i.GetProperty("services")) },
            new[] { "Started", $"{Time(i.GetProperty("startedAt"), withMs: false)} (age {Age(i.GetProperty("ageSeconds").GetDouble())})" },
            new[] { "Detected", Time(i.GetProperty("detectedAt"), withMs: false) },
            new[] { "Acknowledged", Time(i.GetProperty("acknowledgedAt"), withMs: false) + (Str(i, "acknowledgedBy", "") is { Length: > 0 } who ? " by " + who : "") },
            new[] { "Mitigated", Time(i.GetProperty("mitigatedAt"), withMs: false) },
            new[] { "Resolved", Time(i.GetProperty("resolvedAt"), withMs: false) },
            new[] { "Closed", Time(i.GetProperty("closedAt"), withMs: false) },
        };
        if (Str(i, "groupKey", "") is { Length: > 0 } group) fields.Add(["Alert group", group]);
        if (Str(i, "slackChannelName", "") is { Length: > 0 } channel) fields.Add(["Slack", "#" + channel]);
        fields.Add(["Timeline", $"{N(e.GetProperty("timelineCount").GetInt32())} events (exh incidents timeline {N(id)})"]);
        foreach (var f in fields) w.WriteLine($"  {(f[0] + ":").PadRight(14)}{Clean(f[1])}");

        var alerts = e.GetProperty("alerts").EnumerateArray().ToList();
        w.WriteLine();
        w.WriteLine($"Alerts ({N(alerts.Count)})");
        if (alerts.Count > 0)
        {
            TextTable.Write(w, ["ALERT", "STATUS", "STARTED (UTC)", "ENDED (UTC)", "LABELS"], alerts.Select(a => new[]
            {
                Str(a, "alertName"), Str(a, "status"), Time(a.GetProperty("startsAt"), withMs: false), Time(a.GetProperty("endsAt"), withMs: false),
                string.Join(", ", a.GetProperty("labels").EnumerateObject().Where(l => l.Name != "alertname").Select(l => $"{l.Name}={l.Value.GetString()}")),
            }), "  ");
        }
        var followUps = e.GetProperty("followUps").EnumerateArray().ToList();
        w.WriteLine();
        w.WriteLine($"Follow-ups ({N(followUps.Count)})");
        if (followUps.Count > 0)
        {
            TextTable.Write(w, ["ID", "DONE", "OWNER", "TEXT"], followUps.Select(f => new[]
            {
                N(f.GetProperty("id").GetInt64()), f.GetProperty("done").GetBoolean() ? "yes" : "no", Str(f, "owner", "-"), Str(f, "text"),
            }), "  ");
        }
    }

    private static void PrintTimeline(JsonElement e)
    {
        var events = e.GetProperty("events").EnumerateArray().ToList();
        if (events.Count == 0)
        {
            Console.Out.WriteLine("no events");
            return;
        }
        TextTable.Write(Console.Out, ["TIME (UTC)", "SOURCE", "ACTOR", "KIND", "TEXT"], events.Select(ev => new[]
        {
            Time(ev.GetProperty("at"), withMs: true), Str(ev, "source"), Shorten(Str(ev, "actor"), 32), Str(ev, "kind"), Str(ev, "text"),
        }));
    }

    private static string Str(JsonElement e, string name, string absent = "") =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : absent;

    private static string Join(JsonElement array) =>
        array.GetArrayLength() == 0 ? "-" : string.Join(", ", array.EnumerateArray().Select(x => x.GetString()));

    private static string Time(JsonElement e, bool withMs) =>
        e.ValueKind != JsonValueKind.String ? "-"
        : e.GetDateTimeOffset().UtcDateTime.ToString(withMs ? "yyyy-MM-dd HH:mm:ss.fff'Z'" : "yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary><c>45s</c>, <c>12m05s</c>, <c>3h07m</c>, <c>2d04h</c>.</summary>
    internal static string Age(double seconds)
    {
        var t = TimeSpan.FromSeconds(Math.Max(0, Math.Floor(seconds)));
        return t.TotalMinutes < 1 ? $"{t.Seconds}s"
            : t.TotalHours < 1 ? $"{t.Minutes}m{t.Seconds:00}s"
            : t.TotalDays < 1 ? $"{t.Hours}h{t.Minutes:00}m"
            : $"{(int)t.TotalDays}d{t.Hours:00}h";
    }

    private static string N(long n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Shorten(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    /// <summary>One line: control characters (a title from an alert annotation may hold a line break) become spaces.</summary>
    private static string Clean(string s) => s.Any(char.IsControl) ? new string([.. s.Select(c => char.IsControl(c) ? ' ' : c)]) : s;
}

/// <summary>Aligned plain-text tables: every column padded to its widest cell but the last, whose extra lines are indented under it.</summary>
internal static class TextTable
{
    public static void Write(TextWriter w, string[] headers, IEnumerable<string[]> rows, string indent = "")
    {
        var all = rows.Select(r => r.Select((c, i) => i < r.Length - 1 ? OneLine(c) : c.Replace("\r\n", "\n", StringComparison.Ordinal)).ToArray()).ToList();
        int columns = headers.Length;
        var widths = new int[columns];
        for (int c = 0; c < columns - 1; c++) widths[c] = Math.Max(headers[c].Length, all.Count == 0 ? 0 : all.Max(r => r[c].Length));
        int lastOffset = indent.Length + widths.Take(columns - 1).Sum() + 2 * (columns - 1);
        w.WriteLine(Line(headers));
        foreach (var row in all)
        {
            var lines = row[columns - 1].Split('\n');
            w.WriteLine(Line([.. row[..(columns - 1)], OneLine(lines[0])]));
            foreach (string more in lines.Skip(1)) w.WriteLine(new string(' ', lastOffset) + OneLine(more));
        }

        string Line(string[] cells)
        {
            var sb = new StringBuilder(indent);
            for (int c = 0; c < columns; c++)
            {
                if (c < columns - 1) sb.Append(cells[c].PadRight(widths[c])).Append("  ");
                else sb.Append(cells[c]);
            }
            return sb.ToString().TrimEnd();
        }
    }

    private static string OneLine(string s) => s.Any(char.IsControl) ? new string([.. s.Select(c => char.IsControl(c) ? ' ' : c)]) : s;
}
