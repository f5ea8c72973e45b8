using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Journal;

namespace ExchangeHealth.Chaos.Faults;

/// <summary>The outcome of one loss invariant.</summary>
/// <param name="Name">The check (<c>acknowledged_orders_durable</c>, <c>gapless_sequence</c>, <c>state_hash_matches_replay</c>).</param>
/// <param name="Passed">True when the invariant holds.</param>
/// <param name="Counts">What was counted (e.g. <c>acknowledged</c>, <c>found</c>, <c>missing</c>, <c>journal_records</c>).</param>
/// <param name="Summary">One sentence for the experiment report, saying what was checked and what was found.</param>
public sealed record LossCheckResult(string Name, bool Passed, IReadOnlyDictionary<string, long> Counts, string Summary)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {(Passed ? "passed" : "FAILED")}: {Summary}";
}

/// <summary>
/// The loss invariants of the chaos experiments (engine crash, disk full, network faults), checked
/// against the engine's journal files read offline with the engine's own reader
/// (<see cref="JournalReader"/>, read-only: it never repairs a torn tail, so the engine may be running).
/// </summary>
public static class LossChecks
{
    /// <summary>The check of <see cref="AcknowledgedOrdersDurable(IEnumerable{LedgerOrder}, string)"/> on a ledger's orders (stop the ledger first for a final answer).</summary>
    /// <param name="ledger">The ledger.</param>
    /// <param name="engineDataDirectory">The engine's data directory.</param>
    public static LossCheckResult AcknowledgedOrdersDurable(OrderLedger ledger, string engineDataDirectory)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        return AcknowledgedOrdersDurable(ledger.Orders, engineDataDirectory);
    }

    /// <summary>
    /// Every order the ledger saw acknowledged is in the journal: an <see cref="LedgerOutcome.Accepted"/>
    /// order as the new order at the sequence its acknowledgement named, an
    /// <see cref="LedgerOutcome.AcceptedBefore"/> order (a resend answered as a duplicate) as a new
    /// order with its order id at any sequence. It also fails when an acknowledged order was journaled
    /// as a new order more than once (a resend after a reconnect executed twice).
    /// </summary>
    /// <param name="orders">The ledger's orders (<see cref="OrderLedger.Orders"/>).</param>
    /// <param name="engineDataDirectory">The engine's data directory (its <c>journal/</c> is read).</param>
    /// <returns>Passed when none is missing or doubled; counts <c>acknowledged</c>, <c>found</c>, <c>missing</c>, <c>journaled_twice</c>, <c>journal_records</c>.</returns>
    public static LossCheckResult AcknowledgedOrdersDurable(IEnumerable<LedgerOrder> orders, string engineDataDirectory)
    {
        ArgumentNullException.ThrowIfNull(orders);
        const string name = "acknowledged_orders_durable";
        var bySequence = new Dictionary<long, long>();
        var byOrderId = new Dictionary<long, int>(); // order id -> times journaled as a new order
        JournalScanResult scan;
        try
        {
            scan = JournalReader.Read(EngineRecovery.JournalDirectory(engineDataDirectory), default, (ref Command c) =>
            {
                if (c.Type != CommandType.NewOrder) return;
                bySequence[c.Sequence.Value] = c.OrderId;
                byOrderId[c.OrderId] = byOrderId.GetValueOrDefault(c.OrderId) + 1;
            }, repairTornTail: false);
        }
        catch (Exception e) when (e is JournalCorruptException or IOException)
        {
            return new LossCheckResult(name, false, Counts(("acknowledged", orders.Count(o => o.IsAcknowledged))),
                $"the journal in {engineDataDirectory} cannot be read: {e.Message}");
        }
        long acknowledged = 0, found = 0, twice = 0;
        var missing = new List<string>();
        foreach (var order in orders)
        {
            if (!order.IsAcknowledged) continue;
            acknowledged++;
            bool ok = order.Outcome == LedgerOutcome.Accepted && order.Sequence > 0
                ? bySequence.TryGetValue(order.Sequence, out long id) && id == order.OrderId
                : byOrderId.ContainsKey(order.OrderId);
            if (ok) found++;
            else if (missing.Count < 5) missing.Add(order.Sequence > 0 ? $"{order.OrderId} (sequence {order.Sequence})" : $"{order.OrderId}");
            if (byOrderId.GetValueOrDefault(order.OrderId) > 1) twice++;
        }
        long missingCount = acknowledged - found;
        var counts = Counts(("acknowledged", acknowledged), ("found", found), ("missing", missingCount), ("journaled_twice", twice),
            ("journal_records", scan.RecordsRead));
        if (missingCount > 0)
            return new LossCheckResult(name, false, counts, string.Create(CultureInfo.InvariantCulture,
                $"{missingCount} of {acknowledged} acknowledged orders are not in the journal at their acknowledged sequence, e.g. order {string.Join(", ", missing)}."));
        if (twice > 0)
            return new LossCheckResult(name, false, counts, string.Create(CultureInfo.InvariantCulture,
                $"all {acknowledged} acknowledged orders are in the journal, but {twice} of them were journaled as new orders more than once (a resend executed twice)."));
        return new LossCheckResult(name, true, counts, string.Create(CultureInfo.InvariantCulture,
            $"all {acknowledged} acknowledged orders are in the journal, each once (sequences {scan.FirstSequence}..{scan.LastSequence}, {scan.RecordsRead} records)."));
    }

    /// <summary>
    /// The journal's sequence numbers start at 1 (or right after a snapshot when older segments are
    /// gone) and run without gap or duplicate to the last record; corruption that is not a torn tail
    /// (a bad record followed by valid ones, a bad record in an older segment, a missing segment)
    /// fails the check. A torn tail (a record cut by a crash; never acknowledged) is reported, not failed.
    /// </summary>
    /// <param name="engineDataDirectory">The engine's data directory.</param>
    /// <returns>Counts <c>journal_records</c>, <c>first_sequence</c>, <c>last_sequence</c>, <c>segments</c>, <c>gaps</c>, <c>torn_tail_bytes</c>.</returns>
    public static LossCheckResult GaplessSequence(string engineDataDirectory)
    {
        const string name = "gapless_sequence";
        long expected = 0, gaps = 0, duplicates = 0, records = 0;
        JournalScanResult scan;
        try
        {
            scan = JournalReader.Read(EngineRecovery.JournalDirectory(engineDataDirectory), default, (ref Command c) =>
            {
                long s = c.Sequence.Value;
                if (expected != 0 && s != expected)
                {
                    if (s < expected) duplicates++;
                    else gaps++;
                }
                expected = s + 1;
                records++;
            }, repairTornTail: false);
        }
        catch (Exception e) when (e is JournalCorruptException or IOException)
        {
            return new LossCheckResult(name, false, Counts(("journal_records", records)), $"the journal is not a gapless sequence: {e.Message}");
        }
        long first = scan.FirstSequence.Value;
        bool startsRight = records == 0 || first == 1
            || SnapshotStore.List(EngineRecovery.SnapshotDirectory(engineDataDirectory)).Any(s => s.Sequence.Value == first - 1);
        long torn = scan.TornTail?.BytesDiscarded ?? 0;
        var counts = Counts(("journal_records", records), ("first_sequence", first), ("last_sequence", scan.LastSequence.Value),
            ("segments", scan.SegmentCount), ("gaps", gaps), ("duplicates", duplicates), ("torn_tail_bytes", torn));
        string tornNote = scan.TornTail is { } t ? $"; a torn tail of {t.BytesDiscarded} bytes ({t.Reason}) follows the last whole record" : "";
        if (!startsRight)
            return new LossCheckResult(name, false, counts, $"the journal starts at sequence {first}, not 1 and not right after a snapshot: older records are missing{tornNote}.");
        if (gaps + duplicates > 0)
            return new LossCheckResult(name, false, counts, $"the journal has {gaps} gap(s) and {duplicates} duplicate(s) in sequences {first}..{scan.LastSequence}{tornNote}.");
        return new LossCheckResult(name, true, counts, records == 0
            ? "the journal is empty."
            : string.Create(CultureInfo.InvariantCulture, $"sequences {first}..{scan.LastSequence.Value} are gapless over {scan.SegmentCount} segment(s), {records} records{tornNote}."));
    }

    /// <summary>
    /// The running engine's state hash (<c>GET /admin/state</c>: sequence and SHA-256 state hash, read
    /// on its matcher thread) equals the hash of an offline replay of the journal up to that sequence
    /// into a fresh <see cref="MatchingEngine"/> (from sequence 1; from the newest usable snapshot only
    /// when older segments are gone). The engine may still be taking orders: the replay stops at the
    /// sequence the engine reported, waiting (up to <paramref name="timeout"/>) for the journal file
    /// to reach it.
    /// </summary>
    /// <param name="engineDataDirectory">The data directory whose journal is replayed (may be a copy of the engine's).</param>
    /// <param name="engineHttp">The engine's HTTP base address.</param>
    /// <param name="adminToken">The admin bearer token (credentials.yaml <c>admin_token</c>); never logged.</param>
    /// <param name="timeout">Bound for the HTTP call and for waiting for the journal (default 10 s).</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>Counts <c>engine_sequence</c>, <c>replayed_records</c>, <c>journal_last_sequence</c>.</returns>
    public static async Task<LossCheckResult> StateHashMatchesReplayAsync(string engineDataDirectory, Uri engineHttp, string adminToken,
        TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engineHttp);
        const string name = "state_hash_matches_replay";
        var limit = timeout ?? TimeSpan.FromSeconds(10);
        var markets = EngineDataDirectory.LoadMarkets(engineDataDirectory);
        if (markets is null)
            return new LossCheckResult(name, false, Counts(), $"{EngineDataDirectory.MarketsPath(engineDataDirectory)} is missing: nothing to replay with.");

        long engineSequence;
        string engineHash;
        try
        {
            using var http = new HttpClient { BaseAddress = engineHttp, Timeout = limit };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
            using var response = await http.GetAsync(new Uri("/admin/state", UriKind.Relative), cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                return new LossCheckResult(name, false, Counts(), $"GET {engineHttp}admin/state answered {(int)response.StatusCode}.");
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
            engineSequence = json.RootElement.GetProperty("sequence").GetInt64();
            engineHash = json.RootElement.GetProperty("state_hash").GetString() ?? "";
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return new LossCheckResult(name, false, Counts(), $"the engine's state could not be read from {engineHttp}admin/state: {e.Message}");
        }

        string journal = EngineRecovery.JournalDirectory(engineDataDirectory);
        long start = Environment.TickCount64;
        while (true)
        {
            JournalScanResult scan;
            MatchingEngine replay;
            long replayed = 0;
            try
            {
                var segments = JournalReader.ListSegments(journal);
                long journalFirst = segments.Count > 0 ? segments[0].First.Value : 1;
                replay = new MatchingEngine(markets);
                if (journalFirst > 1)
                {
                    var snapshot = SnapshotStore.List(EngineRecovery.SnapshotDirectory(engineDataDirectory))
                        .FirstOrDefault(s => s.Sequence.Value >= journalFirst - 1 && s.Sequence.Value <= engineSequence);
                    if (snapshot.Path is null)
                        return new LossCheckResult(name, false, Counts(("engine_sequence", engineSequence)),
                            $"the journal starts at sequence {journalFirst} and no snapshot covers the records before it: no full replay is possible.");
                    replay = SnapshotStore.Read(snapshot.Path, markets);
                }
                var engine = replay;
                scan = JournalReader.Read(journal, engine.LastSequence, (ref Command c) =>
                {
                    if (c.Sequence.Value > engineSequence) return;
                    engine.Process(ref c);
                    replayed++;
                }, repairTornTail: false);
            }
            catch (Exception e) when (e is JournalCorruptException or IOException or InvalidDataException)
            {
                return new LossCheckResult(name, false, Counts(("engine_sequence", engineSequence)), $"the journal cannot be replayed: {e.Message}");
            }
            var counts = Counts(("engine_sequence", engineSequence), ("replayed_records", replayed), ("journal_last_sequence", scan.LastSequence.Value));
            if (scan.LastSequence.Value < engineSequence)
            {
                if (Environment.TickCount64 - start < (long)limit.TotalMilliseconds)
                {
                    await Task.Delay(50, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                return new LossCheckResult(name, false, counts, string.Create(CultureInfo.InvariantCulture,
                    $"the engine is at sequence {engineSequence} but its journal ends at {scan.LastSequence.Value}: processed commands are missing from the journal."));
            }
            string replayHash = replay.ComputeStateHash();
            return string.Equals(replayHash, engineHash, StringComparison.OrdinalIgnoreCase)
                ? new LossCheckResult(name, true, counts, string.Create(CultureInfo.InvariantCulture,
                    $"the engine's state hash at sequence {engineSequence} equals a replay of {replayed} journal records ({Short(engineHash)})."))
                : new LossCheckResult(name, false, counts, string.Create(CultureInfo.InvariantCulture,
                    $"the engine's state hash at sequence {engineSequence} ({Short(engineHash)}) differs from the replay of {replayed} journal records ({Short(replayHash)})."));
        }
    }

    private static string Short(string hash) => hash.Length > 12 ? hash[..12] + "…" : hash;

    private static Dictionary<string, long> Counts(params (string Key, long Value)[] items)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (key, value) in items) counts[key] = value;
        return counts;
    }
}
