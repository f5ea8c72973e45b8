using System.Globalization;
using System.Threading.Channels;
using ExchangeHealth.Alerting.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Timeout;

namespace ExchangeHealth.Alerting.Notify;

/// <summary>Settings of <see cref="OutboxDeliverer"/>.</summary>
public sealed class OutboxDelivererOptions
{
    /// <summary>How often the loop looks for due entries without being woken (default 1 s).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Wait after the first failed attempt; doubled after each further one (default 1 s).</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Cap of the exponential backoff (default 5 min).</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Random spread of a backoff, as a fraction: the wait is multiplied by a factor in [1 − j, 1 + j] (default 0.2; 0 for none).</summary>
    public double Jitter { get; init; } = 0.2;

    /// <summary>Age (from the notification's creation) after which a still failing entry is dead (default 24 h).</summary>
    public TimeSpan DeadAfter { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Overall limit of one delivery attempt, across all of a notifier's requests (default 2 min); a timeout is retried.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>At most this many entries per round (default 100).</summary>
    public int BatchSize { get; init; } = 100;

    /// <summary>Entries of different groups delivered in parallel (default 4).</summary>
    public int MaxConcurrency { get; init; } = 4;

    /// <summary>
    /// Delivered and dead entries older than this are pruned by <see cref="OutboxDeliverer.RunAsync"/>
    /// (hourly), except each group's last one (default 7 days; <see cref="Timeout.InfiniteTimeSpan"/> keeps everything).
    /// </summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromDays(7);
}

/// <summary>
/// Delivers the outbox: each round claims the due entries (at most one per group, in sequence
/// order), hands each to its receiver's <see cref="INotifier"/> and records the outcome:
/// delivered; retried with exponential backoff (<see cref="OutboxDelivererOptions.InitialBackoff"/>
/// doubling up to <see cref="OutboxDelivererOptions.MaxBackoff"/>, with jitter; a receiver's
/// <c>Retry-After</c> is honoured: the next attempt is not earlier); or dead (a permanent failure,
/// or a failure once the entry is <see cref="OutboxDelivererOptions.DeadAfter"/> old: logged as an
/// error and counted as <c>failed</c>). Like Alertmanager's notification pipeline with retries,
/// but durable: the outbox survives restarts.
/// </summary>
/// <remarks>
/// <see cref="RunAsync"/> wakes when <see cref="SqliteOutbox.Enqueued"/> fires and polls every
/// <see cref="OutboxDelivererOptions.PollInterval"/>. Rounds never overlap (tests may call
/// <see cref="DeliverDueAsync"/> directly). Cancelling a round leaves in-flight entries pending:
/// their notifier must recognise a repeated attempt (<see cref="INotifier"/>). Time comes from the
/// <see cref="TimeProvider"/>; the attempt timeout is a Polly timeout strategy on the same clock.
/// </remarks>
public sealed class OutboxDeliverer : IDisposable
{
    private readonly SqliteOutbox _outbox;
    private readonly Func<string, INotifier?> _notifiers;
    private readonly NotificationMetrics? _metrics;
    private readonly OutboxDelivererOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _attemptPipeline;
    private readonly SemaphoreSlim _round = new(1, 1);
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly EventHandler _onEnqueued;
    private bool _disposed;
    private DateTimeOffset _nextPrune = DateTimeOffset.MinValue;

    /// <summary>Creates the deliverer; it subscribes to <paramref name="outbox"/>'s <see cref="SqliteOutbox.Enqueued"/>.</summary>
    /// <param name="outbox">The outbox to deliver.</param>
    /// <param name="notifiers">Receiver name → notifier. An entry for a receiver without one goes dead ("no notifier").</param>
    /// <param name="metrics">Counters and the depth gauge; null for none.</param>
    /// <param name="options">Settings; defaults when null.</param>
    /// <param name="timeProvider">Clock for due times, backoff and the attempt timeout; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="logger">Log; retries are warnings, dead entries errors. Null for none.</param>
    public OutboxDeliverer(
        SqliteOutbox outbox,
        IReadOnlyDictionary<string, INotifier> notifiers,
        NotificationMetrics? metrics = null,
        OutboxDelivererOptions? options = null,
        TimeProvider? timeProvider = null,
        ILogger? logger = null)
        : this(outbox, LookupIn(notifiers), metrics, options, timeProvider, logger)
    {
    }

