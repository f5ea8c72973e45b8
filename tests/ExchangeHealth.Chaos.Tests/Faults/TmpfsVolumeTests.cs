using System.Net;
using ExchangeHealth.Chaos.Faults;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Gateway;
using ExchangeHealth.Engine.Journal;
using ExchangeHealth.TestKit;
using Xunit.Abstractions;

namespace ExchangeHealth.Chaos.Tests.Faults;

/// <summary>
/// Journal disk full, for real: a 16 MiB tmpfs mounted at a real engine's journal directory (this
/// needs root, which the test machines and CI have), filled with a ballast file under order flow,
/// then freed.
/// </summary>
public sealed class TmpfsVolumeTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("exh-tmpfs-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); }
        catch (IOException) { }
    }

    [Fact]
    public async Task MountFillFree_ChangesFreeSpace_AndUnmounts()
    {
        string dir = Path.Combine(_root, "disk");
        var volume = await TmpfsVolume.MountAsync(dir, 8 << 20);
        await using (volume)
        {
            Assert.Contains(File.ReadAllLines("/proc/mounts"), l => l.Split(' ') is [_, var at, "tmpfs", ..] && at == dir);
            long free = volume.FreeBytes;
            Assert.InRange(free, 7 << 20, 9 << 20);
            long left = await volume.FillAsync(64 * 1024);
            Assert.InRange(left, 0, 64 * 1024);
            Assert.Throws<IOException>(() => File.WriteAllBytes(Path.Combine(dir, "more"), new byte[256 * 1024])); // ENOSPC
            await volume.FreeAsync();
            Assert.True(volume.FreeBytes >= free - (256 * 1024), $"after freeing the ballast only {volume.FreeBytes} bytes are free");
        }
        Assert.DoesNotContain(File.ReadAllLines("/proc/mounts"), l => l.Split(' ') is [_, var at, ..] && at == dir);
        await Assert.ThrowsAsync<IOException>(async () =>
        {
            File.WriteAllText(Path.Combine(dir, "x"), "not empty");
            await TmpfsVolume.MountAsync(dir, 8 << 20);
        });
    }

    [Fact]
    public async Task JournalDiskFull_EngineRejectsInternal_NeverAcksUnjournaled_ResumesWhenSpaceReturns()
    {
        string data = Path.Combine(_root, "engine");
        await using var volume = await TmpfsVolume.MountAsync(EngineRecovery.JournalDirectory(data), 16 << 20);
        await using var engine = await EngineProcess.StartAsync(data);
        using var http = new HttpClient { BaseAddress = engine.HttpAddress, Timeout = TimeSpan.FromSeconds(5) };
        await using var ledger = OrderLedger.Start(OrderLedgerOptions.ForEngine(data, sessions: 1, ordersPerSecond: 200) with { FirstClOrdId = 1 });
        Assert.True(await ledger.WaitForAcknowledgedAsync(100, TimeSpan.FromSeconds(20)), $"no order flow: {ledger.LastError}");

        // Disk full: the engine must refuse with a reason and turn unready.
        long free = await volume.FillAsync(0);
        output.WriteLine($"filled: {free} bytes free, ballast {volume.BallastBytes} bytes");
        Assert.True(await WaitAsync(() => ledger.Counts.RejectedByReason.GetValueOrDefault("internal") >= 20, TimeSpan.FromSeconds(15)),
            $"no internal rejects on a full journal disk: {Describe(ledger.Counts)}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync(new Uri("/ready", UriKind.Relative))).StatusCode);
        string events = File.ReadAllText(Path.Combine(data, "events.jsonl"));
        Assert.Contains("journal.write_failed", events, StringComparison.Ordinal);

        // Space returns: the engine resumes by itself (no restart, no admin action).
        long ackedAtFree = ledger.Counts.Acknowledged;
        await volume.FreeAsync();
        Assert.True(await ledger.WaitForAcknowledgedAsync(ackedAtFree + 100, TimeSpan.FromSeconds(15)),
            $"the engine did not accept orders again after space returned: {Describe(ledger.Counts)}");
        Assert.True(await WaitAsync(async () => (await http.GetAsync(new Uri("/ready", UriKind.Relative))).IsSuccessStatusCode, TimeSpan.FromSeconds(10)),
            "/ready did not return to 200");
        Assert.Contains("journal.resumed", File.ReadAllText(Path.Combine(data, "events.jsonl")), StringComparison.Ordinal);
        await ledger.StopAsync();
        var counts = ledger.Counts;
        output.WriteLine(Describe(counts));

        // Never acknowledged what it could not write; what it refused is not in the journal.
        var durable = LossChecks.AcknowledgedOrdersDurable(ledger.Orders, data);
        var gapless = LossChecks.GaplessSequence(data);
        string token = EngineCredentials.Load(Path.Combine(data, EngineCredentials.FileName)).AdminToken;
        var hash = await LossChecks.StateHashMatchesReplayAsync(data, engine.HttpAddress, token);
        foreach (var r in new[] { durable, gapless, hash }) output.WriteLine(r.ToString());
        Assert.True(durable.Passed, durable.Summary);
        Assert.True(gapless.Passed, gapless.Summary);
        Assert.True(hash.Passed, hash.Summary);
        var journaled = new HashSet<long>();
        JournalReader.Read(EngineRecovery.JournalDirectory(data), default, (ref Command c) => { if (c.Type == CommandType.NewOrder) journaled.Add(c.OrderId); }, repairTornTail: false);
        var refused = ledger.Orders.Where(o => o is { Outcome: LedgerOutcome.Rejected, Reason: "internal" }).ToList();
        Assert.NotEmpty(refused);
        Assert.All(refused, o => Assert.Equal(0, o.Sequence));
        Assert.DoesNotContain(refused, o => journaled.Contains(o.OrderId));
    }

    private static string Describe(OrderLedgerCounts c) =>
        $"sent {c.Sent}, acknowledged {c.Acknowledged}, rejected {c.Rejected} ({string.Join(", ", c.RejectedByReason.Select(r => $"{r.Key} {r.Value}"))}), unanswered {c.Pending}";

    private static Task<bool> WaitAsync(Func<bool> condition, TimeSpan timeout) => WaitAsync(() => Task.FromResult(condition()), timeout);

    private static async Task<bool> WaitAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (await condition()) return true;
            await Task.Delay(50);
        }
        return await condition();
    }
}
