using ExchangeHealth.Incidents.Lifecycle;
using ExchangeHealth.Incidents.Model;

namespace ExchangeHealth.Incidents.Tests.Lifecycle;

/// <summary>The state machine as a pure function: every status × command, with the reasons people read.</summary>
public sealed class IncidentLifecycleTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 3, 0, 0, TimeSpan.Zero);
    private static readonly IncidentActor Alice = new("slack:U1 (alice)", TimelineSources.Slack);

    private static Incident In(IncidentStatus status, bool acked = false) => new()
    {
        Id = 42,
        Title = "EngineDown",
        Status = status,
        StartedAt = T0,
        DetectedAt = T0.AddSeconds(2),
        AcknowledgedAt = acked ? T0.AddMinutes(1) : null,
        AcknowledgedBy = acked ? "bob" : null,
        MitigatedAt = status >= IncidentStatus.Mitigated ? T0.AddMinutes(5) : null,
        ResolvedAt = status >= IncidentStatus.Resolved ? T0.AddMinutes(9) : null,
        Version = 3,
    };

    public static TheoryData<IncidentStatus, bool, string, IncidentStatus?> Transitions() => new()
    {
        // status, acked, command, expected status (null = refused)
        { IncidentStatus.Triggered, false, "ack", IncidentStatus.Acknowledged },
        { IncidentStatus.Triggered, false, "mitigate", IncidentStatus.Mitigated },
        { IncidentStatus.Triggered, false, "resolve", IncidentStatus.Resolved },
        { IncidentStatus.Triggered, false, "close", null },
        { IncidentStatus.Acknowledged, true, "ack", null },
        { IncidentStatus.Acknowledged, true, "mitigate", IncidentStatus.Mitigated },
        { IncidentStatus.Acknowledged, true, "resolve", IncidentStatus.Resolved },
        { IncidentStatus.Acknowledged, true, "close", null },
        { IncidentStatus.Mitigated, false, "ack", IncidentStatus.Mitigated },
        { IncidentStatus.Mitigated, true, "ack", null },
        { IncidentStatus.Mitigated, true, "mitigate", null },
        { IncidentStatus.Mitigated, true, "resolve", IncidentStatus.Resolved },
        { IncidentStatus.Mitigated, true, "close", null },
        { IncidentStatus.Resolved, false, "ack", null },
        { IncidentStatus.Resolved, true, "mitigate", null },
        { IncidentStatus.Resolved, true, "resolve", null },
        { IncidentStatus.Resolved, true, "close", IncidentStatus.Closed },
        { IncidentStatus.Closed, true, "ack", null },
        { IncidentStatus.Closed, true, "resolve", null },
        { IncidentStatus.Closed, true, "close", null },
    };

    private static IncidentCommand Command(string verb) => verb switch
    {
        "ack" => new IncidentCommand.Acknowledge(),
        "mitigate" => new IncidentCommand.Mitigate(),
        "resolve" => new IncidentCommand.Resolve(),
        "close" => new IncidentCommand.Close(),
        _ => throw new ArgumentException(verb),
    };

    [Theory]
    [MemberData(nameof(Transitions))]
    public void Apply_StatusAndCommand_AllowedOrRefusedWithReason(IncidentStatus status, bool acked, string verb, IncidentStatus? expected)
    {
        var now = T0.AddMinutes(20);
        var outcome = IncidentLifecycle.Apply(In(status, acked), Command(verb), now, Alice);
        if (expected is null)
        {
            Assert.Equal(IncidentError.IllegalTransition, outcome.Error);
            Assert.Null(outcome.Updated);
            Assert.Null(outcome.Kind);
            Assert.Contains("#42", outcome.Reason, StringComparison.Ordinal);
            return;
        }
        Assert.Equal(IncidentError.None, outcome.Error);
        Assert.Equal(expected, outcome.Updated!.Status);
        Assert.NotNull(outcome.Kind);
    }

    [Fact]
    public void Acknowledge_ResolvedIncident_RefusedAndSaysItDoesNotReopen()
    {
        var outcome = IncidentLifecycle.Apply(In(IncidentStatus.Resolved), new IncidentCommand.Acknowledge(), T0.AddHours(1), Alice);
        Assert.Equal(IncidentError.IllegalTransition, outcome.Error);
        Assert.Equal("incident #42 is resolved; an acknowledgement does not re-open it", outcome.Reason);
    }

    [Fact]
    public void Acknowledge_Triggered_RecordsWhoAndWhen()
    {
        var now = T0.AddMinutes(3);
        var updated = IncidentLifecycle.Apply(In(IncidentStatus.Triggered), new IncidentCommand.Acknowledge(), now, Alice).Updated!;
        Assert.Equal((now, "slack:U1 (alice)"), (updated.AcknowledgedAt!.Value, updated.AcknowledgedBy));
    }

    [Fact]
    public void Acknowledge_Twice_ReasonNamesTheFirstAcknowledger()
    {
        var outcome = IncidentLifecycle.Apply(In(IncidentStatus.Acknowledged, acked: true), new IncidentCommand.Acknowledge(), T0.AddMinutes(3), Alice);
        Assert.Equal("incident #42 was already acknowledged by bob at 2026-11-21 03:01:00Z", outcome.Reason);
    }

    [Fact]
    public void Resolve_FromTriggered_SetsMitigatedToo()
    {
        var now = T0.AddMinutes(7);
        var updated = IncidentLifecycle.Apply(In(IncidentStatus.Triggered), new IncidentCommand.Resolve(), now, Alice).Updated!;
        Assert.Equal(now, updated.ResolvedAt);
        Assert.Equal(now, updated.MitigatedAt);
    }

    [Fact]
    public void Close_Triggered_ReasonSaysResolveFirst()
    {
        var outcome = IncidentLifecycle.Apply(In(IncidentStatus.Triggered), new IncidentCommand.Close(), T0, Alice);
        Assert.Equal("incident #42 is triggered; resolve it before closing it", outcome.Reason);
    }

    [Fact]
    public void SetSeverity_ChangesUnlessClosed_SameSeverityIsANoOp()
    {
        var changed = IncidentLifecycle.Apply(In(IncidentStatus.Resolved), new IncidentCommand.SetSeverity(IncidentSeverity.Sev1), T0, Alice);
        Assert.Equal(IncidentSeverity.Sev1, changed.Updated!.Severity);
        Assert.Equal(TimelineKinds.SeverityChanged, changed.Kind);
        Assert.Contains("from SEV2 to SEV1", changed.Reason, StringComparison.Ordinal);

        var same = IncidentLifecycle.Apply(In(IncidentStatus.Triggered), new IncidentCommand.SetSeverity(IncidentSeverity.Sev2), T0, Alice);
        Assert.True(same.Error == IncidentError.None && same.Updated is null && same.Kind is null);

        Assert.Equal(IncidentError.IllegalTransition, IncidentLifecycle.Apply(In(IncidentStatus.Closed), new IncidentCommand.SetSeverity(IncidentSeverity.Sev1), T0, Alice).Error);
        var bad = IncidentLifecycle.Apply(In(IncidentStatus.Triggered), new IncidentCommand.SetSeverity((IncidentSeverity)7), T0, Alice);
        Assert.Equal((IncidentError.Invalid, "severity"), (bad.Error, bad.Field));
    }

    [Fact]
    public void Notes_AcceptedInEveryStatus_TooLongRefusedWithTheLimit()
    {
        foreach (var status in Enum.GetValues<IncidentStatus>())
        {
            var outcome = IncidentLifecycle.Apply(In(status, true), new IncidentCommand.AddNote("'); DROP TABLE incidents; --"), T0, Alice);
            Assert.Equal((IncidentError.None, TimelineKinds.Note), (outcome.Error, outcome.Kind));
        }
        var tooLong = IncidentLifecycle.Apply(In(IncidentStatus.Triggered), new IncidentCommand.AddNote(new string('x', IncidentNames.MaxNoteLength + 1)), T0, Alice);
        Assert.Equal((IncidentError.Invalid, "text"), (tooLong.Error, tooLong.Field));
        Assert.Contains("4000", tooLong.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void AssignCommander_ValidatesAndRecords()
    {
        var outcome = IncidentLifecycle.Apply(In(IncidentStatus.Acknowledged, true), new IncidentCommand.AssignCommander(" <@U2> "), T0, Alice);
        Assert.Equal("<@U2>", outcome.Updated!.Commander);
        Assert.Equal(IncidentError.Invalid, IncidentLifecycle.Apply(In(IncidentStatus.Triggered), new IncidentCommand.AssignCommander(" "), T0, Alice).Error);
        Assert.Equal(IncidentError.Invalid, IncidentLifecycle.Apply(In(IncidentStatus.Triggered), new IncidentCommand.AssignCommander(new string('c', 201)), T0, Alice).Error);
    }

    [Theory]
    [InlineData("SEV1", IncidentSeverity.Sev1)]
    [InlineData("sev2", IncidentSeverity.Sev2)]
    [InlineData(" 3 ", IncidentSeverity.Sev3)]
    [InlineData("Sev4", IncidentSeverity.Sev4)]
    public void TryParseSeverity_AcceptedForms(string text, IncidentSeverity expected)
    {
        Assert.True(IncidentNames.TryParseSeverity(text, out var s));
        Assert.Equal(expected, s);
    }

    [Theory]
    [InlineData("SEV5")]
    [InlineData("0")]
    [InlineData("sev")]
    [InlineData("critical")]
    [InlineData("")]
    public void TryParseSeverity_RefusedForms(string text) => Assert.False(IncidentNames.TryParseSeverity(text, out _));
}
