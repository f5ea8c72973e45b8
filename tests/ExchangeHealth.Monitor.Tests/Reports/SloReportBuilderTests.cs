using ExchangeHealth.Monitor.Reports;
using static ExchangeHealth.Monitor.Tests.Reports.SloReportFixture;

namespace ExchangeHealth.Monitor.Tests.Reports;

/// <summary>
/// The report's numbers against a real Prometheus holding history whose answers we computed by
/// hand (<see cref="SloReportFixture"/>). Month to date: 2025-03-01 00:00 to 03-20 12:00 (19.5 days,
/// budget for 31 days); rolling: 2025-02-18 12:00 to 03-20 12:00.
/// </summary>
[Collection(nameof(SloReportCollection))]
public sealed class SloReportBuilderTests(SloReportFixture fixture)
{
    private const double MonthSeconds = 19.5 * 86400;
    private const double ThirtyDaysSeconds = 30 * 86400;

    [Fact]
    public void Periods_MonthToDateAndRolling30Days_EndAtTheReportTime()
    {
        var report = fixture.Report;
        Assert.Equal(2, report.Periods.Count);
        Assert.Equal(new DateTimeOffset(2025, 3, 1, 0, 0, 0, TimeSpan.Zero), report.Periods[0].Start);
        Assert.Equal(TimeSpan.FromDays(31), report.Periods[0].BudgetLength);
        Assert.Equal(At - TimeSpan.FromDays(30), report.Periods[1].Start);
        Assert.All(report.Periods, p => Assert.Equal(At, p.End));
    }

    [Fact]
    public void EventsSli_BadMarket_AchievedAndBudgetMatchHandComputedValues()
    {
        var btc = fixture.Entry("availability", "BTC-USD");
        Assert.True(btc.IsEventsSli);

        // Month: 3,600 bad of 10/s x 19.5 d = 16,848,000 events.
        var month = btc.Results[0];
        Assert.Equal(16_848_000, month.TotalEvents!.Value, 1);
        Assert.Equal(3600, month.BadEvents!.Value, 1e-6);
        Assert.Equal(3600 / 16_848_000.0, month.ErrorRatio!.Value, 1e-12);
        // Allowed: 0.1 % of 31 days = 44.64 min; burned: 3,600 bad events at 10/s = 6 min.
        Assert.Equal(TimeSpan.FromMinutes(44.64).TotalSeconds, month.BudgetAllowed.TotalSeconds, 1e-6);
        Assert.Equal(360, month.BudgetBurned!.Value.TotalSeconds, 1e-6);
        Assert.Equal(1 - (6 / 44.64), month.BudgetRemainingFraction!.Value, 1e-9);
        Assert.Equal(TimeSpan.FromMinutes(44.64 - 6).TotalSeconds, month.BudgetRemaining!.Value.TotalSeconds, 1e-6);
        Assert.True(month.Met(btc.ObjectivePercent));

        // Rolling 30 days: both burns, 7,200 bad of 25,920,000; 12 of 43.2 min burned.
        var rolling = btc.Results[1];
        Assert.Equal(25_920_000, rolling.TotalEvents!.Value, 1);
        Assert.Equal(7200 / 25_920_000.0, rolling.ErrorRatio!.Value, 1e-12);
        Assert.Equal(43.2 * 60, rolling.BudgetAllowed.TotalSeconds, 1e-6);
        Assert.Equal(720, rolling.BudgetBurned!.Value.TotalSeconds, 1e-6);
        Assert.Equal(1 - (12 / 43.2), rolling.BudgetRemainingFraction!.Value, 1e-9);
        Assert.Equal(7200 / 25_920_000.0 / 0.001, rolling.BurnRate(btc.ErrorBudgetRatio)!.Value, 1e-9);
    }

    [Fact]
    public void EventsSli_CleanMarket_IsHundredPercentWithFullBudget()
    {
        var eth = fixture.Entry("availability", "ETH-USD");
        foreach (var r in eth.Results)
        {
            Assert.True(r.HasData);
            Assert.Equal(0, r.ErrorRatio);
            Assert.Equal(1, r.BudgetRemainingFraction);
            Assert.Empty(r.Incidents);
            Assert.Empty(r.WorstBurns);
        }
    }

