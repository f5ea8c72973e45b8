using System.Globalization;
using System.Text.Json;
using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.Monitor.Storage;

namespace ExchangeHealth.Alerting.Evaluation;

/// <summary>One persisted alert instance (the monitor's <c>ALERTS_FOR_STATE</c>).</summary>
/// <param name="GroupKey">The group's key (<c>file:group</c>).</param>
/// <param name="Rule">The alert rule name.</param>
/// <param name="Labels">The alert's labels.</param>
/// <param name="Annotations">Its annotations at the last evaluation.</param>
/// <param name="State">Pending, firing or inactive (resolved, within retention).</param>
/// <param name="Value">Its last value.</param>
/// <param name="ActiveAt">Start of the <c>for</c> clock.</param>
/// <param name="FiredAt">When it fired.</param>
/// <param name="ResolvedAt">When it resolved.</param>
/// <param name="KeepFiringSince">Start of <c>keep_firing_for</c>.</param>
/// <param name="SavedAt">Evaluation time of the save.</param>
public sealed record PersistedAlert(
    string GroupKey, string Rule, LabelSet Labels, LabelSet Annotations, AlertState State, double Value,
    DateTimeOffset ActiveAt, DateTimeOffset? FiredAt, DateTimeOffset? ResolvedAt, DateTimeOffset? KeepFiringSince, DateTimeOffset SavedAt);

/// <summary>
/// Pending and firing alert state in the monitor database, so that a restarted monitor keeps its
/// <c>for</c> timers and its firing alerts (as Prometheus restores from <c>ALERTS_FOR_STATE</c>).
/// A group's rows are replaced in one transaction whenever its alert set or states change.
/// </summary>
public sealed class AlertStateStore
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS alert_state (
            group_key TEXT NOT NULL,
            rule TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            labels TEXT NOT NULL,
            annotations TEXT NOT NULL,
            state TEXT NOT NULL,
            value REAL,
            active_at INTEGER NOT NULL,
            fired_at INTEGER,
            resolved_at INTEGER,
            keep_firing_since INTEGER,
            saved_at INTEGER NOT NULL,
            PRIMARY KEY (group_key, rule, fingerprint));
        """;

    private readonly MonitorDatabase _db;

    /// <summary>Creates the store (and its table) in <paramref name="db"/>.</summary>
    public AlertStateStore(MonitorDatabase db)
    {
        _db = db ?? throw new ArgumentNullException(nameof(db));
        _db.EnsureSchema(Schema);
    }

    /// <summary>Replaces the persisted alerts of <paramref name="groupKey"/> with <paramref name="alerts"/>.</summary>
    public void SaveGroup(string groupKey, IEnumerable<PersistedAlert> alerts)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        using var write = _db.EnterWrite();
        using var c = _db.OpenConnection();
        using var tx = c.BeginTransaction();
        using (var del = c.CreateCommand())
        {
            del.Transaction = tx;
            del.CommandText = "DELETE FROM alert_state WHERE group_key = @g";
            MonitorDatabase.AddParameter(del, "@g", groupKey);
            del.ExecuteNonQuery();
        }
        using var ins = c.CreateCommand();
        ins.Transaction = tx;
        ins.CommandText = """
            INSERT INTO alert_state (group_key, rule, fingerprint, labels, annotations, state, value, active_at, fired_at, resolved_at, keep_firing_since, saved_at)
            VALUES (@g, @r, @f, @l, @a, @s, @v, @act, @fir, @res, @kfs, @sav)
            """;
        var pg = Param(ins, "@g", System.Data.DbType.String);
        var pr = Param(ins, "@r", System.Data.DbType.String);
        var pf = Param(ins, "@f", System.Data.DbType.String);
        var pl = Param(ins, "@l", System.Data.DbType.String);
        var pa = Param(ins, "@a", System.Data.DbType.String);
        var ps = Param(ins, "@s", System.Data.DbType.String);
        var pv = Param(ins, "@v", System.Data.DbType.Double);
        var pact = Param(ins, "@act", System.Data.DbType.Int64);
        var pfir = Param(ins, "@fir", System.Data.DbType.Int64);
        var pres = Param(ins, "@res", System.Data.DbType.Int64);
        var pkfs = Param(ins, "@kfs", System.Data.DbType.Int64);
        var psav = Param(ins, "@sav", System.Data.DbType.Int64);
        foreach (var a in alerts)
        {
            pg.Value = groupKey;
            pr.Value = a.Rule;
            pf.Value = a.Labels.FingerprintHex;
            pl.Value = JsonSerializer.Serialize(a.Labels.ToDictionary());
            pa.Value = JsonSerializer.Serialize(a.Annotations.ToDictionary());
            ps.Value = a.State.ToString().ToLowerInvariant();
            pv.Value = double.IsNaN(a.Value) ? DBNull.Value : a.Value;
            pact.Value = a.ActiveAt.ToUnixTimeMilliseconds();
            pfir.Value = (object?)a.FiredAt?.ToUnixTimeMilliseconds() ?? DBNull.Value;
            pres.Value = (object?)a.ResolvedAt?.ToUnixTimeMilliseconds() ?? DBNull.Value;
            pkfs.Value = (object?)a.KeepFiringSince?.ToUnixTimeMilliseconds() ?? DBNull.Value;
            psav.Value = a.SavedAt.ToUnixTimeMilliseconds();
            ins.ExecuteNonQuery();
        }
        tx.Commit();
    }

    /// <summary>The persisted alerts of <paramref name="groupKey"/>.</summary>
    public IReadOnlyList<PersistedAlert> LoadGroup(string groupKey)
    {
        using var c = _db.OpenConnection();
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            SELECT rule, labels, annotations, state, value, active_at, fired_at, resolved_at, keep_firing_since, saved_at
            FROM alert_state WHERE group_key = @g ORDER BY rule, fingerprint
            """;
        MonitorDatabase.AddParameter(cmd, "@g", groupKey);
        using var r = cmd.ExecuteReader();
        var list = new List<PersistedAlert>();
        while (r.Read())
        {
            static DateTimeOffset? Time(System.Data.Common.DbDataReader r, int i) =>
                r.IsDBNull(i) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(i));
            list.Add(new PersistedAlert(
                groupKey,
                r.GetString(0),
                LabelSet.From(JsonSerializer.Deserialize<Dictionary<string, string>>(r.GetString(1)) ?? []),
                LabelSet.From(JsonSerializer.Deserialize<Dictionary<string, string>>(r.GetString(2)) ?? []),
                Enum.Parse<AlertState>(r.GetString(3), ignoreCase: true),
                r.IsDBNull(4) ? double.NaN : r.GetDouble(4),
                DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)),
                Time(r, 6), Time(r, 7), Time(r, 8),
                DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(9))));
        }
        return list;
    }

    private static System.Data.Common.DbParameter Param(System.Data.Common.DbCommand cmd, string name, System.Data.DbType type)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = name;
        p.DbType = type;
        cmd.Parameters.Add(p);
        return p;
    }

    /// <summary>Number of persisted alerts per state (for the status API); keys are lower-case state names.</summary>
    public IReadOnlyDictionary<string, int> CountByState()
    {
        using var c = _db.OpenConnection();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT state, COUNT(*) FROM alert_state GROUP BY state";
        using var r = cmd.ExecuteReader();
        var d = new Dictionary<string, int>(StringComparer.Ordinal);
        while (r.Read()) d[r.GetString(0)] = Convert.ToInt32(r.GetInt64(1), CultureInfo.InvariantCulture);
        return d;
    }
}
