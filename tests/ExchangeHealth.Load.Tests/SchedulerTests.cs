using ExchangeHealth.Load.Tests.Support;

namespace ExchangeHealth.Load.Tests;

public sealed class SchedulerTests
{
    [Fact]
    public void SecondsOf_ConstantRate_IsIndexOverRate()
    {
        var s = RateSchedule.Constant(2000);
        Assert.Equal(0, s.SecondsOf(0));
        Assert.Equal(0.0005, s.SecondsOf(1), 12);
        Assert.Equal(1.0, s.SecondsOf(2000), 9);
        Assert.Equal(3999 / 2000.0, s.SecondsOf(3999), 9);
        Assert.Equal(4000, s.CountBefore(2), 9);
    }

    [Fact]
    public void SecondsOf_Ramp_InvertsTheIntegralOfTheRate()
    {
        // 1000/s rising to 20000/s over 30 s: 315,000 commands in the ramp, then 20000/s.
        Assert.True(RateSchedule.TryParseRamp("1000:20000:30s", out var s, out string? error), error);
        Assert.Equal(315_000, s!.CountBefore(30), 6);
        Assert.Equal(1000, s.RateAt(0), 9);
        Assert.Equal(10_500, s.RateAt(15), 9);
        Assert.Equal(20_000, s.RateAt(100), 9);
        foreach (long i in new long[] { 0, 1, 10, 999, 12_345, 100_000, 314_999, 315_000, 400_000 })
        {
            double t = s.SecondsOf(i);
            Assert.Equal(i, s.CountBefore(t), 4);
        }
        double previous = -1;
        for (long i = 0; i < 50_000; i += 7)
        {
            double t = s.SecondsOf(i);
            Assert.True(t > previous, "intended times increase");
            previous = t;
        }
        Assert.Equal(30 + 85_000 / 20_000.0, s.SecondsOf(400_000), 9);
    }

    [Fact]
    public void SecondsOf_Stages_ZeroRatePauseAndRampDown()
    {
        Assert.True(RateSchedule.TryParseStages("2s:100, 1s:0, 2s:100-0", out var s, out string? error), error);
        Assert.Equal(200 + 0 + 100, s!.CountBefore(5), 9);
        Assert.Equal(199 / 100.0, s.SecondsOf(199), 9);
        // Command 200 is due when the rate comes back after the pause.
        Assert.Equal(3.0, s.SecondsOf(200), 9);
        Assert.Equal(299, s.CountBefore(s.SecondsOf(299)), 4);
        // After the stages the final rate (0) holds: nothing more is ever due.
        Assert.Equal(double.PositiveInfinity, s.SecondsOf(300));
        Assert.Equal("2s:100, 1s:0, 2s:100-0, then 0/s", s.ToString());
    }

