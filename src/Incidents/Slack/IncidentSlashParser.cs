using System.Globalization;
using ExchangeHealth.Incidents.Lifecycle;
using ExchangeHealth.Incidents.Model;

namespace ExchangeHealth.Incidents.Slack;

/// <summary>The verbs of <c>/incident</c>.</summary>
public enum IncidentSlashVerb
{
    /// <summary><c>help</c> (also an empty command): the usage.</summary>
    Help,

    /// <summary><c>list</c>: the open incidents.</summary>
    List,

    /// <summary><c>status</c> (also <c>/incident #42</c> alone): one incident's state and recent timeline.</summary>
    Status,

    /// <summary><c>ack</c> (<c>acknowledge</c>).</summary>
    Ack,

    /// <summary><c>mitigate</c>.</summary>
    Mitigate,

    /// <summary><c>resolve</c>.</summary>
    Resolve,

    /// <summary><c>close</c>.</summary>
    Close,

    /// <summary><c>sev N</c> (<c>severity</c>): 1-4 or SEV1-SEV4.</summary>
    Severity,

    /// <summary><c>commander NAME</c> (<c>ic</c>): a name or a mention <c>&lt;@U123&gt;</c>.</summary>
    Commander,

    /// <summary><c>note TEXT</c>.</summary>
    Note,

    /// <summary><c>followup TEXT</c> (<c>follow-up</c>).</summary>
    FollowUp,
}

/// <summary>A parsed <c>/incident</c> text.</summary>
/// <param name="Verb">The verb.</param>
/// <param name="IncidentId">The incident named with <c>#ID</c>, or null (then it is found from the channel or the single open incident).</param>
/// <param name="Command">What to apply, for the verbs that change an incident; null for help, list and status.</param>
public sealed record IncidentSlashRequest(IncidentSlashVerb Verb, long? IncidentId, IncidentCommand? Command)
{
    /// <summary>True for help and list (no incident involved).</summary>
    public bool IsGlobal => Verb is IncidentSlashVerb.Help or IncidentSlashVerb.List;
}

/// <summary>Why an <c>/incident</c> text could not be parsed.</summary>
/// <param name="Field">What is wrong: <c>verb</c>, <c>id</c>, <c>level</c>, <c>name</c>, <c>text</c>, <c>arguments</c>.</param>
/// <param name="Message">A sentence for the person, with the usage of the verb.</param>
public sealed record IncidentSlashError(string Field, string Message);

/// <summary>
/// The grammar of <c>/incident</c>: <c>/incident [#ID] VERB [#ID] [ARGS]</c> with the verbs
/// <c>ack</c>, <c>mitigate</c>, <c>resolve</c>, <c>close</c>, <c>sev N</c>, <c>commander NAME</c>
/// (<c>ic</c>), <c>note TEXT</c>, <c>followup TEXT</c>, <c>status</c>, <c>list</c>, <c>help</c>.
/// Verbs are case-insensitive. The incident number is a token <c>#42</c> before the verb or right
/// after it (not both); after a text verb only <c>#</c> followed by digits counts, so
/// <c>note #general is down</c> keeps <c>#general</c> in the note. Note and follow-up text is kept
/// verbatim (everything after the verb, or after the <c>#ID</c>, and the whitespace that separates it).
/// </summary>
public static class IncidentSlashParser
{
    /// <summary>One line per verb, for help and error messages.</summary>
    public const string Usage =
        "`/incident ack` · `/incident mitigate` · `/incident resolve` · `/incident close` · `/incident sev 1` (1-4) · " +
        "`/incident commander @name` (or `ic`) · `/incident note TEXT` · `/incident followup TEXT` · `/incident status` · " +
        "`/incident list` · `/incident help`. Name the incident with `#ID` (`/incident #42 ack`) unless you are in its channel " +
        "or only one is open.";