    /// <summary>Creates the deliverer with a notifier lookup (e.g. one that follows configuration reloads).</summary>
    /// <param name="outbox">The outbox to deliver.</param>
    /// <param name="notifiers">Receiver name → notifier, or null when there is none (the entry goes dead).</param>
    /// <param name="metrics">Counters and the depth gauge; null for none.</param>
    /// <param name="options">Settings; defaults when null.</param>
    /// <param name="timeProvider">Clock; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="logger">Log; null for none.</param>
    public OutboxDeliverer(
        SqliteOutbox outbox,
        Func<string, INotifier?> notifiers,
        NotificationMetrics? metrics = null,
        OutboxDelivererOptions? options = null,
        TimeProvider? timeProvider = null,
        ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(outbox);
        ArgumentNullException.ThrowIfNull(notifiers);
        _outbox = outbox;
        _notifiers = notifiers;
        _metrics = metrics;
        _options = options ?? new OutboxDelivererOptions();
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_options.PollInterval, TimeSpan.Zero, "options.PollInterval");
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_options.InitialBackoff, TimeSpan.Zero, "options.InitialBackoff");
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxBackoff, _options.InitialBackoff, "options.MaxBackoff");
        if (_options.Jitter is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(options), _options.Jitter, "options.Jitter must be in [0, 1)");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.BatchSize, "options.BatchSize");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.MaxConcurrency, "options.MaxConcurrency");
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _attemptPipeline = new ResiliencePipelineBuilder { TimeProvider = _time }.AddTimeout(_options.AttemptTimeout).Build();
        _onEnqueued = (_, _) => Wake();
        _outbox.Enqueued += _onEnqueued;
    }

    /// <summary>Makes <see cref="RunAsync"/> look for due entries now instead of at the next poll.</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    /// <summary>
    /// Delivers until <paramref name="cancellationToken"/> is cancelled: a round, then (when the
    /// round found nothing) a wait for <see cref="Wake"/> or the poll interval. Errors of a round
    /// (e.g. a locked database) are logged and the loop goes on. Returns when cancelled.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested && !_disposed)
        {
            int handled = 0;
            try
            {
                handled = await DeliverDueAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _logger.LogError(e, "Outbox delivery round failed; retrying in {PollInterval}", _options.PollInterval);
            }
            if (handled > 0) continue; // later entries of the same groups may be due now
            await PruneIfDueAsync().ConfigureAwait(false);
            try
            {
                await WaitForWorkAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>
    /// One round: delivers the entries due now (at most <see cref="OutboxDelivererOptions.BatchSize"/>,
    /// one per group) and refreshes the depth gauge. Waits for a running round to finish first.
    /// </summary>
    /// <returns>The number of entries attempted (0: nothing was due).</returns>
    public async Task<int> DeliverDueAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _round.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var due = await _outbox.ClaimDueAsync(_time.GetUtcNow(), _options.BatchSize, cancellationToken).ConfigureAwait(false);
            if (due.Count == 1)
            {
                await DeliverOneAsync(due[0], cancellationToken).ConfigureAwait(false);
            }
            else if (due.Count > 1)
            {
                var parallel = new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrency, CancellationToken = cancellationToken };
                await Parallel.ForEachAsync(due, parallel, async (entry, ct) =>
                {
                    try
                    {
                        await DeliverOneAsync(entry, ct).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
                    {
                        // e.g. the database was unavailable while recording the outcome: the entry stays
                        // pending and is tried again; the other deliveries of the round go on
                        _logger.LogError(e, "Delivering notification {DedupKey} failed", entry.DedupKey);
                    }
                }).ConfigureAwait(false);
            }
            _metrics?.SetOutboxDepth(await _outbox.CountPendingAsync(CancellationToken.None).ConfigureAwait(false));
            return due.Count;
        }
        finally
        {
            _round.Release();
        }
    }

    /// <summary>The wait before attempt number <paramref name="failedAttempts"/> + 1 after <paramref name="failedAttempts"/> failures, without jitter: 1 s, 2 s, 4 s, ... capped.</summary>
    internal TimeSpan Backoff(int failedAttempts)
    {
        int exponent = Math.Clamp(failedAttempts - 1, 0, 30);
        double ticks = _options.InitialBackoff.Ticks * Math.Pow(2, exponent);
        return TimeSpan.FromTicks((long)Math.Min(ticks, _options.MaxBackoff.Ticks));
    }

    private async Task DeliverOneAsync(OutboxEntry entry, CancellationToken cancellationToken)
    {
        var n = entry.Notification;
        var notifier = _notifiers(n.Receiver);
        if (notifier is null)
        {
            string error = $"no notifier is configured for receiver '{n.Receiver}'";
            await _outbox.MarkDeadAsync(entry.Id, error, CancellationToken.None).ConfigureAwait(false);
            _metrics?.Record(n.Receiver, NotificationMetrics.Failed);
            _logger.LogError("Notification {DedupKey} is dead: {Error}", entry.DedupKey, error);
            return;
        }

        DeliveryResult result;
        try
        {
            result = await _attemptPipeline.ExecuteAsync(
                static async (state, ct) => await state.notifier.DeliverAsync(state.n, ct).ConfigureAwait(false),
                (notifier, n),
                cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw; // shutdown: the entry stays pending; the notifier recognises the repeated attempt
        }
        catch (TimeoutRejectedException)
        {
            result = new DeliveryResult.Retry(null, $"delivery attempt timed out after {_options.AttemptTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            result = new DeliveryResult.Retry(null, $"{e.GetType().Name}: {e.Message}");
        }

        var now = _time.GetUtcNow();
        switch (result)
        {
            case DeliveryResult.Delivered:
                await _outbox.MarkDeliveredAsync(entry.Id, now, CancellationToken.None).ConfigureAwait(false);
                _metrics?.Record(n.Receiver, NotificationMetrics.Delivered);
                _logger.LogInformation("Notification {DedupKey} ({Kind}) delivered after {Attempts} attempt(s)", entry.DedupKey, n.Kind, entry.Attempts + 1);
                RaiseAttempted(n, result, now, entry.Attempts + 1);
                break;

            case DeliveryResult.Failed failed:
                await _outbox.MarkDeadAsync(entry.Id, failed.Error, CancellationToken.None).ConfigureAwait(false);
                _metrics?.Record(n.Receiver, NotificationMetrics.Failed);
                _logger.LogError("Notification {DedupKey} is dead after a permanent failure: {Error}", entry.DedupKey, failed.Error);
                RaiseAttempted(n, result, now, entry.Attempts + 1);
                break;

            case DeliveryResult.Retry retry:
                var deadline = n.CreatedAt + _options.DeadAfter;
                if (now >= deadline)
                {
                    string error = $"gave up after {entry.Attempts + 1} attempts over {FormatAge(now - n.CreatedAt)}: {retry.Error}";
                    await _outbox.MarkDeadAsync(entry.Id, error, CancellationToken.None).ConfigureAwait(false);
                    _metrics?.Record(n.Receiver, NotificationMetrics.Failed);
                    _logger.LogError("Notification {DedupKey} is dead: {Error}", entry.DedupKey, error);
                    RaiseAttempted(n, new DeliveryResult.Failed(error), now, entry.Attempts + 1);
                    break;
                }
                var next = now + RetryDelay(entry.Attempts + 1, retry.After);
                if (next > deadline) next = deadline; // one last attempt at the dead-letter age
                await _outbox.MarkRetryAsync(entry.Id, retry.Error, next, CancellationToken.None).ConfigureAwait(false);
                _metrics?.Record(n.Receiver, NotificationMetrics.Retried);
                _logger.LogWarning("Notification {DedupKey} attempt {Attempt} failed, next at {NextAttemptAt:o}: {Error}", entry.DedupKey, entry.Attempts + 1, next, retry.Error);
                RaiseAttempted(n, result, now, entry.Attempts + 1);
                break;
        }
    }

    /// <summary>
    /// Raised after each delivery attempt's outcome is recorded: the notification, the result
    /// (<see cref="DeliveryResult.Delivered"/>, <see cref="DeliveryResult.Retry"/> or
    /// <see cref="DeliveryResult.Failed"/>, the latter also when it went dead), the time and the
    /// attempt number (1-based). Handlers run on the delivery path: keep them short; exceptions are logged.
    /// </summary>
    public event Action<Notification, DeliveryResult, DateTimeOffset, int>? Attempted;

    private void RaiseAttempted(Notification n, DeliveryResult result, DateTimeOffset at, int attempt)
    {
        try
        {
            Attempted?.Invoke(n, result, at, attempt);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogError(e, "An attempt handler failed for {DedupKey}", n.DedupKey);
        }
    }

    private async Task PruneIfDueAsync()
    {
        var now = _time.GetUtcNow();
        if (_options.Retention == Timeout.InfiniteTimeSpan || now < _nextPrune) return;
        _nextPrune = now.AddHours(1);
        try
        {
            int pruned = await _outbox.PruneAsync(now - _options.Retention, CancellationToken.None).ConfigureAwait(false);
            if (pruned > 0) _logger.LogInformation("Pruned {Count} outbox entries older than {Retention}", pruned, _options.Retention);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogWarning(e, "Pruning the outbox failed");
        }
    }

    private TimeSpan RetryDelay(int failedAttempts, TimeSpan? retryAfter)
    {
        if (retryAfter is { } after)
            return after < _options.InitialBackoff ? _options.InitialBackoff : after; // never earlier than asked
        var backoff = Backoff(failedAttempts);
        if (_options.Jitter > 0)
        {
            double factor = 1 + ((Random.Shared.NextDouble() * 2) - 1) * _options.Jitter;
            backoff = TimeSpan.FromTicks((long)(backoff.Ticks * factor));
            if (backoff > _options.MaxBackoff) backoff = _options.MaxBackoff;
        }
        return backoff;
    }

    private async Task WaitForWorkAsync(CancellationToken cancellationToken)
    {
        if (_wake.Reader.TryRead(out _)) return;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var poll = Task.Delay(_options.PollInterval, _time, cts.Token);
        var wake = _wake.Reader.WaitToReadAsync(cts.Token).AsTask();
        await Task.WhenAny(poll, wake).ConfigureAwait(false);
        await cts.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        _wake.Reader.TryRead(out _);
    }

    private static string FormatAge(TimeSpan age) =>
        age.TotalHours >= 1 ? age.TotalHours.ToString("0.#", CultureInfo.InvariantCulture) + " h" : age.TotalMinutes.ToString("0.#", CultureInfo.InvariantCulture) + " min";

    private static Func<string, INotifier?> LookupIn(IReadOnlyDictionary<string, INotifier> notifiers)
    {
        ArgumentNullException.ThrowIfNull(notifiers);
        return receiver => notifiers.TryGetValue(receiver, out var n) ? n : null;
    }

    /// <summary>Unsubscribes from the outbox. Cancel <see cref="RunAsync"/> first.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _outbox.Enqueued -= _onEnqueued;
        _wake.Writer.TryComplete();
    }
}
