using ExchangeHealth.Monitor.Reports;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Quartz;

namespace ExchangeHealth.Alerting.Host;

/// <summary>
/// The periodic SLO report of the monitor: a Quartz cron trigger (default weekly, Monday 08:00
/// UTC) runs <see cref="SloReportService.GenerateAsync(System.Threading.CancellationToken)"/>,
/// which writes the Markdown and HTML report and posts its summary to Slack when configured.
/// </summary>
public sealed class SloReportSchedule(SloReportService service, ILogger? log = null)
{
    /// <summary>Default schedule: Mondays 08:00 UTC (Quartz cron, seconds first).</summary>
    public const string DefaultCron = "0 0 8 ? * MON";

    private readonly ILogger _log = log ?? NullLogger.Instance;

    /// <summary>The report service.</summary>
    public SloReportService Service { get; } = service;

    /// <summary>Reports written so far by the schedule.</summary>
    public int Written => _written;

    private int _written;

    /// <summary>Schedules the report on <paramref name="scheduler"/> with <paramref name="cron"/> (UTC).</summary>
    /// <exception cref="FormatException">Not a valid Quartz cron expression.</exception>
    public async Task ScheduleAsync(IScheduler scheduler, string cron, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        CronScheduleBuilder schedule;
        try { schedule = CronScheduleBuilder.Create(cron).InTimeZone(TimeZoneInfo.Utc); }
        catch (Exception e) when (e is FormatException or ArgumentException) { throw new FormatException($"--slo-report-cron: '{cron}' is not a Quartz cron expression (e.g. \"{DefaultCron}\"): {e.Message}", e); }
        var job = JobBuilder.Create<SloReportJob>().WithIdentity("slo-report", "exh-reports").Build();
        var trigger = TriggerBuilder.Create().WithIdentity("slo-report", "exh-reports").WithSchedule(schedule).Build();
        await scheduler.DeleteJob(job.Key, cancellationToken).ConfigureAwait(false); // a persistent (clustered) store keeps it across nodes
        await scheduler.ScheduleJob(job, trigger, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes one report now (what the trigger runs); failures are logged, not thrown.</summary>
    public async Task<SloReportFiles?> RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            var files = await Service.GenerateAsync(cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _written);
            _log.LogInformation("SLO report written: {Markdown}, {Html}", files.MarkdownPath, files.HtmlPath);
            return files;
        }
        catch (Exception e) when (e is Monitor.Prometheus.PrometheusApiException or IOException or SloSummaryPostException)
        {
            _log.LogError("SLO report failed: {Error}", e.Message);
            return null;
        }
    }
}

/// <summary>The Quartz job of <see cref="SloReportSchedule"/>.</summary>
[DisallowConcurrentExecution]
internal sealed class SloReportJob(SloReportSchedule schedule) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken) =>
        await schedule.RunAsync(cancellationToken).ConfigureAwait(false);
}
