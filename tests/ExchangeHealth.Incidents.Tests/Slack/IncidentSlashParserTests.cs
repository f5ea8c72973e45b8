using ExchangeHealth.Incidents.Lifecycle;
using ExchangeHealth.Incidents.Model;
using ExchangeHealth.Incidents.Slack;

namespace ExchangeHealth.Incidents.Tests.Slack;

public sealed class IncidentSlashParserTests
{
    private static IncidentSlashRequest Ok(string text)
    {
        Assert.True(IncidentSlashParser.TryParse(text, out var request, out var error), error?.Message);
        return request;
    }

    private static IncidentSlashError Fails(string text)
    {
        Assert.False(IncidentSlashParser.TryParse(text, out _, out var error), $"'{text}' parsed");
        return error;
    }

    [Theory]
    [InlineData("ack", IncidentSlashVerb.Ack)]
    [InlineData("ACK", IncidentSlashVerb.Ack)]
    [InlineData("acknowledge", IncidentSlashVerb.Ack)]
    [InlineData("mitigate", IncidentSlashVerb.Mitigate)]
    [InlineData("resolve", IncidentSlashVerb.Resolve)]
    [InlineData("close", IncidentSlashVerb.Close)]
    [InlineData("status", IncidentSlashVerb.Status)]
    [InlineData("list", IncidentSlashVerb.List)]
    [InlineData("help", IncidentSlashVerb.Help)]
    [InlineData("", IncidentSlashVerb.Help)]
    [InlineData("   ", IncidentSlashVerb.Help)]
    public void Verbs_without_arguments_parse_case_insensitively(string text, IncidentSlashVerb verb)
    {
        var r = Ok(text);
        Assert.Equal(verb, r.Verb);
        Assert.Null(r.IncidentId);
        Assert.Equal(verb switch
        {
            IncidentSlashVerb.Ack => typeof(IncidentCommand.Acknowledge),
            IncidentSlashVerb.Mitigate => typeof(IncidentCommand.Mitigate),
            IncidentSlashVerb.Resolve => typeof(IncidentCommand.Resolve),
            IncidentSlashVerb.Close => typeof(IncidentCommand.Close),
            _ => null,
        }, r.Command?.GetType());
    }

    [Theory]
    [InlineData("#42 ack")]
    [InlineData("ack #42")]
    [InlineData("  #42   ack  ")]
    [InlineData("Ack\t#42")]
    public void The_incident_number_goes_before_or_right_after_the_verb(string text)
    {
        var r = Ok(text);
        Assert.Equal(IncidentSlashVerb.Ack, r.Verb);
        Assert.Equal(42, r.IncidentId);
    }

    [Fact]
    public void A_number_alone_asks_for_the_status()
    {
        var r = Ok("#7");
        Assert.Equal(IncidentSlashVerb.Status, r.Verb);
        Assert.Equal(7, r.IncidentId);
    }

    [Theory]
    [InlineData("sev 1", IncidentSeverity.Sev1, null)]
    [InlineData("sev SEV3", IncidentSeverity.Sev3, null)]
    [InlineData("severity sev4", IncidentSeverity.Sev4, null)]
    [InlineData("#12 sev 2", IncidentSeverity.Sev2, 12L)]
    [InlineData("sev #12 2", IncidentSeverity.Sev2, 12L)]
    public void Severity_takes_1_to_4_or_SEV1_to_SEV4(string text, IncidentSeverity severity, long? id)
    {
        var r = Ok(text);
        Assert.Equal(IncidentSlashVerb.Severity, r.Verb);
        Assert.Equal(new IncidentCommand.SetSeverity(severity), r.Command);
        Assert.Equal(id, r.IncidentId);
    }

    [Theory]
    [InlineData("sev", "level")]
    [InlineData("sev 5", "level")]
    [InlineData("sev 0", "level")]
    [InlineData("sev high", "level")]
    [InlineData("sev 1 2", "level")]
    [InlineData("commander", "name")]
    [InlineData("ic   ", "name")]
    [InlineData("note", "text")]
    [InlineData("note    ", "text")]
    [InlineData("followup", "text")]
    [InlineData("ack now please", "arguments")]
    [InlineData("status everything", "arguments")]
    [InlineData("frobnicate", "verb")]
    [InlineData("#abc ack", "id")]
    [InlineData("#0 ack", "id")]
    [InlineData("ack #x1", "id")]
    [InlineData("#1 ack #2", "id")]
    [InlineData("#99999999999999999999 ack", "id")]
    public void Mistakes_are_refused_naming_what_is_wrong(string text, string field)
    {
        var e = Fails(text);
        Assert.Equal(field, e.Field);
        Assert.False(string.IsNullOrWhiteSpace(e.Message));
    }

    [Fact]
    public void Unknown_verbs_answer_with_the_usage()
    {
        var e = Fails("reboot the world");
        Assert.Contains("reboot", e.Message, StringComparison.Ordinal);
        Assert.Contains("/incident ack", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("commander alice", "alice")]
    [InlineData("ic <@U0123ABC>", "<@U0123ABC>")]
    [InlineData("commander <@U0123ABC|bob>", "<@U0123ABC>")]
    [InlineData("ic   Jane Doe  ", "Jane Doe")]
    public void Commander_takes_a_name_or_a_mention(string text, string commander)
    {
        var r = Ok(text);
        Assert.Equal(IncidentSlashVerb.Commander, r.Verb);
        Assert.Equal(new IncidentCommand.AssignCommander(commander), r.Command);
    }

    [Theory]
    [InlineData("'; DROP TABLE incidents; --")]
    [InlineData("<script>alert(1)</script> & <!channel>")]
    [InlineData("restarted gw-2\nthen drained BTC-USD\n  indented line  ")]
    [InlineData("#general is where we talk, ack later")]
    [InlineData("ack")]
    [InlineData("%41 + &amp; \u00e9\u00e8 \ud83d\udd25")]
    public void Note_text_is_kept_verbatim(string text)
    {
        var r = Ok("note " + text);
        Assert.Equal(IncidentSlashVerb.Note, r.Verb);
        Assert.Null(r.IncidentId);
        Assert.Equal(new IncidentCommand.AddNote(text), r.Command);

        var f = Ok("#5 followup " + text);
        Assert.Equal(5, f.IncidentId);
        Assert.Equal(new IncidentCommand.AddFollowUp(text, null), f.Command);
    }

    [Fact]
    public void A_number_right_after_note_names_the_incident_and_one_before_the_verb_leaves_the_text_alone()
    {
        var r = Ok("note #42 gateway restarted");
        Assert.Equal(42, r.IncidentId);
        Assert.Equal(new IncidentCommand.AddNote("gateway restarted"), r.Command);

        var before = Ok("#42 note #3 was the culprit");
        Assert.Equal(42, before.IncidentId);
        Assert.Equal(new IncidentCommand.AddNote("#3 was the culprit"), before.Command);
    }

    [Fact]
    public void Longest_note_passes_and_one_character_more_is_refused()
    {
        var ok = Ok("note " + new string('x', IncidentNames.MaxNoteLength));
        Assert.Equal(IncidentNames.MaxNoteLength, ((IncidentCommand.AddNote)ok.Command!).Text.Length);
        Assert.Equal("text", Fails("note " + new string('x', IncidentNames.MaxNoteLength + 1)).Field);
    }

    [Fact]
    public void A_commander_name_longer_than_the_limit_is_refused()
    {
        Assert.Equal("name", Fails("ic " + new string('a', IncidentNames.MaxNameLength + 1)).Field);
    }
}
