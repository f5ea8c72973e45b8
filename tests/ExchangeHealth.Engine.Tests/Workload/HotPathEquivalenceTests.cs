using System.Buffers.Binary;
using System.Security.Cryptography;
using ExchangeHealth.Engine.Matching;
using ExchangeHealth.Engine.Workload;

namespace ExchangeHealth.Engine.Tests.Workload;

/// <summary>
/// Guards the benchmark-driven hot-path changes in src/Engine/Matching: they must not change
/// behaviour. The pinned hashes were produced by the engine as it was before those changes
/// (commit 9ab2d47); if the workload generator changes, re-pin them from an engine whose
/// behaviour is known to be right (the reference-model differential tests).
/// </summary>
public sealed class HotPathEquivalenceTests
{
    private const string PinnedStateHash = "648877bf5dfe9b414365a557b0d56dea83bf5ad06a225870461b4b8a07a8a267";
    private const string PinnedReportHash = "e9766188babfd05310448256bb848ab980b71c1ac51b517d54249fda279a0272";
    private const long PinnedReports = 134_691;

    [Fact]
    public void Replay_GeneratedWorkload_SameReportsAndStateAsBeforeTheHotPathChanges()
    {
        var workload = ExchangeHealth.Engine.Workload.Workload.Create(new WorkloadOptions { Seed = 2024 }, 120_000);
        using var sink = new ReportHashSink();
        var engine = new MatchingEngine(workload.Markets, sink);
        foreach (var c in workload.PreFill)
        {
            var copy = c;
            engine.Process(ref copy);
        }
        for (int i = 0; i < workload.Commands.Length; i++) engine.Process(ref workload.Commands[i]);
        Assert.Equal((PinnedStateHash, PinnedReportHash, PinnedReports), (engine.ComputeStateHash(), sink.Hash(), sink.Count));
    }

    [Fact]
    public void TryReprice_RandomLadders_SameAsRemoveThenInsert()
    {
        var random = new Random(17);
        for (int round = 0; round < 2_000; round++)
        {
            bool isBid = random.Next(2) == 0;
            var fast = new PriceLadder(isBid, capacity: 4);
            var slow = new PriceLadder(isBid, capacity: 4);
            int levels = random.Next(1, 60);
            var prices = new HashSet<long>();
            while (prices.Count < levels) prices.Add(random.Next(1, 200));
            int index = 0;
            foreach (long p in prices)
            {
                int posFast = fast.Find(p);
                fast.Insert(~posFast, p, index);
                slow.Insert(~slow.Find(p), p, index);
                index++;
            }
            long[] existing = [.. prices];
            long oldPrice = existing[random.Next(existing.Length)];
            long newPrice = random.Next(1, 200);
            if (newPrice == oldPrice) continue;

            bool moved = fast.TryReprice(oldPrice, newPrice);
            Assert.Equal(!prices.Contains(newPrice), moved);
            if (moved)
            {
                int pos = slow.Find(oldPrice);
                int level = slow.LevelAt(pos);
                slow.RemoveAt(pos);
                slow.Insert(~slow.Find(newPrice), newPrice, level);
            }
            Assert.Equal(slow.Count, fast.Count);
            for (int rank = 0; rank < slow.Count; rank++) Assert.Equal(slow.LevelFromBest(rank), fast.LevelFromBest(rank));
            foreach (long p in prices.Append(newPrice)) Assert.Equal(slow.Find(p), fast.Find(p));
        }
    }

    /// <summary>SHA-256 over every field of every report, in order.</summary>
    private sealed class ReportHashSink : IExecutionReportSink, IDisposable
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly byte[] _buffer = new byte[96];

        public long Count { get; private set; }

        public void OnReport(in ExecutionReport r)
        {
            Span<byte> b = _buffer;
            b[0] = (byte)r.Type;
            b[1] = (byte)r.Side;
            b[2] = (byte)r.Liquidity;
            b[3] = (byte)r.RejectReason;
            b[4] = (byte)r.CancelReason;
            b[5] = (byte)r.State;
            b[6] = (byte)r.CommandType;
            BinaryPrimitives.WriteUInt16LittleEndian(b[7..], r.MarketId);
            BinaryPrimitives.WriteInt64LittleEndian(b[9..], r.Sequence.Value);
            BinaryPrimitives.WriteInt64LittleEndian(b[17..], r.Timestamp);
            BinaryPrimitives.WriteInt64LittleEndian(b[25..], r.OrderId);
            BinaryPrimitives.WriteInt64LittleEndian(b[33..], r.AccountId);
            BinaryPrimitives.WriteInt64LittleEndian(b[41..], r.Price.Units);
            BinaryPrimitives.WriteInt64LittleEndian(b[49..], r.Quantity.Units);
            BinaryPrimitives.WriteInt64LittleEndian(b[57..], r.LeavesQuantity.Units);
            BinaryPrimitives.WriteInt64LittleEndian(b[65..], r.TradeId);
            BinaryPrimitives.WriteInt64LittleEndian(b[73..], r.CounterOrderId);
            BinaryPrimitives.WriteInt64LittleEndian(b[81..], r.CounterAccountId);
            _hash.AppendData(b[..89]);
            Count++;
        }

        public string Hash() => Convert.ToHexStringLower(_hash.GetCurrentHash());

        public void Dispose() => _hash.Dispose();
    }
}