    [Theory]
    [InlineData("1000:20000", "expected FROM:TO:DURATION")]
    [InlineData("a:2000:10s", "non-negative numbers")]
    [InlineData("1000:2000:0s", "not a positive duration")]
    [InlineData("1000:2000:soon", "not a positive duration")]
    public void TryParseRamp_Invalid_Explains(string text, string expected)
    {
        Assert.False(RateSchedule.TryParseRamp(text, out _, out string? error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Contains(text, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10s", "is not DURATION:RATE")]
    [InlineData("10s:fast", "is not a rate")]
    [InlineData("x:100", "not a positive duration")]
    [InlineData("10s:100-", "is not a rate")]
    public void TryParseStages_Invalid_NamesTheStage(string text, string expected)
    {
        Assert.False(RateSchedule.TryParseStages(text, out _, out string? error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Scheduler_FakeClock_IntendedTimesFollowTheScheduleNotTheSends()
    {
        var clock = new ManualClock();
        var scheduler = new OpenModelScheduler(RateSchedule.Constant(1000), clock, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1), null);
        long start = clock.GetTimestamp();
        scheduler.Start();
        Assert.Equal(start, scheduler.StartTimestamp);

        // The first three go out on time.
        for (int i = 0; i < 3; i++)
        {
            Assert.True(scheduler.TryPeekNext(out long intended));
            Assert.Equal(start + i * 1_000_000L, intended);
            clock.AdvanceNanoseconds(intended - clock.GetTimestamp());
            Assert.Equal(0, scheduler.RecordSent(clock.GetTimestamp()));
        }
        // The driver stalls for 10 ms: the schedule does not move, the next sends are late.
        clock.Advance(TimeSpan.FromMilliseconds(10));
        Assert.True(scheduler.TryPeekNext(out long due));
        Assert.Equal(start + 3_000_000, due);
        Assert.Equal(clock.GetTimestamp() - due, scheduler.RecordSent(clock.GetTimestamp())); // 9 ms late
        Assert.True(scheduler.TryPeekNext(out due));
        Assert.Equal(start + 4_000_000, due);
        scheduler.RecordSent(clock.GetTimestamp());                                          // 8 ms late
        Assert.Equal(2, scheduler.Late);
        Assert.Equal(TimeSpan.FromMilliseconds(9), scheduler.MaxLateness);

        // Catching up: everything whose time has come is due at once, each still with its own slot.
        int burst = 0;
        while (scheduler.TryPeekNext(out long intended) && intended <= clock.GetTimestamp())
        {
            long late = scheduler.RecordSent(clock.GetTimestamp());
            Assert.Equal(clock.GetTimestamp() - intended, late);
            burst++;
        }
        Assert.Equal(8, burst); // slots 5..12 ms, sent at 12 ms
        Assert.Equal(13, scheduler.Sent);
        // More than the 1 ms threshold behind is late: slots 5..10 ms; slot 11 ms (exactly 1 ms) and 12 ms are not.
        Assert.Equal(2 + 6, scheduler.Late);
    }

    [Fact]
    public void Scheduler_DroppedAndNotSent_AreCountedAndKeepTheSchedule()
    {
        var clock = new ManualClock();
        var scheduler = new OpenModelScheduler(RateSchedule.Constant(100), clock, TimeSpan.FromMilliseconds(1), null, count: 5);
        scheduler.Start();
        Assert.True(scheduler.TryPeekNext(out long t0));
        scheduler.RecordDropped();
        Assert.True(scheduler.TryPeekNext(out long t1));
        Assert.Equal(10_000_000, t1 - t0);
        scheduler.RecordNotSent();
        for (int i = 0; i < 3; i++)
        {
            Assert.True(scheduler.TryPeekNext(out _));
            scheduler.RecordSent(clock.GetTimestamp());
        }
        Assert.False(scheduler.TryPeekNext(out _)); // the count is reached
        Assert.Equal(5, scheduler.Scheduled);
        Assert.Equal(3, scheduler.Sent);
        Assert.Equal(1, scheduler.Dropped);
        Assert.Equal(1, scheduler.NotSent);
        Assert.Throws<InvalidOperationException>(() => scheduler.RecordSent(0));
    }

    [Fact]
    public void Scheduler_Duration_EndsBeforeTheFirstSlotAtOrAfterIt()
    {
        var clock = new ManualClock();
        var scheduler = new OpenModelScheduler(RateSchedule.Constant(2000), clock, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(2), null);
        scheduler.Start();
        long n = 0;
        while (scheduler.TryPeekNext(out _))
        {
            scheduler.RecordSent(clock.GetTimestamp());
            n++;
        }
        Assert.Equal(4000, n);
    }

    [Theory]
    [InlineData("127.0.0.1:7001", "127.0.0.1", 7001)]
    [InlineData("localhost:9000", "localhost", 9000)]
    [InlineData("127.0.0.1", "127.0.0.1", 7001)]
    [InlineData("[::1]:7002", "::1", 7002)]
    public void TryParseTarget_Valid(string text, string host, int port)
    {
        Assert.True(LoadRunner.TryParseTarget(text, out string h, out int p, out string? error), error);
        Assert.Equal(host, h);
        Assert.Equal(port, p);
    }

    [Theory]
    [InlineData("127.0.0.1:99999", "is not a port")]
    [InlineData(":7001", "the host is missing")]
    [InlineData("::1:7001", "in brackets")]
    [InlineData("[::1", "missing ']'")]
    public void TryParseTarget_Invalid(string text, string expected)
    {
        Assert.False(LoadRunner.TryParseTarget(text, out _, out _, out string? error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.5.6.7")]
    [InlineData("::1")]
    [InlineData("localhost")]
    public void ResolveTarget_Loopback_Allowed(string host)
    {
        var endPoint = LoadRunner.ResolveTarget(host, 7001, allowRemote: false);
        Assert.True(System.Net.IPAddress.IsLoopback(endPoint.Address));
    }

    [Fact]
    public void ResolveTarget_Remote_RefusedUnlessAllowed()
    {
        var e = Assert.Throws<ArgumentException>(() => LoadRunner.ResolveTarget("10.1.2.3", 7001, allowRemote: false));
        Assert.Contains("127.0.0.1 only", e.Message, StringComparison.Ordinal);
        Assert.Contains("--allow-remote", e.Message, StringComparison.Ordinal);
        Assert.Equal("10.1.2.3:7001", LoadRunner.ResolveTarget("10.1.2.3", 7001, allowRemote: true).ToString());
    }

    [Theory]
    [InlineData("30s", 30_000)]
    [InlineData("250ms", 250)]
    [InlineData("1.5m", 90_000)]
    [InlineData("2", 2_000)]
    [InlineData("500us", 0.5)]
    public void Durations_Parse(string text, double milliseconds)
    {
        Assert.True(LoadDurations.TryParse(text, out var d));
        Assert.Equal(milliseconds, d.TotalMilliseconds, 6);
    }
}
