using System.Xml.Linq;
using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.Monitor.Reports;

namespace ExchangeHealth.Monitor.Tests.Reports;

/// <summary>Number formatting, chart scaling and SVG rendering, periods, and the incident query text.</summary>
public sealed class SloReportUnitTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    [Theory]
    [InlineData(0.99951, 99.95, "99.951 %")]
    [InlineData(0.99949, 99.95, "99.949 %")] // below the objective never prints as meeting it
    [InlineData(0.9995, 99.95, "99.950 %")]  // 0.9995 * 100 is 99.94999... in binary
    [InlineData(0.999999, 99.9, "99.99 %")]  // rounded down, not up to 100.00
    [InlineData(1.0, 99.9, "100 %")]
    [InlineData(0.9571, 99, "95.71 %")]
    public void Sli_HasOneDecimalMoreThanTheObjective_RoundedDown(double ratio, double objective, string expected) =>
        Assert.Equal(expected, SloFormat.Sli(ratio, objective));

    [Fact]
    public void BudgetTime_IsHumanScaled()
    {
        // 99.95 % over 30 days allows 21.6 minutes.
        Assert.Equal("21.6 min", SloFormat.BudgetTime(TimeSpan.FromDays(30) * 0.0005));
        Assert.Equal("42 s", SloFormat.BudgetTime(TimeSpan.FromSeconds(42.4)));
        Assert.Equal("7.2 h", SloFormat.BudgetTime(TimeSpan.FromDays(30) * 0.01));
        Assert.Equal("3.0 d", SloFormat.BudgetTime(TimeSpan.FromDays(3)));
        Assert.Equal("-3.5 min", SloFormat.BudgetTime(TimeSpan.FromMinutes(-3.5)));
        Assert.Equal("0 s", SloFormat.BudgetTime(TimeSpan.Zero));
    }

    [Theory]
    [InlineData(42, "42 s")]
    [InlineData(55 * 60, "55 min")]
    [InlineData(111 * 60, "1 h 51 min")]
    [InlineData(2 * 3600, "2 h")]
    [InlineData(51 * 3600, "2 d 3 h")]
    public void Duration_IsHumanScaled(int seconds, string expected) => Assert.Equal(expected, SloFormat.Duration(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void Percentages_RatesAndCounts()
    {
        Assert.Equal("86.6 %", SloFormat.BudgetPercent(1 - (6 / 44.64)));
        Assert.Equal("-12.5 %", SloFormat.BudgetPercent(-0.125));
        Assert.Equal("0.0 %", SloFormat.BudgetPercent(-0.00001));
        Assert.Equal("10 %", SloFormat.ErrorPercent(0.1));
        Assert.Equal("0.0139 %", SloFormat.ErrorPercent(0.000138889));
        Assert.Equal("4.59 %", SloFormat.ErrorPercent(3060 / 66600.0));
        Assert.Equal("0 %", SloFormat.ErrorPercent(0));
        Assert.Equal("14.4x", SloFormat.Rate(14.4));
        Assert.Equal("0.28x", SloFormat.Rate(0.2777));
        Assert.Equal("120x", SloFormat.Rate(120.4));
        Assert.Equal("25,920,000", SloFormat.Count(25_920_000));
        Assert.Equal("99.95 %", SloFormat.Objective(99.95));
        Assert.Equal("2025-03-20 12:00 UTC", SloFormat.Time(new DateTimeOffset(2025, 3, 20, 13, 0, 0, TimeSpan.FromHours(1))));
    }

    [Theory]
    [InlineData(0, 0.37, 0, 0.4, 0.1)]
    [InlineData(0, 100, 0, 100, 20)]
    [InlineData(0, 10.0, 0, 10, 2)]
    [InlineData(-12.5, 100, -25, 100, 25)]
    [InlineData(0, 0.0125, 0, 0.0125, 0.0025)]
    [InlineData(0, 0, 0, 1, 0.2)]
    [InlineData(99.5, 99.5, 85, 110, 5)]
    public void NiceScale_EnclosesTheDataWithNiceSteps(double min, double max, double lo, double hi, double step)
    {
        var (l, h, s) = SvgChart.NiceScale(min, max);
        Assert.Equal(lo, l, 1e-9);
        Assert.Equal(hi, h, 1e-9);
        Assert.Equal(step, s, 1e-9);
        Assert.True(l <= min && h >= max);
        Assert.True((h - l) / s <= 6 + 1e-9);
    }

    [Fact]
    public void LinearScale_MapsEndsAndReversedRanges()
    {
        var y = new LinearScale(0, 100, 190, 26);
        Assert.Equal(190, y.Map(0));
        Assert.Equal(26, y.Map(100));
        Assert.Equal(108, y.Map(50));
        Assert.Equal(5, new LinearScale(3, 3, 0, 10).Map(3)); // flat domain: middle
    }

    [Fact]
    public void TimeTick_GivesAtMostSevenTicks()
    {
        Assert.Equal(TimeSpan.FromDays(7), SvgChart.TimeTick(TimeSpan.FromDays(30)));
        Assert.Equal(TimeSpan.FromDays(7), SvgChart.TimeTick(TimeSpan.FromDays(19.5)));
        Assert.Equal(TimeSpan.FromHours(1), SvgChart.TimeTick(TimeSpan.FromHours(6)));
    }

    [Fact]
    public void Segments_BreakOnMissingValues()
    {
        var t0 = DateTimeOffset.UnixEpoch;
        var segments = SvgChart.Segments([(t0, 1), (t0.AddHours(1), 2), (t0.AddHours(2), null), (t0.AddHours(3), double.NaN), (t0.AddHours(4), 5)]);
        Assert.Equal(2, segments.Count);
        Assert.Equal([1.0, 2.0], segments[0].Select(p => p.Value));
        Assert.Equal([5.0], segments[1].Select(p => p.Value));
    }

    [Fact]
    public void Render_PlacesPointsByScale_AndIsWellFormedSvg()
    {
        var t0 = new DateTimeOffset(2025, 3, 1, 0, 0, 0, TimeSpan.Zero);
        var t1 = t0.AddDays(10);
        var svg = SvgChart.Render("Budget <left> & more", t0, t1,
            [new ChartSeries("left", [(t0, 100), (t0.AddDays(5), 50), (t1, 0)], "#137333")],
            [new ChartLine("exhausted", 0, "#b00020")], v => v + " %", yMin: 0, yMax: 100);
        var parsed = XElement.Parse(svg.ToString()); // escapes the title; parses back
        Assert.Equal("Budget <left> & more", parsed.Element(Svg + "title")!.Value);
        var points = parsed.Element(Svg + "polyline")!.Attribute("points")!.Value.Split(' ');
        // x from 64 to 640-120 = 520; y from 220-30 = 190 (0 %) to 26 (100 %).
        Assert.Equal(["64,26", "292,108", "520,190"], points);
        Assert.Contains(parsed.Elements(Svg + "text"), e => e.Value == "exhausted");
        // 10 days: a tick every 2 days at UTC midnight.
        Assert.Equal(["03-01", "03-03", "03-05", "03-07", "03-09", "03-11"], parsed.Elements(Svg + "text").Select(e => e.Value).Where(v => v.StartsWith("03-", StringComparison.Ordinal)));
    }

    [Fact]
    public void Periods_MonthToDateBudgetIsTheWholeMonth()
    {
        var feb = SloReportPeriod.MonthToDate(new DateTimeOffset(2025, 2, 10, 6, 0, 0, TimeSpan.Zero));
        Assert.Equal(new DateTimeOffset(2025, 2, 1, 0, 0, 0, TimeSpan.Zero), feb.Start);
        Assert.Equal(TimeSpan.FromDays(28), feb.BudgetLength);
        Assert.Equal("February 2025 to date", feb.Title);
        // At midnight on the 1st the month to date is the whole previous month.
        var whole = SloReportPeriod.MonthToDate(new DateTimeOffset(2025, 3, 1, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(new DateTimeOffset(2025, 2, 1, 0, 0, 0, TimeSpan.Zero), whole.Start);
        Assert.Equal(whole.BudgetLength, whole.Elapsed);
        var periods = SloReportBuilder.PeriodsAt(new DateTimeOffset(2025, 3, 20, 12, 0, 0, 700, TimeSpan.Zero), SloReportPeriods.Both);
        Assert.Equal(new DateTimeOffset(2025, 3, 20, 12, 0, 0, TimeSpan.Zero), periods[1].End); // whole seconds
        Assert.Throws<ArgumentException>(() => SloReportBuilder.PeriodsAt(DateTimeOffset.UnixEpoch, SloReportPeriods.None));
    }

    [Fact]
    public void Steps_StayUnderPrometheusPointLimits()
    {
        Assert.Equal(TimeSpan.FromMinutes(5), PrometheusAlertsIncidentSource.ScanStep(TimeSpan.FromDays(31), TimeSpan.FromSeconds(10)));
        Assert.Equal(TimeSpan.FromSeconds(15), PrometheusAlertsIncidentSource.ScanStep(TimeSpan.FromDays(1), TimeSpan.FromSeconds(10)));
        // Never shorter than the evaluation interval, or a firing alert would leave empty steps.
        Assert.Equal(TimeSpan.FromMinutes(1), PrometheusAlertsIncidentSource.ScanStep(TimeSpan.FromDays(1), TimeSpan.FromMinutes(1)));
        Assert.Equal(TimeSpan.FromHours(3), PrometheusAlertsIncidentSource.ScanStep(TimeSpan.FromDays(1), TimeSpan.FromHours(3)));
        Assert.Equal(TimeSpan.FromHours(1), SloReportBuilder.TimelineStep(TimeSpan.FromDays(30)));
        Assert.Equal(TimeSpan.FromHours(1), SloReportBuilder.TimelineStep(TimeSpan.FromDays(31)));
        Assert.Equal(TimeSpan.FromMinutes(5), SloReportBuilder.TimelineStep(TimeSpan.FromDays(2)));
        Assert.Null(SloReportBuilder.TimelineStep(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void AlertsSelector_QuotesValues_AndMatchesOnlyBurnRateAlerts()
    {
        Assert.Equal("{alertstate=\"firing\", sloth_id=\"exchange-x\", sloth_severity=~\"page|ticket\", market=\"BTC\\\"/USD\"}",
            PrometheusAlertsIncidentSource.Selector("exchange-x", LabelSet.Of("market", "BTC\"/USD")));
        Assert.Equal("299999ms", PrometheusAlertsIncidentSource.JustUnder(TimeSpan.FromMinutes(5)));
    }
}
