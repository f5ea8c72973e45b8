using System.Globalization;
using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Alerting.Silences;
using ExchangeHealth.Monitor.Prometheus;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ExchangeHealth.Alerting.Routing;

/// <summary>Whether a firing alert would be notified or is muted (Alertmanager API v2 <c>status.state</c>).</summary>
public enum AlertViewState
{
    /// <summary>Neither silenced nor inhibited.</summary>
    Active,

    /// <summary>Silenced or inhibited.</summary>
    Suppressed,
}

/// <summary>A firing alert as the API shows it (Alertmanager API v2 <c>gettableAlert</c>).</summary>
/// <param name="Alert">The alert as last received.</param>
/// <param name="Fingerprint">16 hex digits.</param>
/// <param name="State">Active or suppressed.</param>
/// <param name="SilencedBy">Ids of the active silences matching it, sorted.</param>
/// <param name="InhibitedBy">Fingerprints of the firing alerts inhibiting it, sorted.</param>
/// <param name="Receivers">Receivers of the routes it takes, in route order, distinct.</param>
/// <param name="UpdatedAt">When it was last received.</param>
public sealed record AlertView(
    Alert Alert,
    string Fingerprint,
    AlertViewState State,
    IReadOnlyList<string> SilencedBy,
    IReadOnlyList<string> InhibitedBy,
    IReadOnlyList<string> Receivers,
    DateTimeOffset UpdatedAt);

/// <summary>A notification the dispatcher produced, with the route it came from.</summary>
/// <param name="Notification">The notification (for a resolution not sent, the one that would have been sent).</param>
/// <param name="Route">The route of the group (its options say whether it pages).</param>
/// <param name="Enqueued">True when it went to the outbox; false for a resolution the receiver does not want (<c>send_resolved: false</c>).</param>
public sealed record NotificationFlush(Notification Notification, Route Route, bool Enqueued);

/// <summary>An aggregation group as the API shows it.</summary>
/// <param name="Receiver">Receiver name.</param>
/// <param name="GroupKey">The group key (see <see cref="AlertDispatcher"/>).</param>
/// <param name="RouteKey">Key of the route that formed the group.</param>
/// <param name="GroupLabels">The group-by labels and values.</param>
/// <param name="Alerts">Its alerts (firing ones with no end time, resolved ones not yet notified with theirs).</param>
/// <param name="NextFlushAt">When it is next flushed.</param>
public sealed record AlertGroupView(string Receiver, string GroupKey, string RouteKey, LabelSet GroupLabels, IReadOnlyList<Alert> Alerts, DateTimeOffset NextFlushAt);

