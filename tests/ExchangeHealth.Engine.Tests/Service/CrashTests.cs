using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ExchangeHealth.Engine.Gateway;
using ExchangeHealth.Engine.Gateway.Protocol;
using ExchangeHealth.Engine.Journal;
using ExchangeHealth.Engine.Tests.Gateway;
using ExchangeHealth.TestKit;
using Xunit.Abstractions;

namespace ExchangeHealth.Engine.Tests.Service;

/// <summary>
/// The durability promise, with real processes: under order flow over TCP, <c>kill -9</c> the
/// engine, restart it, and check that every new order the clients saw acknowledged is in the
/// recovered journal at the sequence its report named, that the sequence has no gap, and that
/// the restarted engine's state hash equals a full replay of the journal from sequence 1.
/// </summary>
/// <remarks>Kills per run: <c>EXH_CRASH_KILLS</c> (default 3, to bound CI time); the figures are printed.</remarks>
public sealed class CrashTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private const long Px = 60_000L * 100_000_000;
    private const long Tick = 1_000_000;
    private const long Lot = 10_000;

    [Fact]
    public async Task Kill9UnderLoad_LosesNothingAcknowledged_SequenceGapless_StateEqualsFullReplay()
    {
        int kills = int.TryParse(Environment.GetEnvironmentVariable("EXH_CRASH_KILLS"), CultureInfo.InvariantCulture, out int k) && k > 0 ? k : 3;
        string data = _dir.Combine("engine");
        var random = new Random(20261121);
        var acknowledged = new ConcurrentDictionary<long, long>(); // order id -> sequence in its ack
        long nextClOrdId = 1;
        long totalAcked = 0;
        EngineCredentials? credentials = null;

        for (int kill = 1; kill <= kills; kill++)
        {
            await using var engine = await EngineProcess.StartAsync(data);
            credentials ??= EngineCredentials.Load(Path.Combine(data, EngineCredentials.FileName));
            await VerifyAsync(engine, data, acknowledged, $"restart {kill - 1}");

            using var load = new CancellationTokenSource();
            var clients = new List<Task<int>>();
            for (int c = 0; c < 2; c++)
            {
                long first = Interlocked.Add(ref nextClOrdId, 1_000_000) - 1_000_000;
                clients.Add(TradeUntilKilledAsync(engine.TcpEndPoint, credentials.ApiKeys[c], c == 0 ? Side.Buy : Side.Sell, (ulong)first, acknowledged, load.Token));
            }
            // Kill at a random moment once order flow is established (a fresh process is still JIT-compiling).
            int before = acknowledged.Count;
            for (int wait = 0; wait < 200 && acknowledged.Count - before < 100 && !clients.Exists(t => t.IsCompleted); wait++) await Task.Delay(50);
            await Task.Delay(random.Next(100, 900));
            await engine.KillAsync();
            await load.CancelAsync();
            int acked = (await Task.WhenAll(clients)).Sum();
            Assert.True(acked > 0, "the clients saw no acknowledgement before the kill");
            totalAcked += acked;
            output.WriteLine($"kill {kill}: {acked} acknowledged new orders in this round");
        }

        await using (var final = await EngineProcess.StartAsync(data))
        {
            await VerifyAsync(final, data, acknowledged, $"restart {kills}");
            Assert.Equal(0, await final.TerminateAsync());
        }
        // SIGTERM is graceful: a snapshot at the last journaled sequence, and engine.json removed.
        var lastSequence = JournalReader.Read(EngineRecovery.JournalDirectory(data), default, null, repairTornTail: false).LastSequence;
        var snapshots = SnapshotStore.List(EngineRecovery.SnapshotDirectory(data));
        Assert.Contains(snapshots, s => s.Sequence == lastSequence);
        Assert.False(File.Exists(EngineEndpoints.PathIn(data)));
        output.WriteLine($"{kills} kills, {totalAcked} acknowledged new orders checked against the recovered journal");
    }

    /// <summary>One client: pipelined new orders (up to 256 unanswered) at prices that cross the other client's, until the engine dies.</summary>
    private static async Task<int> TradeUntilKilledAsync(IPEndPoint endpoint, ApiKeyEntry key, Side side, ulong firstClOrdId,
        ConcurrentDictionary<long, long> acknowledged, CancellationToken stop)
    {
        await using var client = await OrderEntryTestClient.ConnectAsync(endpoint);
        await client.LogonAsync(key.Key);
        using var window = new SemaphoreSlim(256);
        int acked = 0;
        var reader = Task.Run(async () =>
        {
            while (true)
            {
                ServerFrame? frame;
                try { frame = await client.ReadFrameAsync(TimeSpan.FromSeconds(10)); }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or TimeoutException or OperationCanceledException) { return; }
                if (frame is null) return;
                if (frame.Type != MessageType.ExecutionReport) continue;
                var r = frame.AsReport();
                if (r.RequestClOrdId == 0 || !OrderEntryProtocol.IsAcknowledgement(r.Report)) continue;
                if (r.Report.CommandType == CommandType.NewOrder && r.Report.Sequence.Value > 0)
                {
                    acknowledged[r.Report.OrderId] = r.Report.Sequence.Value;
                    Interlocked.Increment(ref acked);
                }
                window.Release();
            }
        });
        var random = new Random((int)firstClOrdId);
        ulong id = firstClOrdId;
        try
        {
            while (!stop.IsCancellationRequested && !reader.IsCompleted)
            {
                if (!await window.WaitAsync(TimeSpan.FromMilliseconds(100), CancellationToken.None)) continue;
                long price = Px + (side == Side.Buy ? 1 : -1) * random.Next(0, 5) * Tick;
                await client.NewOrderAsync(id++, side, price, Lot * random.Next(1, 20));
            }
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException) { }
        await reader;
        return acked;
    }

    private async Task VerifyAsync(EngineProcess engine, string data, ConcurrentDictionary<long, long> acknowledged, string when)
    {
        // The engine recovered (and truncated any torn tail); it is idle, so the journal is stable.
        var journal = new Dictionary<long, (CommandType Type, long OrderId)>();
        long expected = 1, gaps = 0;
        JournalReader.Read(EngineRecovery.JournalDirectory(data), default, (ref Command c) =>
        {
            if (c.Sequence.Value != expected) gaps++;
            expected = c.Sequence.Value + 1;
            journal[c.Sequence.Value] = (c.Type, c.OrderId);
        }, repairTornTail: false);
        Assert.True(gaps == 0, $"{when}: the journal's sequence has {gaps} gap(s)");
        foreach (var (orderId, sequence) in acknowledged)
        {
            Assert.True(journal.TryGetValue(sequence, out var record), $"{when}: acknowledged order {orderId} (sequence {sequence}) is not in the journal");
            Assert.True(record.Type == CommandType.NewOrder && record.OrderId == orderId,
                $"{when}: sequence {sequence} holds {record.Type} {record.OrderId}, not acknowledged order {orderId}");
        }

        var markets = EngineDataDirectory.LoadMarkets(data)!;
        var replay = EngineRecovery.Recover(data, markets, new RecoveryOptions { IgnoreSnapshots = true, RepairTornTail = false });
        var credentials = EngineCredentials.Load(Path.Combine(data, EngineCredentials.FileName));
        using var http = new HttpClient { BaseAddress = engine.HttpAddress };
        http.DefaultRequestHeaders.Authorization = new("Bearer", credentials.AdminToken);
        var state = await http.GetFromJsonAsync<JsonElement>("/admin/state");
        Assert.Equal(replay.LastSequence.Value, state.GetProperty("sequence").GetInt64());
        Assert.Equal(replay.Engine.ComputeStateHash(), state.GetProperty("state_hash").GetString());
        output.WriteLine($"{when}: journal 1..{replay.LastSequence} gapless, {acknowledged.Count} acknowledged orders present, state hash equals full replay");
    }
}
