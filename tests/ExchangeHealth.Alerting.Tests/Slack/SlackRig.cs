using ExchangeHealth.Chaos.Slack;
using ExchangeHealth.Alerting.Notify;
using ExchangeHealth.Alerting.Slack;
using ExchangeHealth.Alerting.Tests.Notify;

namespace ExchangeHealth.Alerting.Tests.Slack;

/// <summary>
/// A monitor's notification path against the fake Slack: a real SQLite file, the outbox, a
/// <see cref="SlackNotifier"/> for receiver <see cref="Receiver"/> and the deliverer. <see cref="RestartAsync"/>
/// drops them all and reopens the same file, as a restarted monitor.
/// </summary>
internal sealed class SlackRig : IAsyncDisposable
{
    public const string Channel = "C0ALERTS";
    public const string Receiver = "slack";

    private readonly TempDatabase _db = new();
    private readonly TimeProvider _clock;
    private readonly TimeSpan _requestTimeout;
    private readonly OutboxDelivererOptions _delivererOptions;
    private readonly string _token;

    private SlackRig(FakeSlackServer slack, TimeProvider clock, TimeSpan requestTimeout, SlackChannelPacer pacer, OutboxDelivererOptions delivererOptions, string token)
    {
        Slack = slack;
        _clock = clock;
        _requestTimeout = requestTimeout;
        Pacer = pacer;
        _delivererOptions = delivererOptions;
        _token = token;
        Open();
    }

    public FakeSlackServer Slack { get; }

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

    public SlackChannelPacer Pacer { get; }

    public SqliteOutbox Outbox { get; private set; } = null!;

    public SlackNotifier Notifier { get; private set; } = null!;

    public OutboxDeliverer Deliverer { get; private set; } = null!;

    public static async Task<SlackRig> StartAsync(
        TimeProvider clock,
        TimeSpan? requestTimeout = null,
        SlackChannelPacer? pacer = null,
        OutboxDelivererOptions? delivererOptions = null,
        IEnumerable<string>? knownChannels = null,
        string? token = null)
    {
        var slack = await FakeSlackServer.StartAsync(channels: knownChannels, timeProvider: clock);
        return new SlackRig(slack, clock, requestTimeout ?? TimeSpan.FromSeconds(5),
            pacer ?? new SlackChannelPacer(TimeSpan.Zero, TimeProvider.System),
            delivererOptions ?? new OutboxDelivererOptions { Jitter = 0 }, token ?? FakeSlackServer.DefaultToken);
    }

    public SlackNotifier CreateNotifier(string channel = Channel, string? token = null) =>
        new(new SlackNotifierOptions { Channel = channel, BotToken = token ?? _token, BaseUrl = Slack.BaseUrl, RequestTimeout = _requestTimeout },
            Http, _db.Database, Pacer, _clock);

    private void Open()
    {
        Outbox = new SqliteOutbox(_db.Database, _clock);
        Notifier = CreateNotifier();
        Deliverer = new OutboxDeliverer(Outbox, new Dictionary<string, INotifier> { [Receiver] = Notifier }, options: _delivererOptions, timeProvider: _clock);
    }

    /// <summary>Drops outbox, notifier and deliverer and reopens the same database file.</summary>
    public void Restart()
    {
        Deliverer.Dispose();
        Outbox.Dispose();
        _db.Reopen();
        Open();
    }

    /// <summary>Delivers until nothing is pending, moving <paramref name="clock"/> to each next due time.</summary>
    public async Task DrainAsync(ManualClock clock, int maxRounds = 100)
    {
        for (int i = 0; i < maxRounds; i++)
        {
            if (await Deliverer.DeliverDueAsync() > 0) continue;
            var pending = await Outbox.ListAsync(OutboxState.Pending, 1000);
            if (pending.Count == 0) return;
            var next = pending.Min(e => e.NextAttemptAt);
            var now = clock.GetUtcNow();
            if (next > now) clock.Advance(next - now);
        }
        throw new InvalidOperationException($"outbox not drained after {maxRounds} rounds");
    }

    /// <summary>The <c>chat.postMessage</c> and <c>chat.update</c> requests, in arrival order.</summary>
    public IReadOnlyList<FakeSlackRequest> Writes => [.. Slack.Requests.Where(r => r.Method is "chat.postMessage" or "chat.update")];

    public async ValueTask DisposeAsync()
    {
        Deliverer.Dispose();
        Outbox.Dispose();
        Http.Dispose();
        await Slack.DisposeAsync();
        _db.Dispose();
    }
}