/// <summary>
/// Alertmanager's dispatcher, aggregation groups and notification pipeline decisions, driven by a
/// <see cref="TimeProvider"/>:
/// <list type="bullet">
/// <item>Every received alert (upserted by fingerprint) goes to the aggregation group of each
/// route it takes (<see cref="Route.Match"/>). The group key is
/// <c>routeKey + ":" + groupLabels</c>, e.g. <c>{}/{severity="page"}:{alertname="EngineDown", market="BTC-USD"}</c>:
/// the route's <see cref="Route.Key"/> and the group-by labels in Prometheus notation (Alertmanager's
/// <c>aggrGroup.GroupKey()</c>).</item>
/// <item>A group is first flushed <c>group_wait</c> after it was created (at once when an alert in
/// it started more than <c>group_wait</c> ago), then every <c>group_interval</c>.</item>
/// <item>At a flush, alerts silenced (<see cref="ISilencer"/>) or inhibited (<see cref="Inhibitor"/>)
/// are left out (Alertmanager's MuteStage); the rest are compared with the last notification of
/// the group in the notification log (<see cref="INotificationSink.GetLastAsync"/>) as
/// Alertmanager's <c>DedupStage.needsUpdate</c>: notify when a firing alert is new, when every
/// alert resolved after firing ones were notified, when the receiver sends resolved
/// notifications and a resolved alert is new, or when <c>repeat_interval</c> passed since the last
/// notification (at or after, where Alertmanager's timers jitter).</item>
/// <item>Kind: <see cref="NotificationKind.New"/> (no previous notification, or the previous one
/// was <see cref="NotificationKind.Resolved"/>), <see cref="NotificationKind.Resolved"/> (nothing
/// fires), <see cref="NotificationKind.Update"/> (the set changed), <see cref="NotificationKind.Repeat"/>.
/// Sequence = previous + 1. The log's <see cref="Notification.FiringHash"/> and
/// <see cref="Notification.ResolvedHash"/> are the sorted, comma-separated fingerprints of the
/// firing and resolved alerts (what Alertmanager's nflog keeps), so changes can be detected
/// across restarts.</item>
/// <item>Resolved alerts leave the group after a flush that handled them (notified, or not
/// needed, e.g. <c>send_resolved: false</c>); empty groups are removed. When every alert of a
/// notified group resolved and the receiver does not send resolved notifications, nothing is
/// sent and the group starts afresh (<see cref="NotificationKind.New"/>) when it fires again; as
/// Alertmanager records that in its log only, this process remembers it in memory and, after a
/// restart, treats a last notification older than every firing alert as a past episode.</item>
/// <item>Every receiver gets its notifications, also one without integrations (Alertmanager
/// would drop them: its "null" receiver); the monitor host prints those on the console.</item>
/// <item>An alert received without an end time resolves when it is not received again within
/// <c>resolve_timeout</c> (producers re-send firing alerts, as Prometheus does every minute).</item>
/// </list>
/// The sink is the durable log, so a dispatcher restarted with the same sink (and the same alerts
/// re-sent) neither repeats an unchanged group before <c>repeat_interval</c> nor forgets one.
/// Thread-safe: ingestion, flushes, configuration changes and reads may run concurrently; flushes
/// run one at a time.
/// </summary>
public sealed class AlertDispatcher : IDisposable
{
    private readonly INotificationSink _sink;
    private readonly ISilencer? _silencer;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _flushGate = new(1, 1);
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly Dictionary<string, StoredAlert> _alerts = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Receiver, string GroupKey), long> _clearedAt = [];
    private readonly DateTimeOffset _startedAt;
    private Dictionary<(string Receiver, string GroupKey), Group> _groups = [];
    private RoutingConfig _config;
    private Inhibitor _inhibitor;
    private long _version;

    /// <summary>Creates a dispatcher.</summary>
    /// <param name="config">Routing configuration.</param>
    /// <param name="sink">Where notifications go; also the notification log.</param>
    /// <param name="silencer">Silences, or null for none.</param>
    /// <param name="timeProvider">The clock and timers.</param>
    /// <param name="logger">Logger for failed flushes, or null.</param>
    public AlertDispatcher(RoutingConfig config, INotificationSink sink, ISilencer? silencer, TimeProvider timeProvider, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _config = config;
        _inhibitor = new Inhibitor(config.InhibitRules);
        _sink = sink;
        _silencer = silencer;
        _time = timeProvider;
        _logger = logger ?? NullLogger.Instance;
        _startedAt = timeProvider.GetUtcNow();
    }

    /// <summary>The configuration in force.</summary>
    public RoutingConfig Config
    {
        get { lock (_lock) return _config; }
    }

    /// <summary>
    /// Receives alerts: each is upserted by fingerprint into the aggregation group of every route
    /// it takes. An alert whose <see cref="Alert.EndsAt"/> is not after now is resolved.
    /// </summary>
    /// <exception cref="ArgumentException">An alert without labels, with an invalid label name, without a start time, or ending before it starts; nothing is ingested then. The message names the alert's index and field.</exception>
    public Task IngestAsync(IEnumerable<Alert> alerts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        cancellationToken.ThrowIfCancellationRequested();
        var list = alerts.ToList();
        for (int i = 0; i < list.Count; i++) Validate(list[i], i);
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            foreach (var alert in list)
            {
                string fp = alert.Fingerprint;
                if (_alerts.TryGetValue(fp, out var stored))
                {
                    stored.Alert = alert;
                    stored.ReceivedAt = now;
                    stored.Version = ++_version;
                }
                else
                {
                    stored = new StoredAlert(fp, alert, now, ++_version, _config.Root.Match(alert.Labels));
                    _alerts.Add(fp, stored);
                }
                foreach (var route in stored.Routes) InsertIntoGroup(_groups, null, route, stored, now);
            }
        }
        if (list.Count > 0) _wake.Release();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Flushes every group whose flush time has come (in flush-time order), then schedules each
    /// one <c>group_interval</c> later. For tests driving a manual clock, and called by
    /// <see cref="RunAsync"/>.
    /// </summary>
    public async Task FlushDueAsync(CancellationToken cancellationToken = default)
    {
        await _flushGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            List<Group> due;
            InhibitionSnapshot inhibition;
            lock (_lock)
            {
                due = _groups.Values.Where(g => g.NextFlush <= now).OrderBy(g => g.NextFlush).ThenBy(g => g.Key.GroupKey, StringComparer.Ordinal).ToList();
                foreach (var g in due)
                {
                    g.HasFlushed = true;
                    g.NextFlush = now + g.Route.Options.GroupInterval;
                }
                // One view of the inhibiting alerts for every group flushed at this instant.
                inhibition = _inhibitor.Snapshot(_alerts.Values.Select(Effective), now);
            }
            foreach (var g in due)
            {
                cancellationToken.ThrowIfCancellationRequested();
                await FlushGroupAsync(g, now, inhibition, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _flushGate.Release();
        }
    }

    /// <summary>
    /// Runs until cancelled: flushes due groups and sleeps (on the <see cref="TimeProvider"/>)
    /// until the next flush time or until new alerts arrive. A failing flush is logged and the
    /// loop goes on.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await FlushDueAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // the loop must survive any single failure
            catch (Exception e)
#pragma warning restore CA1031
            {
                _logger.LogError(e, "alert dispatcher: flush failed");
            }

            var delay = TimeSpan.FromMinutes(1);
            lock (_lock)
            {
                while (_wake.CurrentCount > 0) _wake.Wait(0, CancellationToken.None);
                if (_groups.Count > 0)
                {
                    var next = _groups.Values.Min(g => g.NextFlush) - _time.GetUtcNow();
                    if (next < delay) delay = next < TimeSpan.Zero ? TimeSpan.Zero : next;
                }
            }
            if (delay == TimeSpan.Zero) continue;
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var sleep = Task.Delay(delay, _time, cts.Token);
            var wake = _wake.WaitAsync(cts.Token);
            await Task.WhenAny(sleep, wake).ConfigureAwait(false);
            await cts.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Switches to <paramref name="config"/> and re-routes every alert held. A group that exists
    /// under the same receiver and group key in both configurations keeps its timing; other
    /// groups start with <c>group_wait</c>, and the notification log prevents repeats.
    /// </summary>
    public void ReplaceConfig(RoutingConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            _config = config;
            _inhibitor = new Inhibitor(config.InhibitRules);
            var old = _groups;
            _groups = [];
            foreach (var stored in _alerts.Values)
            {
                stored.GroupRefs = 0;
                stored.Routes = config.Root.Match(stored.Alert.Labels);
            }
            foreach (var stored in _alerts.Values)
            {
                foreach (var route in stored.Routes) InsertIntoGroup(_groups, old, route, stored, now);
            }
        }
        _wake.Release();
    }

    /// <summary>
    /// The firing alerts held, with their state at this moment: silences (<see cref="ISilencer"/>),
    /// inhibitions and receivers. Resolved alerts are not listed (as Alertmanager's API).
    /// Ordered by labels.
    /// </summary>
    public IReadOnlyList<AlertView> GetAlerts()
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            var effective = _alerts.Values.Select(s => (Stored: s, Alert: Effective(s))).ToList();
            var inhibition = _inhibitor.Snapshot(effective.Select(x => x.Alert), now);
            var result = new List<AlertView>();
            foreach (var (stored, alert) in effective)
            {
                if (alert.StatusAt(now) != AlertStatus.Firing) continue;
                var silencedBy = _silencer?.Silenced(alert.Labels, now) ?? [];
                var inhibitedBy = inhibition.InhibitedBy(alert.Labels);
                var receivers = stored.Routes.Select(r => r.Receiver).Distinct(StringComparer.Ordinal).ToList();
                var state = silencedBy.Count > 0 || inhibitedBy.Count > 0 ? AlertViewState.Suppressed : AlertViewState.Active;
                result.Add(new AlertView(stored.Alert, stored.Fingerprint, state, silencedBy, inhibitedBy, receivers, stored.ReceivedAt));
            }
            return result.OrderBy(v => v.Alert.Labels.ToString(), StringComparer.Ordinal).ToList();
        }
    }

    /// <summary>The aggregation groups held, ordered by receiver and group key.</summary>
    public IReadOnlyList<AlertGroupView> GetGroups()
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            return _groups.Values
                .OrderBy(g => g.Key.Receiver, StringComparer.Ordinal).ThenBy(g => g.Key.GroupKey, StringComparer.Ordinal)
                .Select(g => new AlertGroupView(g.Key.Receiver, g.Key.GroupKey, g.Route.Key, g.Labels,
                    Sorted(g.Members.Select(fp => ForNotification(Effective(_alerts[fp]), now))), g.NextFlush))
                .ToList();
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _flushGate.Dispose();
        _wake.Dispose();
    }

    private async Task FlushGroupAsync(Group group, DateTimeOffset now, InhibitionSnapshot inhibition, CancellationToken cancellationToken)
    {
        List<(StoredAlert Stored, long Version, Alert Alert)> snapshot;
        ReceiverConfig receiver;
        lock (_lock)
        {
            if (!_groups.TryGetValue(group.Key, out var current) || !ReferenceEquals(current, group)) return;
            snapshot = group.Members.Select(fp => _alerts[fp]).Select(s => (s, s.Version, ForNotification(Effective(s), now))).ToList();
            receiver = _config.Receiver(group.Key.Receiver);
        }

        // MuteStage: inhibited, then silenced alerts are left out of the notification.
        var kept = snapshot
            .Where(x => !inhibition.IsInhibited(x.Alert.Labels) && (_silencer is null || _silencer.Silenced(x.Alert.Labels, now).Count == 0))
            .Select(x => x.Alert)
            .ToList();

        bool handled = true;
        if (kept.Count > 0)
        {
            try
            {
                await NotifyAsync(group, receiver, kept, now, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
#pragma warning disable CA1031 // a failed hand-over is retried at the next group_interval; the alerts stay
            catch (Exception e)
#pragma warning restore CA1031
            {
                handled = false;
                _logger.LogError(e, "alert dispatcher: notification for receiver {Receiver} group {GroupKey} not stored; retrying at the next flush",
                    group.Key.Receiver, group.Key.GroupKey);
            }
        }
        if (!handled) return;

        lock (_lock)
        {
            if (!_groups.TryGetValue(group.Key, out var current) || !ReferenceEquals(current, group)) return;
            foreach (var (stored, version, alert) in snapshot)
            {
                // Only drop an alert not received again since this flush looked at it.
                if (alert.StatusAt(now) != AlertStatus.Resolved || stored.Version != version) continue;
                if (!group.Members.Remove(stored.Fingerprint)) continue;
                stored.GroupRefs--;
                if (stored.GroupRefs == 0) _alerts.Remove(stored.Fingerprint);
            }
            if (group.Members.Count == 0) _groups.Remove(group.Key);
        }
    }

    private async Task NotifyAsync(Group group, ReceiverConfig receiver, List<Alert> alerts, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var (receiverName, groupKey) = group.Key;
        var firing = alerts.Where(a => a.StatusAt(now) == AlertStatus.Firing).ToList();
        var resolved = alerts.Where(a => a.StatusAt(now) == AlertStatus.Resolved).ToList();
        var firingSet = firing.Select(a => a.Fingerprint).ToHashSet(StringComparer.Ordinal);
        var resolvedSet = resolved.Select(a => a.Fingerprint).ToHashSet(StringComparer.Ordinal);
        bool sendResolved = receiver.SendResolved;

        var entry = await _sink.GetLastAsync(receiverName, groupKey, cancellationToken).ConfigureAwait(false);
        bool fresh = entry is null;
        if (entry is not null)
        {
            lock (_lock)
            {
                if (_clearedAt.TryGetValue(group.Key, out long clearedSequence) && clearedSequence == entry.Sequence) fresh = true;
            }
            // After a restart: without send_resolved the end of the last episode was never logged;
            // a last notification older than every firing alert was about an earlier episode.
            if (!fresh && !sendResolved && entry.Kind != NotificationKind.Resolved && entry.CreatedAt < _startedAt
                && firing.Count > 0 && firing.All(a => a.StartsAt > entry.CreatedAt))
                fresh = true;
        }

        NotificationKind kind;
        if (fresh || entry is null)
        {
            if (firing.Count == 0) return;
            kind = NotificationKind.New;
        }
        else
        {
            var previousFiring = SplitHashes(entry.FiringHash);
            var previousResolved = SplitHashes(entry.ResolvedHash);
            if (!firingSet.IsSubsetOf(previousFiring))
                kind = previousFiring.Count == 0 && entry.Kind == NotificationKind.Resolved ? NotificationKind.New : NotificationKind.Update;
            else if (firing.Count == 0)
            {
                // Every alert resolved: needed only if the receiver was told about firing ones.
                if (previousFiring.Count == 0) return;
                kind = NotificationKind.Resolved;
            }
            else if (sendResolved && !resolvedSet.IsSubsetOf(previousResolved))
                kind = NotificationKind.Update;
            else if (entry.CreatedAt <= now - group.Route.Options.RepeatInterval)
                kind = NotificationKind.Repeat;
            else
                return;
        }

        if (kind == NotificationKind.Resolved && !sendResolved)
        {
            // Alertmanager logs this without sending; our log is the outbox, so remember it here.
            lock (_lock) _clearedAt[group.Key] = entry!.Sequence;
            var unsent = new Notification(receiverName, groupKey, entry.Sequence, kind, group.Labels,
                Common(alerts.Select(a => a.Labels)), Common(alerts.Select(a => a.Annotations)), Sorted(alerts),
                JoinHashes(firingSet), JoinHashes(resolvedSet), now);
            await RaiseFlushedAsync(new NotificationFlush(unsent, group.Route, false), cancellationToken).ConfigureAwait(false);
            return;
        }

        var sent = Sorted(sendResolved ? alerts : firing);
        var notification = new Notification(
            receiverName,
            groupKey,
            (entry?.Sequence ?? 0) + 1,
            kind,
            group.Labels,
            Common(sent.Select(a => a.Labels)),
            Common(sent.Select(a => a.Annotations)),
            sent,
            JoinHashes(firingSet),
            JoinHashes(resolvedSet),
            now);
        await _sink.EnqueueAsync(notification, cancellationToken).ConfigureAwait(false);
        lock (_lock) _clearedAt.Remove(group.Key);
        await RaiseFlushedAsync(new NotificationFlush(notification, group.Route, true), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Raised after each flush that produced a notification: enqueued ones, and the resolution of a
    /// group whose receiver does not send resolved notifications (<see cref="NotificationFlush.Enqueued"/>
    /// false). Incidents open and mitigate from here. Handler exceptions are logged, never fail routing.
    /// </summary>
    public event Func<NotificationFlush, CancellationToken, Task>? Flushed;

    private Task RaiseFlushedAsync(NotificationFlush flush, CancellationToken cancellationToken) =>
        AsyncEventHandlers.InvokeAsync(Flushed, flush, e => _logger.LogError(e, "A flush handler failed for group {GroupKey}", flush.Notification.GroupKey), cancellationToken);

    private void InsertIntoGroup(
        Dictionary<(string, string), Group> groups, Dictionary<(string, string), Group>? previous, Route route, StoredAlert stored, DateTimeOffset now)
    {
        var labels = route.GroupLabels(stored.Alert.Labels);
        var key = (route.Receiver, route.Key + ":" + labels);
        if (!groups.TryGetValue(key, out var group))
        {
            group = new Group(key, route, labels) { NextFlush = now + route.Options.GroupWait };
            if (previous is not null && previous.TryGetValue(key, out var old))
            {
                group.HasFlushed = old.HasFlushed;
                group.NextFlush = old.NextFlush;
            }
            groups.Add(key, group);
        }
        if (group.Members.Add(stored.Fingerprint)) stored.GroupRefs++;
        // Alertmanager: flush at once when the alert's group_wait is already over.
        if (!group.HasFlushed && stored.Alert.StartsAt + route.Options.GroupWait < now && group.NextFlush > now) group.NextFlush = now;
    }

    private Alert Effective(StoredAlert s) =>
        s.Alert.EndsAt is null ? s.Alert with { EndsAt = s.ReceivedAt + _config.Global.ResolveTimeout } : s.Alert;

    // As Alertmanager's flush: alerts still firing carry no end time in notifications.
    private static Alert ForNotification(Alert effective, DateTimeOffset now) =>
        effective.StatusAt(now) == AlertStatus.Firing && effective.EndsAt is not null ? effective with { EndsAt = null } : effective;

    // Alertmanager's AlertSlice order: label job, then instance, then the whole label set.
    private static List<Alert> Sorted(IEnumerable<Alert> alerts)
    {
        var list = alerts.Select(a => (Alert: a, Text: a.Labels.ToString())).ToList();
        list.Sort((x, y) =>
        {
            LabelSet a = x.Alert.Labels, b = y.Alert.Labels;
            foreach (string key in (ReadOnlySpan<string>)["job", "instance"])
            {
                bool ai = a.TryGetValue(key, out string av), bi = b.TryGetValue(key, out string bv);
                if (!ai && !bi) continue;
                if (!ai) return 1;
                if (!bi) return -1;
                int c = string.CompareOrdinal(av, bv);
                if (c != 0) return c;
            }
            return string.CompareOrdinal(x.Text, y.Text);
        });
        return list.ConvertAll(x => x.Alert);
    }

    private static LabelSet Common(IEnumerable<LabelSet> sets)
    {
        Dictionary<string, string>? common = null;
        foreach (var set in sets)
        {
            if (common is null)
            {
                common = set.ToDictionary();
                continue;
            }
            foreach (var name in common.Keys.ToList())
            {
                if (!set.TryGetValue(name, out string v) || !string.Equals(v, common[name], StringComparison.Ordinal)) common.Remove(name);
            }
        }
        return common is null ? LabelSet.Empty : LabelSet.From(common);
    }

    private static string JoinHashes(IEnumerable<string> fingerprints) =>
        string.Join(",", fingerprints.Order(StringComparer.Ordinal));

    private static HashSet<string> SplitHashes(string hash) =>
        hash.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);

    private static void Validate(Alert alert, int index)
    {
        string at = string.Create(CultureInfo.InvariantCulture, $"alerts[{index}]");
        if (alert is null) throw new ArgumentException($"{at}: null alert", nameof(alert));
        if (alert.Labels is null || alert.Labels.Count == 0) throw new ArgumentException($"{at}.labels: at least one label pair required", nameof(alert));
        foreach (var (name, _) in alert.Labels)
        {
            if (!LabelMatcher.IsValidLabelName(name)) throw new ArgumentException($"{at}.labels: invalid label name \"{name}\"", nameof(alert));
        }
        if (alert.Annotations is null) throw new ArgumentException($"{at}.annotations: required (may be empty)", nameof(alert));
        if (alert.StartsAt == default) throw new ArgumentException($"{at}.startsAt: start time missing", nameof(alert));
        if (alert.EndsAt is { } end && end < alert.StartsAt) throw new ArgumentException($"{at}.endsAt: start time must be before end time", nameof(alert));
    }

    private sealed class StoredAlert(string fingerprint, Alert alert, DateTimeOffset receivedAt, long version, IReadOnlyList<Route> routes)
    {
        public string Fingerprint { get; } = fingerprint;
        public Alert Alert { get; set; } = alert;
        public DateTimeOffset ReceivedAt { get; set; } = receivedAt;
        public long Version { get; set; } = version;
        public IReadOnlyList<Route> Routes { get; set; } = routes;
        public int GroupRefs { get; set; }
    }

    private sealed class Group((string Receiver, string GroupKey) key, Route route, LabelSet labels)
    {
        public (string Receiver, string GroupKey) Key { get; } = key;
        public Route Route { get; } = route;
        public LabelSet Labels { get; } = labels;
        public HashSet<string> Members { get; } = new(StringComparer.Ordinal);
        public DateTimeOffset NextFlush { get; set; }
        public bool HasFlushed { get; set; }
    }
}