    [Fact]
    public void RawSli_TimeShare_MatchesHandComputedValues()
    {
        var btc = fixture.Entry("probe", "BTC-USD");
        Assert.False(btc.IsEventsSli);
        // avg_over_time over [start, end] sees one sample per minute, both ends included: 120 zeros.
        var month = btc.Results[0];
        Assert.Null(month.TotalEvents);
        Assert.Equal(120 / (MonthSeconds / 60 + 1), month.ErrorRatio!.Value, 1e-12);
        Assert.Equal(TimeSpan.FromDays(31 * 0.01).TotalSeconds, month.BudgetAllowed.TotalSeconds, 1e-6);
        Assert.Equal(120 / (MonthSeconds / 60 + 1) * MonthSeconds, month.BudgetBurned!.Value.TotalSeconds, 1e-6);
        Assert.InRange(month.BudgetBurned.Value.TotalSeconds, 7200 - 1, 7200); // 2 h of failed probes, to a second
        var rolling = btc.Results[1];
        Assert.Equal(120 / (ThirtyDaysSeconds / 60 + 1), rolling.ErrorRatio!.Value, 1e-12);
        Assert.Equal(1 - (120.0 / 432), rolling.BudgetRemainingFraction!.Value, 1e-3);
        Assert.Equal(0, fixture.Entry("probe", "ETH-USD").Results[1].ErrorRatio);
    }

    [Fact]
    public void NoSeries_IsReportedAsNoDataNotAsHundredPercent()
    {
        var latency = Assert.Single(fixture.Report.Slos, e => e.Slo == "latency");
        Assert.Empty(latency.Series);
        Assert.All(latency.Results, r =>
        {
            Assert.False(r.HasData);
            Assert.Null(r.Achieved);
            Assert.Null(r.BudgetRemainingFraction);
            Assert.Null(r.Met(latency.ObjectivePercent));
        });
    }

    [Fact]
    public void BadHour_IsOneIncidentEpisode_WithItsDurationSeverityAndBudget()
    {
        var month = fixture.Entry("availability", "BTC-USD").Results[0];
        // page-fast 08:09-09:04 and ticket-fast 08:20-10:00 overlap: one incident; pending and SLI-absent series are not incidents.
        var impact = Assert.Single(month.Incidents);
        var incident = impact.Incident;
        Assert.Equal(BadHour.AddMinutes(9), incident.Start);
        Assert.Equal(BadHour.AddMinutes(120), incident.End);
        Assert.Equal(TimeSpan.FromMinutes(111), incident.Duration);
        Assert.Equal("page", incident.Severity);
        Assert.Equal(["TestAvailabilityBudgetBurn page-fast", "TestAvailabilityBudgetBurn ticket-fast"], incident.Alerts);
        Assert.False(incident.Ongoing);
        // 08:09-09:00 at 1 error/s: 3,060 bad of 66,600 events while firing; as time at the month's
        // 10/s: 306 s, 306 / 2,678.4 s = 11.4 % of the month's budget.
        Assert.Equal(3060 / 66_600.0, impact.ErrorRatio!.Value, 1e-9);
        Assert.Equal(306, impact.BudgetBurned!.Value.TotalSeconds, 1e-6);
        Assert.Equal(306 / (44.64 * 60), impact.BudgetFraction!.Value, 1e-9);
    }

    [Fact]
    public void RollingPeriod_HasBothEpisodes_InTimeOrder()
    {
        var rolling = fixture.Entry("availability", "BTC-USD").Results[1];
        Assert.Equal(2, rolling.Incidents.Count);
        var february = rolling.Incidents[0];
        Assert.Equal(FebruaryBurn.AddMinutes(3), february.Incident.Start);
        Assert.Equal(TimeSpan.FromMinutes(30), february.Incident.Duration);
        Assert.Equal(["TestAvailabilityBudgetBurn page-fast"], february.Incident.Alerts);
        // 10:03-10:30 at 2 errors/s = 3,240 bad events = 324 s at 10/s; 12.5 % of 43.2 min.
        Assert.Equal(324, february.BudgetBurned!.Value.TotalSeconds, 1e-6);
        Assert.Equal(0.125, february.BudgetFraction!.Value, 1e-9);
        Assert.Equal(BadHour.AddMinutes(9), rolling.Incidents[1].Incident.Start);
        Assert.Empty(fixture.Entry("availability", "ETH-USD").Results[1].Incidents);
        Assert.Empty(fixture.Entry("probe", "BTC-USD").Results[1].Incidents);
    }

