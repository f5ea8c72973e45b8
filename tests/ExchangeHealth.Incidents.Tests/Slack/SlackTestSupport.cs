using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using ExchangeHealth.Incidents.Model;
using ExchangeHealth.Incidents.Store;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

using ExchangeHealth.TestKit;

namespace ExchangeHealth.Incidents.Tests.Slack;

/// <summary>A real SQLite incident store in a temporary directory (deleted on dispose).</summary>
internal sealed class TempSqliteStore : IAsyncDisposable
{
    private TempSqliteStore(string dir, SqliteIncidentStore store)
    {
        Directory = dir;
        Inner = store;
    }

    public string Directory { get; }

    public SqliteIncidentStore Inner { get; }

    public static async Task<TempSqliteStore> CreateAsync(TimeProvider time)
    {
        string dir = Path.Combine(Path.GetTempPath(), "exh-islack-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(dir);
        var store = new SqliteIncidentStore(Path.Combine(dir, "incidents.db"), time);
        await store.MigrateAsync();
        return new TempSqliteStore(dir, store);
    }

    public async ValueTask DisposeAsync()
    {
        await Inner.DisposeAsync();
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>
/// A store that passes every call to a real one, but can hold <see cref="GetAsync"/> until the test
/// releases it (to make a command outlast the endpoint's budget).
/// </summary>
internal sealed class GatedIncidentStore(IIncidentStore inner) : IIncidentStore
{
    private TaskCompletionSource? _armed;
    private TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Arms the gate: the next GetAsync signals <see cref="Entered"/> and waits for <see cref="Release"/>.</summary>
    public void Arm()
    {
        _entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _armed, _release);
    }

    public Task Entered => _entered.Task;

    public void Release() => _release.TrySetResult();

    public string Backend => inner.Backend;

    public async Task<Incident?> GetAsync(long id, CancellationToken cancellationToken = default)
    {
        var gate = Interlocked.Exchange(ref _armed, null);
        if (gate is not null)
        {
            _entered.TrySetResult();
            await gate.Task.WaitAsync(cancellationToken);
        }
        return await inner.GetAsync(id, cancellationToken);
    }

    public Task MigrateAsync(CancellationToken cancellationToken = default) => inner.MigrateAsync(cancellationToken);
    public Task<int> GetSchemaVersionAsync(CancellationToken cancellationToken = default) => inner.GetSchemaVersionAsync(cancellationToken);
    public Task<Incident> CreateAsync(Incident incident, CancellationToken cancellationToken = default) => inner.CreateAsync(incident, cancellationToken);
    public Task<Incident?> FindOpenByGroupKeyAsync(string groupKey, CancellationToken cancellationToken = default) => inner.FindOpenByGroupKeyAsync(groupKey, cancellationToken);
    public Task<IReadOnlyList<Incident>> ListAsync(IncidentFilter filter, CancellationToken cancellationToken = default) => inner.ListAsync(filter, cancellationToken);
    public Task<bool> TryUpdateAsync(Incident incident, CancellationToken cancellationToken = default) => inner.TryUpdateAsync(incident, cancellationToken);
    public Task<bool> AppendEventAsync(TimelineEvent timelineEvent, CancellationToken cancellationToken = default) => inner.AppendEventAsync(timelineEvent, cancellationToken);
    public Task<IReadOnlyList<TimelineEvent>> GetTimelineAsync(long incidentId, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default) => inner.GetTimelineAsync(incidentId, from, to, cancellationToken);
    public Task<IReadOnlyList<TimelineEvent>> GetGlobalEventsAsync(DateTimeOffset from, DateTimeOffset to, int limit = 1000, CancellationToken cancellationToken = default) => inner.GetGlobalEventsAsync(from, to, limit, cancellationToken);
    public Task<DateTimeOffset?> FirstGlobalEventAtAsync(string kind, IReadOnlyCollection<string> fingerprints, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default) => inner.FirstGlobalEventAtAsync(kind, fingerprints, from, to, cancellationToken);
    public Task<bool> AttachAlertAsync(IncidentAlert alert, CancellationToken cancellationToken = default) => inner.AttachAlertAsync(alert, cancellationToken);
    public Task<IReadOnlyList<IncidentAlert>> GetAlertsAsync(long incidentId, CancellationToken cancellationToken = default) => inner.GetAlertsAsync(incidentId, cancellationToken);
    public Task<FollowUp> AddFollowUpAsync(FollowUp followUp, CancellationToken cancellationToken = default) => inner.AddFollowUpAsync(followUp, cancellationToken);
    public Task<bool> SetFollowUpDoneAsync(long incidentId, long followUpId, bool done, CancellationToken cancellationToken = default) => inner.SetFollowUpDoneAsync(incidentId, followUpId, done, cancellationToken);
    public Task<IReadOnlyList<FollowUp>> GetFollowUpsAsync(long incidentId, CancellationToken cancellationToken = default) => inner.GetFollowUpsAsync(incidentId, cancellationToken);
    public Task<IReadOnlyDictionary<IncidentSeverity, int>> CountOpenAsync(CancellationToken cancellationToken = default) => inner.CountOpenAsync(cancellationToken);
    public ValueTask DisposeAsync() => ValueTask.CompletedTask; // the inner store belongs to its TempSqliteStore
}

/// <summary>Stands for Slack's response_url endpoint: records every request (path and body).</summary>
internal sealed class ResponseUrlServer : IAsyncDisposable
{
    private readonly LoopbackApp _app;
    private readonly ConcurrentQueue<(string Path, string Body)> _received = new();
    private readonly SemaphoreSlim _signal = new(0);

    private ResponseUrlServer(LoopbackApp app) => _app = app;

    public Uri BaseUrl => _app.BaseUrl;

    public IReadOnlyList<(string Path, string Body)> Received => [.. _received];

    public static async Task<ResponseUrlServer> StartAsync()
    {
        ResponseUrlServer? server = null;
        var app = await LoopbackApp.StartAsync(a => a.Run(async ctx =>
        {
            using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8);
            string body = await reader.ReadToEndAsync();
            server!._received.Enqueue((ctx.Request.Path.Value ?? "", body));
            server._signal.Release();
            ctx.Response.StatusCode = 200;
            await ctx.Response.WriteAsync("ok");
        }));
        server = new ResponseUrlServer(app);
        return server;
    }

    public async Task<(string Path, string Body)> WaitAsync(TimeSpan timeout)
    {
        if (!await _signal.WaitAsync(timeout)) throw new TimeoutException("no request to the response_url server");
        return _received.Last();
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}

/// <summary>Sums the measurements of the counters of one <see cref="Meter"/> instance by (endpoint, reason).</summary>
internal sealed class RejectionRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<(string Endpoint, string Reason), long> _counts = new();

    public RejectionRecorder(Meter meter)
    {
        _listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, meter)) l.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string endpoint = "", reason = "";
            foreach (var t in tags)
            {
                if (t.Key == "endpoint") endpoint = t.Value as string ?? "";
                if (t.Key == "reason") reason = t.Value as string ?? "";
            }
            _counts.AddOrUpdate((endpoint, reason), value, (_, v) => v + value);
        });
        _listener.Start();
    }

    public long this[string endpoint, string reason] => _counts.GetValueOrDefault((endpoint, reason));

    public long Total => _counts.Values.Sum();

    public void Dispose() => _listener.Dispose();
}
