using System.Globalization;
using System.Text;
using System.Text.Json;
using ExchangeHealth.Alerting.Routing;
using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.Monitor.Storage;
using System.Data.Common;

namespace ExchangeHealth.Alerting.Silences;

/// <summary>
/// Silences kept in the monitor's SQLite database (tables <c>silences</c> and
/// <c>silence_audit</c>), with Alertmanager's rules: at least one matcher, not every matcher
/// matching the empty string, <c>endsAt</c> after <c>startsAt</c> and not in the past, a start
/// in the past moved to now, <c>createdBy</c> and <c>comment</c> required; plus ExchangeHealth's
/// bounds (<see cref="MaxDuration"/>, <see cref="MaxMatchers"/>, string lengths). Every creation
/// and expiry is written to an audit log in the same transaction. <see cref="Silenced"/> answers
/// from an in-memory copy of the silences not yet over, refreshed after each change (and by
/// <see cref="RefreshAsync"/>, e.g. when another process changed the database). Thread-safe.
/// </summary>
public sealed class SilenceStore : ISilencer
{
    /// <summary>Longest silence (and furthest start ahead of now): 90 days.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromDays(90);

    /// <summary>Most matchers per silence.</summary>
    public const int MaxMatchers = 64;

    /// <summary>Longest label name in a matcher.</summary>
    public const int MaxNameLength = 256;

    /// <summary>Longest matcher value or regex.</summary>
    public const int MaxValueLength = 1024;

    /// <summary>Longest <c>createdBy</c> (or expiring user).</summary>
    public const int MaxCreatedByLength = 256;

