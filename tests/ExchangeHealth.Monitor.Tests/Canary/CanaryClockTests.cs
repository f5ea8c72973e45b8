using System.Net;
using System.Net.Sockets;
using ExchangeHealth.Engine;
using ExchangeHealth.Monitor.Canary;
using ExchangeHealth.TestKit;

namespace ExchangeHealth.Monitor.Tests.Canary;

/// <summary>The canary's schedule and time-outs follow its <see cref="TimeProvider"/>: driven here by a manual clock.</summary>
[Collection(nameof(CanaryCollection))]
public sealed class CanaryClockTests
{
    private static MarketDefinition Btc => MarketsFile.Default().Single(m => m.Symbol == "BTC/USD");

    [Fact]
    public async Task RunAsync_ProbesAtOnceThenOncePerInterval_OfTheInjectedClock()
    {
        var clock = new ManualTimeProvider();
        int rounds = 0;
        using var telemetry = CanaryProber.CreateTelemetry();
        await using var prober = new CanaryProber(new CanaryOptions
        {
            Markets = [Btc],
            TimeProvider = clock,
            Interval = TimeSpan.FromSeconds(5),
            ResolveTarget = _ =>
            {
                Interlocked.Increment(ref rounds);
                throw new CanaryTargetException("no engine in this test");
            },
        });
        using var stop = new CancellationTokenSource();
        var run = prober.RunAsync(stop.Token);
        await WaitUntilAsync(() => Volatile.Read(ref rounds) == 1);

        clock.Advance(TimeSpan.FromSeconds(4.9));
        await Task.Delay(100); // give a wrongly early round the chance to happen
        Assert.Equal(1, Volatile.Read(ref rounds));
        clock.Advance(TimeSpan.FromSeconds(0.1));
        await WaitUntilAsync(() => Volatile.Read(ref rounds) == 2);
        clock.Advance(TimeSpan.FromSeconds(5));
        await WaitUntilAsync(() => Volatile.Read(ref rounds) == 3);

        await WaitUntilAsync(() => Exposition.Value(telemetry.Handler.ScrapeToString(), "exh_probe_total{market=\"BTC/USD\",outcome=\"disconnected\"}") == 3);
        await stop.CancelAsync();
        await run;
        Assert.Equal(3, Volatile.Read(ref rounds));
    }

    [Fact]
    public async Task ServerThatNeverAnswersTheLogon_ProbeIsDisconnectedAfterTheTimeoutOfTheInjectedClock()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start(); // accepts (backlog) and never answers
        var clock = new ManualTimeProvider();
        await using var prober = new CanaryProber(new CanaryOptions
        {
            Markets = [Btc],
            TimeProvider = clock,
            Timeout = TimeSpan.FromSeconds(2),
            ResolveTarget = _ => ValueTask.FromResult(new CanaryTarget((IPEndPoint)listener.LocalEndpoint, "0123456789abcdef0123", null)),
        });
        var probe = prober.ProbeOnceAsync();
        await Task.Delay(200);
        Assert.False(probe.IsCompleted, "nothing happens before the clock moves");
        for (int i = 0; i < 100 && !probe.IsCompleted; i++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(500));
            await Task.Delay(20);
        }
        var result = Assert.Single(await probe);
        Assert.Equal(ProbeOutcomes.Disconnected, result.Outcome);
        Assert.Contains("no LogonAccepted within 2 s", result.Detail, StringComparison.Ordinal);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > TimeSpan.FromSeconds(10)) throw new TimeoutException("condition not met");
            await Task.Delay(10);
        }
    }
}
