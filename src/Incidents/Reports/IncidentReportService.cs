using System.Globalization;
using System.Text;
using ExchangeHealth.Incidents.Lifecycle;
using ExchangeHealth.Incidents.Model;
using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.Monitor.Reports;
using ExchangeHealth.Monitor.Slo;

namespace ExchangeHealth.Incidents.Reports;

/// <summary>Settings of <see cref="IncidentReportService"/>.</summary>
public sealed record IncidentReportOptions
{
    /// <summary>Reports directory; incident reports go to its <c>incidents/</c> subdirectory (created when missing). Default <c>reports</c>, as the SLO report's.</summary>
    public string ReportsDirectory { get; init; } = SloReportService.DefaultOutputDirectory;

    /// <summary>Chart margin before and after the impact window (at least 25 % of the window is used); default 10 min.</summary>
    public TimeSpan Margin { get; init; } = IncidentReportBuilder.DefaultMargin;

    /// <summary>SLO specs: a directory of <c>*.yml</c>/<c>*.yaml</c> files or one file (Sloth <c>prometheus/v1</c>, loaded by <see cref="SloReportService.LoadSpecs"/>); null for none (no budget section).</summary>
    public string? SloSpecsPath { get; init; }

    /// <summary>The SLO period the error budget is granted for; default 30 days (Sloth's).</summary>
    public TimeSpan Period { get; init; } = IncidentReportBuilder.DefaultPeriod;

    /// <summary>Clock of the report time (end of an ongoing impact window, "generated at", timeline event time).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>The files one report run wrote.</summary>
/// <param name="MarkdownPath">Full path of <c>{reports}/incidents/incident-{id}.md</c>.</param>
/// <param name="HtmlPath">Full path of <c>{reports}/incidents/incident-{id}.html</c> (self-contained).</param>
public sealed record IncidentReportFiles(string MarkdownPath, string HtmlPath)
{
    /// <summary>Full paths of the chart SVGs the Markdown links to (<c>incident-{id}-{chart}.svg</c>, beside it).</summary>
    public IReadOnlyList<string> ChartPaths { get; init; } = [];

    /// <summary>The report the files show; null only when not set by the producer.</summary>
    public IncidentReport? Report { get; init; }
}

/// <summary>
/// Writes post-incident reports: builds an <see cref="IncidentReport"/> (see
/// <see cref="IncidentReportBuilder"/> for every definition) and writes
/// <c>{reports}/incidents/incident-{id}.md</c>, <c>incident-{id}.html</c> and the Markdown's chart
/// files <c>incident-{id}-{chart}.svg</c>, overwriting earlier versions. Each file is written to a
/// unique temporary name in the same directory, flushed to disk and renamed over the old one, so a
/// reader sees the old or the new file, never half of one. Chart files of an earlier version that
/// this one no longer has are deleted. Thread-safe: concurrent runs for one incident each write whole
/// files (the last rename wins).
/// </summary>
public sealed class IncidentReportService
{
    /// <summary>Subdirectory of the reports directory for incident reports.</summary>
    public const string Subdirectory = "incidents";

    private readonly IncidentReportBuilder _builder;
    private readonly TimeProvider _time;

    /// <summary>Creates the service; loads the SLO specs now, so a bad spec fails at start, not at the first resolve.</summary>
    /// <param name="prometheus">The PromQL API with the SLI metrics; null for none (the report then says the Prometheus figures are missing).</param>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <exception cref="ExchangeHealth.Engine.ConfigException"><see cref="IncidentReportOptions.SloSpecsPath"/> is missing or a spec is invalid (<c>file:line: reason</c>).</exception>
    /// <exception cref="ArgumentException">Empty reports directory, negative margin or non-positive period.</exception>
    public IncidentReportService(PrometheusApiClient? prometheus, IncidentReportOptions? options = null)
        : this(prometheus, options ?? new IncidentReportOptions(), (options?.SloSpecsPath) is { } path ? SloReportService.LoadSpecs(path) : [])
    {
    }

