using System.Collections.Concurrent;
using ExchangeHealth.Incidents.Lifecycle;
using ExchangeHealth.Incidents.Model;
using ExchangeHealth.Incidents.Reports;
using Microsoft.Extensions.DependencyInjection;
using Quartz;

namespace ExchangeHealth.Incidents.Tests.Reports;

[Collection(nameof(IncidentReportCollection))]
public sealed class IncidentReportJobTests(IncidentReportFixture fixture) : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private readonly string _dir = Directory.CreateTempSubdirectory("exh-ireport-job-").FullName;
    private readonly DetailsSource _source = new(IncidentReportFixture.Details());
    private IScheduler _scheduler = null!;
    private IncidentReportService _service = null!;

    public async Task InitializeAsync()
    {
        _service = new IncidentReportService(fixture.Client,
            new IncidentReportOptions { ReportsDirectory = _dir, Time = new FixedTimeProvider(IncidentReportFixture.Now) }, fixture.Specs);
        // As the monitor wires its jobs: the dependencies are singletons of the scheduler's services.
        var builder = QuartzSchedulerBuilder.Create(q =>
        {
            q.Services.AddSingleton<IIncidentDetailsSource>(_source);
            q.Services.AddSingleton(_service);
        });
        _scheduler = await builder.BuildScheduler();
    }

    public async Task DisposeAsync()
    {
        await _scheduler.Shutdown(waitForJobsToComplete: true);
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task The_resolve_job_writes_the_report_and_records_it_on_the_timeline()
    {
        await _scheduler.Start();
        await IncidentReportJob.ScheduleAsync(_scheduler, 42, CancellationToken.None);

        var recorded = await _source.FirstRecorded.Task.WaitAsync(Timeout);
        string md = Path.Combine(_dir, "incidents", "incident-42.md"), html = Path.Combine(_dir, "incidents", "incident-42.html");
        Assert.True(File.Exists(md));
        Assert.True(File.Exists(html));
        Assert.Equal(42, recorded.IncidentId);
        Assert.Equal(TimelineKinds.ReportGenerated, recorded.Kind);
        Assert.Equal(TimelineSources.Incident, recorded.Source);
        Assert.Equal(IncidentReportJob.Actor, recorded.Actor);
        Assert.Equal(IncidentReportFixture.Now, recorded.At);
        Assert.Equal("Post-incident report written: incident-42.md, incident-42.html", recorded.Text);
        Assert.Equal(html, recorded.Fields["html"]);
        Assert.StartsWith("incident.report:42:", recorded.DedupKey, StringComparison.Ordinal);
        Assert.Contains("15.4 % of the 30 d budget", await File.ReadAllTextAsync(html), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_resolve_before_the_job_ran_replaces_it()
    {
        // The scheduler is in standby: both schedules land before anything runs.
        await IncidentReportJob.ScheduleAsync(_scheduler, 42, CancellationToken.None);
        await IncidentReportJob.ScheduleAsync(_scheduler, 42, CancellationToken.None);
        var key = Assert.Single(await _scheduler.GetJobKeys(GroupMatcher<JobKey>.GroupEquals(IncidentReportJob.JobGroup)));
        Assert.Equal(IncidentReportJob.KeyFor(42), key);
        Assert.Single(await _scheduler.GetTriggersOfJob(key));

        await _scheduler.Start();
        await _source.FirstRecorded.Task.WaitAsync(Timeout);
        // The one-shot job is removed once its trigger is done; then nothing else can run.
        var deadline = DateTime.UtcNow + Timeout;
        while (await _scheduler.Exists(key) && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.False(await _scheduler.Exists(key));
        Assert.Single(_source.Recorded);
    }

    [Fact]
    public async Task An_unknown_incident_writes_nothing()
    {
        var job = new IncidentReportJob(_source, _service);
        Assert.Null(await job.RunAsync(7, CancellationToken.None));
        Assert.Empty(_source.Recorded);
        Assert.False(Directory.Exists(Path.Combine(_dir, "incidents")));
    }

    /// <summary>An incident details source holding one incident in memory (the job's contract, not a store).</summary>
    private sealed class DetailsSource(IncidentDetails details) : IIncidentDetailsSource
    {
        public ConcurrentQueue<TimelineEvent> Recorded { get; } = new();

        public TaskCompletionSource<TimelineEvent> FirstRecorded { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<IncidentDetails?> GetDetailsAsync(long id, CancellationToken cancellationToken = default) =>
            Task.FromResult(id == details.Incident.Id ? details : null);

        public Task<bool> RecordAsync(TimelineEvent timelineEvent, CancellationToken cancellationToken = default)
        {
            Recorded.Enqueue(timelineEvent);
            FirstRecorded.TrySetResult(timelineEvent);
            return Task.FromResult(true);
        }
    }
}
