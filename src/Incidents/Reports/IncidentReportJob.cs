using System.Globalization;
using ExchangeHealth.Incidents.Lifecycle;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Quartz;

namespace ExchangeHealth.Incidents.Reports;

/// <summary>
/// The Quartz job that writes an incident's post-incident report when it is resolved: it loads the
/// incident through <see cref="IIncidentDetailsSource"/>, writes the files with
/// <see cref="IncidentReportService"/> and records a <see cref="Model.TimelineKinds.ReportGenerated"/>
/// event (see <see cref="IncidentReportService.GenerateAndRecordAsync"/>). Its dependencies come from
/// the scheduler's services: register an <see cref="IIncidentDetailsSource"/> and an
/// <see cref="IncidentReportService"/> as singletons with <c>q.Services.AddSingleton(...)</c> in the
/// Quartz configuration (as the monitor does for its SLO report); an <see cref="ILoggerFactory"/> is
/// used when registered.
/// </summary>
/// <remarks>
/// Failures are logged and not rethrown (a report is an output, not a state change: the next
/// resolve or <c>exh incidents report ID</c> writes it again); Prometheus failures do not fail it at all
/// (the report says what is missing).
/// </remarks>
public sealed class IncidentReportJob : IJob
{
    /// <summary>Job data key of the incident id (a decimal string, or a long).</summary>
    public const string IncidentIdKey = "incident_id";

    /// <summary>Quartz group of the report jobs and triggers.</summary>
    public const string JobGroup = "exh-incident-reports";

    /// <summary>The actor of the timeline event the job records.</summary>
    public const string Actor = "monitor";

    private readonly IIncidentDetailsSource _source;
    private readonly IncidentReportService _reports;
    private readonly ILogger _log;

    /// <summary>Creates the job (Quartz does, from the scheduler's services).</summary>
    /// <param name="source">Where incidents come from and where the timeline event goes.</param>
    /// <param name="reports">Writes the files.</param>
    /// <param name="logs">Logging; null for none.</param>
    public IncidentReportJob(IIncidentDetailsSource source, IncidentReportService reports, ILoggerFactory? logs = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(reports);
        _source = source;
        _reports = reports;
        _log = (logs ?? NullLoggerFactory.Instance).CreateLogger("exh.incidents.report");
    }

    /// <summary>The job key of incident <paramref name="incidentId"/>'s report: one per incident, so scheduling again replaces it.</summary>
    public static JobKey KeyFor(long incidentId) => new("incident-report-" + incidentId.ToString(CultureInfo.InvariantCulture), JobGroup);

    /// <summary>
    /// Schedules the report of <paramref name="incidentId"/> to run once, now. A report job of the same
    /// incident that has not run yet is replaced (a second resolve does not write it twice).
    /// </summary>
    /// <param name="scheduler">The monitor's scheduler (its services must hold the job's dependencies).</param>
    /// <param name="incidentId">The incident.</param>
    /// <param name="cancellationToken">Cancels the scheduling.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="incidentId"/> is not positive.</exception>
    public static async Task ScheduleAsync(IScheduler scheduler, long incidentId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(incidentId);
        var key = KeyFor(incidentId);
        var job = JobBuilder.Create<IncidentReportJob>()
            .WithIdentity(key)
            .UsingJobData(IncidentIdKey, incidentId.ToString(CultureInfo.InvariantCulture))
            .Build();
        var trigger = TriggerBuilder.Create().WithIdentity(key.Name, JobGroup).ForJob(key).StartNow().Build();
        await scheduler.ScheduleJob(job, trigger, ScheduleJobOptions.Replacing, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        string? text = context.MergedJobDataMap.TryGetValue(IncidentIdKey, out object? value) ? Convert.ToString(value, CultureInfo.InvariantCulture) : null;
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long id) || id <= 0)
        {
            _log.LogError("incident report job {Job} has no valid {Key} ({Value})", context.JobDetail.Key, IncidentIdKey, text ?? "missing");
            return;
        }
        await RunAsync(id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes the report of <paramref name="incidentId"/> and records the timeline event; returns the files, or null when the incident is unknown or writing failed (logged).</summary>
    public async Task<IncidentReportFiles?> RunAsync(long incidentId, CancellationToken cancellationToken)
    {
        try
        {
            var files = await _reports.GenerateAndRecordAsync(_source, incidentId, Actor, cancellationToken).ConfigureAwait(false);
            if (files is null) _log.LogWarning("incident {Id}: no such incident, no report written", incidentId);
            else _log.LogInformation("incident {Id}: report written to {Markdown} and {Html}", incidentId, files.MarkdownPath, files.HtmlPath);
            return files;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.LogError("incident {Id}: the report could not be written: {Error}", incidentId, e.Message);
            return null;
        }
    }
}