    /// <summary>Longest <c>comment</c>.</summary>
    public const int MaxCommentLength = 4096;

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS silences (
            id          TEXT PRIMARY KEY,
            matchers    TEXT NOT NULL,      -- JSON array of {name, value, isRegex, isEqual}
            starts_at   INTEGER NOT NULL,   -- Unix milliseconds, UTC
            ends_at     INTEGER NOT NULL,
            updated_at  INTEGER NOT NULL,
            created_by  TEXT NOT NULL,
            comment     TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS silences_ends_at ON silences(ends_at);
        CREATE TABLE IF NOT EXISTS silence_audit (
            seq         INTEGER PRIMARY KEY AUTOINCREMENT,
            silence_id  TEXT NOT NULL,
            action      TEXT NOT NULL,      -- created | expired
            actor       TEXT NOT NULL,
            at          INTEGER NOT NULL,   -- Unix milliseconds, UTC
            detail      TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS silence_audit_silence ON silence_audit(silence_id);
        """;

    private readonly MonitorDatabase _db;
    private readonly TimeProvider _time;
    private volatile CachedSilence[] _cache = [];

    /// <summary>Opens the store (creating its tables when missing) and loads the cache.</summary>
    /// <exception cref="DbException">The database cannot be used.</exception>
    public SilenceStore(MonitorDatabase db, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _db = db;
        _time = timeProvider;
        _db.EnsureSchema(Schema);
        Reload();
    }

    /// <summary>Raised after a silence was created or expired through this store (the dispatcher can re-evaluate mutes).</summary>
    public event Action? Changed;

    /// <summary>
    /// Creates a silence and returns its id (a GUID string).
    /// </summary>
    /// <param name="matchers">1 to <see cref="MaxMatchers"/> matchers; at least one must not match the empty string.</param>
    /// <param name="startsAt">Start; a time in the past means now.</param>
    /// <param name="endsAt">End; after the start and after now, at most <see cref="MaxDuration"/> after the (effective) start.</param>
    /// <param name="createdBy">Who (required).</param>
    /// <param name="comment">Why (required).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="SilenceValidationException">A rule above is broken; <see cref="SilenceValidationException.Field"/> names the field.</exception>
    public async Task<string> CreateAsync(
        IReadOnlyList<SilenceMatcher> matchers, DateTimeOffset startsAt, DateTimeOffset endsAt, string createdBy, string comment,
        CancellationToken cancellationToken = default)
    {
        var now = Truncate(_time.GetUtcNow());
        startsAt = Truncate(startsAt);
        endsAt = Truncate(endsAt);
        Validate(matchers, startsAt, endsAt, createdBy, comment, now);
        if (startsAt < now) startsAt = now;

        string id = Guid.NewGuid().ToString();
        string matchersJson = JsonSerializer.Serialize(matchers.ToArray());
        string detail = string.Create(CultureInfo.InvariantCulture,
            $"matchers {{{string.Join(", ", matchers)}}} from {startsAt:O} to {endsAt:O}; comment: {comment}");

        using (await _db.EnterWriteAsync(cancellationToken).ConfigureAwait(false))
        using (var c = _db.OpenConnection())
        using (var tx = c.BeginTransaction())
        {
            using (var cmd = c.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = """
                    INSERT INTO silences (id, matchers, starts_at, ends_at, updated_at, created_by, comment)
                    VALUES (@id, @matchers, @starts, @ends, @updated, @by, @comment)
                    """;
                MonitorDatabase.AddParameter(cmd, "@id", id);
                MonitorDatabase.AddParameter(cmd, "@matchers", matchersJson);
                MonitorDatabase.AddParameter(cmd, "@starts", startsAt.ToUnixTimeMilliseconds());
                MonitorDatabase.AddParameter(cmd, "@ends", endsAt.ToUnixTimeMilliseconds());
                MonitorDatabase.AddParameter(cmd, "@updated", now.ToUnixTimeMilliseconds());
                MonitorDatabase.AddParameter(cmd, "@by", createdBy);
                MonitorDatabase.AddParameter(cmd, "@comment", comment);
                await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            await AuditAsync(c, tx, id, SilenceAuditAction.Created, createdBy, now, detail, cancellationToken).ConfigureAwait(false);
            tx.Commit();
        }
        Reload();
        Changed?.Invoke();
        return id;
    }

    /// <summary>
    /// Expires a silence now, as Alertmanager: an active one ends now, a pending one starts and
    /// ends now.
    /// </summary>
    /// <param name="id">The silence.</param>
    /// <param name="by">Who expires it (required; written to the audit log).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="KeyNotFoundException">No silence has this id.</exception>
    /// <exception cref="SilenceValidationException">It is already expired, or <paramref name="by"/> is empty or too long.</exception>
    public async Task ExpireAsync(string id, string by, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (string.IsNullOrWhiteSpace(by)) throw new SilenceValidationException("by", "who expires the silence is required");
        if (by.Length > MaxCreatedByLength) throw new SilenceValidationException("by", $"longer than {MaxCreatedByLength} characters");
        var now = Truncate(_time.GetUtcNow());
        using (await _db.EnterWriteAsync(cancellationToken).ConfigureAwait(false))
        using (var c = _db.OpenConnection())
        using (var tx = c.BeginTransaction())
        {
            var existing = await ReadAsync(c, tx, "WHERE id = @id", p => MonitorDatabase.AddParameter(p, "@id", id), now, cancellationToken).ConfigureAwait(false);
            if (existing.Count == 0) throw new KeyNotFoundException($"silence {id} not found");
            var s = existing[0];
            var state = s.StateAt(now);
            if (state == SilenceState.Expired) throw new SilenceValidationException("id", $"silence {id} is already expired");
            var starts = state == SilenceState.Pending ? now : s.StartsAt;
            using (var cmd = c.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = "UPDATE silences SET starts_at = @starts, ends_at = @ends, updated_at = @now WHERE id = @id";
                MonitorDatabase.AddParameter(cmd, "@starts", starts.ToUnixTimeMilliseconds());
                MonitorDatabase.AddParameter(cmd, "@ends", now.ToUnixTimeMilliseconds());
                MonitorDatabase.AddParameter(cmd, "@now", now.ToUnixTimeMilliseconds());
                MonitorDatabase.AddParameter(cmd, "@id", id);
                await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            string detail = string.Create(CultureInfo.InvariantCulture, $"was {state.ToString().ToLowerInvariant()} (planned end {s.EndsAt:O})");
            await AuditAsync(c, tx, id, SilenceAuditAction.Expired, by, now, detail, cancellationToken).ConfigureAwait(false);
            tx.Commit();
        }
        Reload();
        Changed?.Invoke();
    }

    /// <summary>The silence with <paramref name="id"/> (state as of now), or null.</summary>
    public async Task<Silence?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        using var c = _db.OpenConnection();
        var list = await ReadAsync(c, null, "WHERE id = @id", p => MonitorDatabase.AddParameter(p, "@id", id), _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        return list.Count == 0 ? null : list[0];
    }

    /// <summary>All silences, or those in <paramref name="state"/> now; ordered by start, then id.</summary>
    public async Task<IReadOnlyList<Silence>> ListAsync(SilenceState? state = null, CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        using var c = _db.OpenConnection();
        var all = await ReadAsync(c, null, "", _ => { }, now, cancellationToken).ConfigureAwait(false);
        return state is { } s ? all.Where(x => x.Status.State == s).ToList() : all;
    }

    /// <summary>Audit entries, oldest first: all, or those of <paramref name="silenceId"/>; at most <paramref name="limit"/> (the newest ones).</summary>
    public async Task<IReadOnlyList<SilenceAuditEntry>> ListAuditAsync(string? silenceId = null, int limit = 1000, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        using var c = _db.OpenConnection();
        using var cmd = c.CreateCommand();
        cmd.CommandText = silenceId is null
            ? "SELECT seq, silence_id, action, actor, at, detail FROM silence_audit ORDER BY seq DESC LIMIT @limit"
            : "SELECT seq, silence_id, action, actor, at, detail FROM silence_audit WHERE silence_id = @id ORDER BY seq DESC LIMIT @limit";
        MonitorDatabase.AddParameter(cmd, "@limit", limit);
        if (silenceId is not null) MonitorDatabase.AddParameter(cmd, "@id", silenceId);
        var result = new List<SilenceAuditEntry>();
        using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(new SilenceAuditEntry(
                r.GetInt64(0), r.GetString(1),
                r.GetString(2) == "expired" ? SilenceAuditAction.Expired : SilenceAuditAction.Created,
                r.GetString(3), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(4)), r.GetString(5)));
        }
        result.Reverse();
        return result;
    }

    /// <inheritdoc/>
    public IReadOnlyList<string> Silenced(LabelSet labels, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (_db.IsShared && Environment.TickCount64 - Interlocked.Read(ref _loadedAtTicks) >= SharedRefreshMilliseconds)
        {
            try
            {
                Reload();
            }
            catch (DbException)
            {
                // Keep answering from the last copy; the next call tries again.
            }
        }
        List<string>? ids = null;
        foreach (var s in _cache)
        {
            if (now < s.StartsAt || now >= s.EndsAt) continue;
            if (LabelMatcher.MatchesAll(s.Matchers, labels)) (ids ??= []).Add(s.Id);
        }
        if (ids is null) return [];
        ids.Sort(StringComparer.Ordinal);
        return ids;
    }

    /// <summary>Reloads the in-memory copy from the database (for changes made by another process).</summary>
    public Task RefreshAsync()
    {
        Reload();
        Changed?.Invoke();
        return Task.CompletedTask;
    }

    /// <summary>
    /// On a shared (PostgreSQL) database, <see cref="Silenced"/> reloads its copy when it is older
    /// than this (1000 ms), so a silence created through another node mutes within about a second.
    /// </summary>
    public const int SharedRefreshMilliseconds = 1000;

    private long _loadedAtTicks = long.MinValue / 2;

    private void Reload()
    {
        Interlocked.Exchange(ref _loadedAtTicks, Environment.TickCount64);
        var now = _time.GetUtcNow();
        using var c = _db.OpenConnection();
        var list = ReadAsync(c, null, "WHERE ends_at > @now", p => MonitorDatabase.AddParameter(p, "@now", now.ToUnixTimeMilliseconds()), now, CancellationToken.None)
            .GetAwaiter().GetResult();
        // Silences never change their matchers: reuse the compiled ones of the previous copy.
        var previous = _cache.ToDictionary(x => x.Id, StringComparer.Ordinal);
        _cache = list.Select(s => new CachedSilence(
            s.Id,
            previous.TryGetValue(s.Id, out var old) ? old.Matchers : s.Matchers.Select(m => m.ToLabelMatcher()).ToArray(),
            s.StartsAt,
            s.EndsAt)).ToArray();
    }

    private static async Task<List<Silence>> ReadAsync(
        DbConnection c, DbTransaction? tx, string where, Action<DbCommand> bind, DateTimeOffset now, CancellationToken ct)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = $"SELECT id, matchers, starts_at, ends_at, updated_at, created_by, comment FROM silences {where} ORDER BY starts_at, id";
        bind(cmd);
        var result = new List<Silence>();
        using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            var matchers = JsonSerializer.Deserialize<SilenceMatcher[]>(r.GetString(1)) ?? [];
            var starts = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2));
            var ends = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3));
            result.Add(new Silence(r.GetString(0), matchers, starts, ends, DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(4)),
                r.GetString(5), r.GetString(6), new SilenceStatus(Silence.StateOf(starts, ends, now))));
        }
        return result;
    }

    private static async Task AuditAsync(
        DbConnection c, DbTransaction tx, string id, SilenceAuditAction action, string by, DateTimeOffset at, string detail, CancellationToken ct)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "INSERT INTO silence_audit (silence_id, action, actor, at, detail) VALUES (@id, @action, @by, @at, @detail)";
        MonitorDatabase.AddParameter(cmd, "@id", id);
        MonitorDatabase.AddParameter(cmd, "@action", action == SilenceAuditAction.Expired ? "expired" : "created");
        MonitorDatabase.AddParameter(cmd, "@by", by);
        MonitorDatabase.AddParameter(cmd, "@at", at.ToUnixTimeMilliseconds());
        MonitorDatabase.AddParameter(cmd, "@detail", detail);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static void Validate(
        IReadOnlyList<SilenceMatcher> matchers, DateTimeOffset startsAt, DateTimeOffset endsAt, string createdBy, string comment, DateTimeOffset now)
    {
        if (matchers is null || matchers.Count == 0) throw new SilenceValidationException("matchers", "at least one matcher required");
        if (matchers.Count > MaxMatchers) throw new SilenceValidationException("matchers", $"at most {MaxMatchers} matchers allowed, got {matchers.Count}");
        bool allMatchEmpty = true;
        for (int i = 0; i < matchers.Count; i++)
        {
            var m = matchers[i];
            string field = string.Create(CultureInfo.InvariantCulture, $"matchers[{i}]");
            if (m is null) throw new SilenceValidationException(field, "null matcher");
            if (m.Name is null || m.Name.Length > MaxNameLength || !LabelMatcher.IsValidLabelName(m.Name))
                throw new SilenceValidationException(field + ".name", $"invalid label name \"{Shorten(m.Name)}\"");
            if (m.Value is null) throw new SilenceValidationException(field + ".value", "value required");
            if (m.Value.Length > MaxValueLength) throw new SilenceValidationException(field + ".value", $"longer than {MaxValueLength} characters");
            LabelMatcher lm;
            try { lm = m.ToLabelMatcher(); }
            catch (FormatException e) { throw new SilenceValidationException(field + ".value", e.Message); }
            allMatchEmpty &= lm.Matches("");
        }
        if (allMatchEmpty) throw new SilenceValidationException("matchers", "at least one matcher must not match the empty string (the silence would mute every alert)");
        if (string.IsNullOrWhiteSpace(createdBy)) throw new SilenceValidationException("createdBy", "required");
        if (createdBy.Length > MaxCreatedByLength) throw new SilenceValidationException("createdBy", $"longer than {MaxCreatedByLength} characters");
        if (string.IsNullOrWhiteSpace(comment)) throw new SilenceValidationException("comment", "required");
        if (comment.Length > MaxCommentLength) throw new SilenceValidationException("comment", $"longer than {MaxCommentLength} characters");
        if (endsAt <= startsAt) throw new SilenceValidationException("endsAt", "start time must be before end time");
        if (endsAt <= now) throw new SilenceValidationException("endsAt", "end time can't be in the past");
        var effectiveStart = startsAt < now ? now : startsAt;
        if (effectiveStart - now > MaxDuration) throw new SilenceValidationException("startsAt", $"starts more than {MaxDuration.TotalDays:0} days ahead");
        if (endsAt - effectiveStart > MaxDuration) throw new SilenceValidationException("endsAt", $"silence longer than {MaxDuration.TotalDays:0} days");
    }

    private static string Shorten(string? s) => s is null ? "" : s.Length > 40 ? s[..40] + "..." : s;

    private static DateTimeOffset Truncate(DateTimeOffset t) => DateTimeOffset.FromUnixTimeMilliseconds(t.ToUniversalTime().ToUnixTimeMilliseconds());

    private sealed record CachedSilence(string Id, LabelMatcher[] Matchers, DateTimeOffset StartsAt, DateTimeOffset EndsAt);
}