    /// <summary>Creates the service with SLO specs already loaded (<see cref="IncidentReportOptions.SloSpecsPath"/> is ignored).</summary>
    /// <param name="prometheus">The PromQL API; null for none.</param>
    /// <param name="options">Settings.</param>
    /// <param name="specs">The SLO specs to report on.</param>
    /// <exception cref="ArgumentException">Empty reports directory, negative margin or non-positive period.</exception>
    public IncidentReportService(PrometheusApiClient? prometheus, IncidentReportOptions options, IReadOnlyList<SloServiceSpec> specs)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(specs);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.ReportsDirectory, nameof(options));
        ArgumentNullException.ThrowIfNull(options.Time);
        if (options.Margin < TimeSpan.Zero) throw new ArgumentException($"Margin: {options.Margin} is negative", nameof(options));
        if (options.Period <= TimeSpan.Zero) throw new ArgumentException($"Period: {options.Period} is not positive", nameof(options));
        Options = options;
        Specs = specs;
        _builder = new IncidentReportBuilder(prometheus, specs) { Margin = options.Margin, Period = options.Period };
        _time = options.Time;
        Directory = Path.Combine(Path.GetFullPath(options.ReportsDirectory), Subdirectory);
    }

    /// <summary>The settings.</summary>
    public IncidentReportOptions Options { get; }

    /// <summary>The SLO specs reported on.</summary>
    public IReadOnlyList<SloServiceSpec> Specs { get; }

    /// <summary>Full path of the directory the reports go to: <c>{reports}/incidents</c>.</summary>
    public string Directory { get; }

    /// <summary>The file name without extension of incident <paramref name="id"/>'s report: <c>incident-42</c>.</summary>
    public static string FileStem(long id) => "incident-" + id.ToString(CultureInfo.InvariantCulture);

    /// <summary>Builds the report of <paramref name="details"/> and writes its files (see the class summary).</summary>
    /// <param name="details">The incident with its alerts, timeline and follow-ups.</param>
    /// <param name="cancellationToken">Cancels the queries and the writes.</param>
    /// <returns>The files written, with the report.</returns>
    /// <exception cref="IOException">A file cannot be written (Prometheus failures do not throw: the report says what is missing).</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<IncidentReportFiles> GenerateAsync(IncidentDetails details, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(details);
        var report = await _builder.BuildAsync(details, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        System.IO.Directory.CreateDirectory(Directory);
        string stem = FileStem(details.Incident.Id);
        var chartNames = report.Charts.ToDictionary(c => c.Id, c => $"{stem}-{c.Id}.svg", StringComparer.Ordinal);
        var chartPaths = new List<string>();
        foreach (var chart in report.Charts)
        {
            string path = Path.Combine(Directory, chartNames[chart.Id]);
            await WriteAtomicAsync(path, IncidentReportCharts.RenderFile(report, chart), cancellationToken).ConfigureAwait(false);
            chartPaths.Add(path);
        }
        string md = Path.Combine(Directory, stem + ".md"), html = Path.Combine(Directory, stem + ".html");
        await WriteAtomicAsync(md, IncidentReportMarkdown.Render(report, c => chartNames.GetValueOrDefault(c.Id)), cancellationToken).ConfigureAwait(false);
        await WriteAtomicAsync(html, IncidentReportHtml.Render(report), cancellationToken).ConfigureAwait(false);
        DeleteStaleCharts(stem, chartPaths);
        return new IncidentReportFiles(md, html) { ChartPaths = chartPaths, Report = report };
    }

    /// <summary>
    /// Loads incident <paramref name="incidentId"/> from <paramref name="source"/>, writes its report
    /// and records a <see cref="TimelineKinds.ReportGenerated"/> event (source
    /// <see cref="TimelineSources.Incident"/>, actor <paramref name="actor"/>, text naming the files) on its
    /// timeline: what the resolve job and <c>exh incidents report ID</c> do.
    /// </summary>
    /// <param name="source">Where incidents come from (the incident service).</param>
    /// <param name="incidentId">The incident.</param>
    /// <param name="actor">Who asked, for the timeline event (<c>monitor</c>, <c>cli:alice</c>).</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The files, or null when the incident does not exist.</returns>
    /// <exception cref="IOException">A file cannot be written.</exception>
    public async Task<IncidentReportFiles?> GenerateAndRecordAsync(IIncidentDetailsSource source, long incidentId, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(actor);
        var details = await source.GetDetailsAsync(incidentId, cancellationToken).ConfigureAwait(false);
        if (details is null) return null;
        var files = await GenerateAsync(details, cancellationToken).ConfigureAwait(false);
        var at = _time.GetUtcNow();
        var fields = new Dictionary<string, string>(StringComparer.Ordinal) { ["markdown"] = files.MarkdownPath, ["html"] = files.HtmlPath };
        if (files.Report is { Problems.Count: > 0 } r) fields["problems"] = r.Problems.Count.ToString(CultureInfo.InvariantCulture);
        await source.RecordAsync(new TimelineEvent
        {
            IncidentId = incidentId,
            At = at,
            Source = TimelineSources.Incident,
            Actor = actor,
            Kind = TimelineKinds.ReportGenerated,
            Text = $"Post-incident report written: {Path.GetFileName(files.MarkdownPath)}, {Path.GetFileName(files.HtmlPath)}"
                + (files.Report is { Problems.Count: > 0 } ? " (some figures are missing; see the report)" : ""),
            DedupKey = $"{TimelineKinds.ReportGenerated}:{incidentId.ToString(CultureInfo.InvariantCulture)}:{at.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}",
            Fields = fields,
        }, cancellationToken).ConfigureAwait(false);
        return files;
    }

    private void DeleteStaleCharts(string stem, List<string> current)
    {
        var keep = current.ToHashSet(StringComparer.Ordinal);
        foreach (string file in System.IO.Directory.EnumerateFiles(Directory, stem + "-*.svg"))
        {
            if (keep.Contains(file)) continue;
            try { File.Delete(file); }
            catch (IOException) { /* another run may be replacing it; it is harmless */ }
        }
    }

    /// <summary>Writes <paramref name="content"/> to a unique temporary file beside <paramref name="path"/>, flushes it to disk and renames it over <paramref name="path"/>.</summary>
    internal static async Task WriteAtomicAsync(string path, string content, CancellationToken cancellationToken)
    {
        string temp = Path.Combine(Path.GetDirectoryName(path)!, "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N") + ".tmp");
        try
        {
            var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.Asynchronous);
            await using (stream.ConfigureAwait(false))
            {
                byte[] bytes = new UTF8Encoding(false).GetBytes(content);
                await stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); }
            catch (IOException) { /* best effort */ }
            throw;
        }
    }
}