    /// <summary>Parses the text after the command (Slack's <c>text</c> field).</summary>
    /// <param name="text">The text, e.g. <c>#42 sev 1</c>.</param>
    /// <param name="request">The request, when parsed.</param>
    /// <param name="error">Why not, otherwise.</param>
    /// <returns>True when parsed.</returns>
    public static bool TryParse(string? text, out IncidentSlashRequest request, out IncidentSlashError error)
    {
        request = null!;
        error = null!;
        string s = text ?? "";
        int pos = 0;
        long? id = null;

        string first = NextToken(s, ref pos);
        string verbToken = first;
        if (first.StartsWith('#'))
        {
            if (!TryParseId(first, out long before))
            {
                error = new IncidentSlashError("id", $"`{Clip(first)}` is not an incident number (write `#42`). {Usage}");
                return false;
            }
            id = before;
            verbToken = NextToken(s, ref pos);
        }

        if (verbToken.Length == 0)
        {
            request = new IncidentSlashRequest(id is null ? IncidentSlashVerb.Help : IncidentSlashVerb.Status, id, null);
            return true;
        }
        if (!TryVerb(verbToken, out var verb))
        {
            error = new IncidentSlashError("verb", $"unknown command `{Clip(verbToken)}`. {Usage}");
            return false;
        }

        bool textVerb = verb is IncidentSlashVerb.Note or IncidentSlashVerb.FollowUp;
        int peek = pos;
        string next = NextToken(s, ref peek);
        if (id is null && next.StartsWith('#'))
        {
            if (TryParseId(next, out long after))
            {
                id = after;
                pos = peek;
            }
            else if (!textVerb)
            {
                error = new IncidentSlashError("id", $"`{Clip(next)}` is not an incident number (write `#42`). {Usage}");
                return false;
            }
        }
        else if (id is not null && !textVerb && next.StartsWith('#') && TryParseId(next, out _))
        {
            error = new IncidentSlashError("id", "name the incident once: `/incident #42 ack` or `/incident ack #42`");
            return false;
        }
        string rest = SkipWhitespace(s, pos);

        switch (verb)
        {
            case IncidentSlashVerb.Help:
            case IncidentSlashVerb.List:
                request = new IncidentSlashRequest(verb, id, null);
                return true;
            case IncidentSlashVerb.Status:
            case IncidentSlashVerb.Ack:
            case IncidentSlashVerb.Mitigate:
            case IncidentSlashVerb.Resolve:
            case IncidentSlashVerb.Close:
                if (rest.Trim().Length > 0)
                {
                    error = new IncidentSlashError("arguments", $"`{Name(verb)}` takes no argument (got `{Clip(rest.Trim())}`); write `/incident {Name(verb)}` or `/incident #42 {Name(verb)}`");
                    return false;
                }
                IncidentCommand? command = verb switch
                {
                    IncidentSlashVerb.Ack => new IncidentCommand.Acknowledge(),
                    IncidentSlashVerb.Mitigate => new IncidentCommand.Mitigate(),
                    IncidentSlashVerb.Resolve => new IncidentCommand.Resolve(),
                    IncidentSlashVerb.Close => new IncidentCommand.Close(),
                    _ => null,
                };
                request = new IncidentSlashRequest(verb, id, command);
                return true;
            case IncidentSlashVerb.Severity:
                string level = rest.Trim();
                if (level.Length == 0 || !IncidentNames.TryParseSeverity(level, out var severity))
                {
                    error = new IncidentSlashError("level", level.Length == 0
                        ? "`sev` needs a level: `/incident sev 1` (1 = most severe, to 4) or `/incident sev SEV2`"
                        : $"`{Clip(level)}` is not a severity: use 1, 2, 3, 4 or SEV1 to SEV4");
                    return false;
                }
                request = new IncidentSlashRequest(verb, id, new IncidentCommand.SetSeverity(severity));
                return true;
            case IncidentSlashVerb.Commander:
                string name = SlackText.NormalizeMention(rest);
                if (name.Length == 0)
                {
                    error = new IncidentSlashError("name", "`commander` needs a person: `/incident commander @alice` or a name");
                    return false;
                }
                if (name.Length > IncidentNames.MaxNameLength)
                {
                    error = new IncidentSlashError("name", $"the commander's name is at most {IncidentNames.MaxNameLength.ToString(CultureInfo.InvariantCulture)} characters");
                    return false;
                }
                request = new IncidentSlashRequest(verb, id, new IncidentCommand.AssignCommander(name));
                return true;
            case IncidentSlashVerb.Note:
            case IncidentSlashVerb.FollowUp:
                if (rest.Trim().Length == 0)
                {
                    error = new IncidentSlashError("text", $"`{Name(verb)}` needs text: `/incident {Name(verb)} restarted the gateway`");
                    return false;
                }
                if (rest.Length > IncidentNames.MaxNoteLength)
                {
                    error = new IncidentSlashError("text", $"the text is at most {IncidentNames.MaxNoteLength.ToString(CultureInfo.InvariantCulture)} characters (got {rest.Length.ToString(CultureInfo.InvariantCulture)})");
                    return false;
                }
                request = new IncidentSlashRequest(verb, id, verb == IncidentSlashVerb.Note ? new IncidentCommand.AddNote(rest) : new IncidentCommand.AddFollowUp(rest, null));
                return true;
            default:
                error = new IncidentSlashError("verb", Usage);
                return false;
        }
    }