    [Fact]
    public void WorstBurns_AreTheBadHours_At100xTheBudget()
    {
        var rolling = fixture.Entry("availability", "BTC-USD").Results[1];
        Assert.Equal(TimeSpan.FromHours(1), rolling.Step);
        Assert.Equal(720, rolling.Timeline.Count);
        Assert.Equal(2, rolling.WorstBurns.Count);
        Assert.Equal(FebruaryBurn.AddHours(1), rolling.WorstBurns[0].Time);
        Assert.Equal(BadHour.AddHours(1), rolling.WorstBurns[1].Time);
        Assert.All(rolling.WorstBurns, w =>
        {
            Assert.Equal(0.1, w.ErrorRatio, 1e-9);
            Assert.Equal(100, w.BurnRate, 1e-6);
        });
    }

    [Fact]
    public void Timeline_BurnDown_StartsFullAndEndsAtTheHeadline()
    {
        var rolling = fixture.Entry("availability", "BTC-USD").Results[1];
        Assert.Equal(At, rolling.Timeline[^1].Time);
        Assert.Equal(1, rolling.Timeline[0].BudgetRemaining, 1e-9);
        Assert.Equal(rolling.BudgetRemainingFraction!.Value, rolling.Timeline[^1].BudgetRemaining, 1e-6);
        // Budget only falls, and only in the two bad hours.
        var drops = rolling.Timeline.Zip(rolling.Timeline.Skip(1)).Where(p => p.Second.BudgetRemaining < p.First.BudgetRemaining - 1e-12).Select(p => p.Second.Time);
        Assert.Equal([FebruaryBurn.AddHours(1), BadHour.AddHours(1)], drops);
    }

    [Fact]
    public async Task IncidentStillFiringAtTheReportTime_IsOngoing_AndEndsThere()
    {
        var at = BadHour.AddMinutes(30);
        var report = await new SloReportBuilder(fixture.Client).BuildAsync(fixture.Specs, at, SloReportPeriods.Rolling30Days, at, CancellationToken.None);
        var rolling = report.Slos.Single(e => e.Slo == "availability" && e.Series["market"] == "BTC-USD").Results.Single();
        Assert.Equal(2, rolling.Incidents.Count);
        var ongoing = rolling.Incidents[1];
        Assert.True(ongoing.Incident.Ongoing);
        Assert.False(rolling.Incidents[0].Incident.Ongoing);
        Assert.Equal(BadHour.AddMinutes(9), ongoing.Incident.Start);
        Assert.Equal(at, ongoing.Incident.End);
        // 08:09-08:30 at 1 error/s of 10/s: 10 %, 1,260 bad events = 126 s at 10/s.
        Assert.Equal(0.1, ongoing.ErrorRatio!.Value, 1e-9);
        Assert.Equal(126, ongoing.BudgetBurned!.Value.TotalSeconds, 1e-6);
        Assert.Contains("| ongoing |", SloReportMarkdown.Render(report), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExchangeSpecs_EveryQueryIsValidPromQl_AndWithoutTheirMetricsReportNoData()
    {
        var specs = SloReportService.LoadSpecs(ExchangeHealth.Monitor.Tests.Slo.SloTestSupport.Repo("slos", "exchange.yml"));
        var report = await new SloReportBuilder(fixture.Client).BuildAsync(specs, At, SloReportPeriods.Both, At, CancellationToken.None);
        Assert.Equal(["order-entry-availability", "order-ack-latency", "matching-uptime", "canary-success"], report.Slos.Select(e => e.Slo));
        Assert.All(report.Slos, e => Assert.All(e.Results, r => Assert.False(r.HasData)));
    }
}