    /// <summary>The canonical spelling of a verb (<c>ack</c>, <c>sev</c>, <c>followup</c>, ...).</summary>
    public static string Name(IncidentSlashVerb verb) => verb switch
    {
        IncidentSlashVerb.Help => "help",
        IncidentSlashVerb.List => "list",
        IncidentSlashVerb.Status => "status",
        IncidentSlashVerb.Ack => "ack",
        IncidentSlashVerb.Mitigate => "mitigate",
        IncidentSlashVerb.Resolve => "resolve",
        IncidentSlashVerb.Close => "close",
        IncidentSlashVerb.Severity => "sev",
        IncidentSlashVerb.Commander => "commander",
        IncidentSlashVerb.Note => "note",
        IncidentSlashVerb.FollowUp => "followup",
        _ => throw new ArgumentOutOfRangeException(nameof(verb)),
    };

    private static bool TryVerb(string token, out IncidentSlashVerb verb)
    {
        switch (token.ToLowerInvariant())
        {
            case "help": verb = IncidentSlashVerb.Help; return true;
            case "list": verb = IncidentSlashVerb.List; return true;
            case "status": verb = IncidentSlashVerb.Status; return true;
            case "ack": case "acknowledge": verb = IncidentSlashVerb.Ack; return true;
            case "mitigate": verb = IncidentSlashVerb.Mitigate; return true;
            case "resolve": verb = IncidentSlashVerb.Resolve; return true;
            case "close": verb = IncidentSlashVerb.Close; return true;
            case "sev": case "severity": verb = IncidentSlashVerb.Severity; return true;
            case "commander": case "ic": verb = IncidentSlashVerb.Commander; return true;
            case "note": verb = IncidentSlashVerb.Note; return true;
            case "followup": case "follow-up": verb = IncidentSlashVerb.FollowUp; return true;
            default: verb = default; return false;
        }
    }

    /// <summary><c>#</c> and 1 to 18 digits, value 1 or more.</summary>
    private static bool TryParseId(string token, out long id)
    {
        id = 0;
        return token.Length is >= 2 and <= 19 && token[0] == '#'
            && token.AsSpan(1).IndexOfAnyExceptInRange('0', '9') < 0
            && long.TryParse(token.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out id) && id >= 1;
    }

    /// <summary>Skips whitespace, then returns the token up to the next whitespace ("" at the end).</summary>
    private static string NextToken(string s, ref int pos)
    {
        while (pos < s.Length && char.IsWhiteSpace(s[pos])) pos++;
        int start = pos;
        while (pos < s.Length && !char.IsWhiteSpace(s[pos])) pos++;
        return s[start..pos];
    }

    /// <summary>The rest after the whitespace that separates it from the previous token.</summary>
    private static string SkipWhitespace(string s, int pos)
    {
        while (pos < s.Length && char.IsWhiteSpace(s[pos])) pos++;
        return s[pos..];
    }

    private static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
