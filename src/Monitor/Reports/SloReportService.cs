using System.Text;
using ExchangeHealth.Engine;
using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.Monitor.Slo;

namespace ExchangeHealth.Monitor.Reports;

/// <summary>The files one report run wrote.</summary>
/// <param name="MarkdownPath">Full path of <c>slo-report-&lt;yyyy-mm-dd&gt;.md</c>.</param>
/// <param name="HtmlPath">Full path of <c>slo-report-&lt;yyyy-mm-dd&gt;.html</c>.</param>
/// <param name="Report">The report they show.</param>
/// <param name="Summary">The short Markdown summary (what the summary publisher received).</param>
public sealed record SloReportFiles(string MarkdownPath, string HtmlPath, SloReport Report, string Summary);

/// <summary>
/// Builds an SLO report and writes it as Markdown and self-contained HTML; the object a scheduled
/// job (e.g. a weekly Quartz job in the monitor) holds and calls. Thread-safe for sequential calls
/// (one report at a time per output directory).
/// </summary>
public sealed class SloReportService
{
    /// <summary>Default output directory.</summary>
    public const string DefaultOutputDirectory = "reports";

    private readonly SloReportBuilder _builder;
    private readonly IReadOnlyList<SloServiceSpec> _specs;
    private readonly TimeProvider _time;

    /// <summary>Creates the service.</summary>
    /// <param name="prometheus">The PromQL API with the SLI metrics and the <c>ALERTS</c> series.</param>
    /// <param name="specs">The SLO specs to report on (see <see cref="LoadSpecs"/>).</param>
    /// <param name="outputDirectory">Directory for the report files (created when missing).</param>
    /// <param name="time">Clock for the "generated at" stamp and for <see cref="GenerateAsync(CancellationToken)"/>.</param>
    /// <param name="incidents">Incident source; null for <see cref="PrometheusAlertsIncidentSource"/>.</param>
    /// <exception cref="ArgumentNullException">A required argument is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="specs"/> is empty or <paramref name="outputDirectory"/> is empty.</exception>
    public SloReportService(PrometheusApiClient prometheus, IReadOnlyList<SloServiceSpec> specs, string outputDirectory, TimeProvider time, ISloIncidentSource? incidents = null)
    {
        ArgumentNullException.ThrowIfNull(prometheus);
        ArgumentNullException.ThrowIfNull(specs);
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);
        ArgumentNullException.ThrowIfNull(time);
        if (specs.Count == 0) throw new ArgumentException("at least one SLO spec is required", nameof(specs));
        _builder = new SloReportBuilder(prometheus, incidents);
        _specs = specs;
        OutputDirectory = outputDirectory;
        _time = time;
    }

    /// <summary>Where the files go.</summary>
    public string OutputDirectory { get; }

    /// <summary>Which periods to report (default both: calendar month to date and rolling 30 days).</summary>
    public SloReportPeriods Periods { get; init; } = SloReportPeriods.Both;

    /// <summary>
    /// Called with the Markdown summary (<see cref="SloReportMarkdown.Summary"/>) after the files are
    /// written, e.g. to post it to Slack; null for none. Its exceptions propagate to the caller of
    /// <see cref="GenerateAsync(DateTimeOffset, CancellationToken)"/> (the files exist by then).
    /// </summary>
    public Func<string, CancellationToken, Task>? SummaryPublisher { get; init; }

    /// <summary>Builds the report for periods ending now (the <see cref="TimeProvider"/>'s time).</summary>
    /// <param name="cancellationToken">Cancels the queries.</param>
    /// <returns>The files written.</returns>
    /// <exception cref="PrometheusApiException">A query failed or Prometheus is unreachable (no file is written).</exception>
    public Task<SloReportFiles> GenerateAsync(CancellationToken cancellationToken) => GenerateAsync(_time.GetUtcNow(), cancellationToken);

    /// <summary>
    /// Builds the report for periods ending at <paramref name="at"/>, writes
    /// <c>slo-report-&lt;yyyy-mm-dd of at, UTC&gt;.md</c> and <c>.html</c> into <see cref="OutputDirectory"/>
    /// (replacing a same-day report; each file is written to a temporary name and renamed, so a reader
    /// never sees half a report), then calls <see cref="SummaryPublisher"/>.
    /// </summary>
    /// <param name="at">End of the periods.</param>
    /// <param name="cancellationToken">Cancels the queries and the publisher.</param>
    /// <returns>The files written.</returns>
    /// <exception cref="PrometheusApiException">A query failed or Prometheus is unreachable (no file is written).</exception>
    /// <exception cref="IOException">A file cannot be written.</exception>
    public async Task<SloReportFiles> GenerateAsync(DateTimeOffset at, CancellationToken cancellationToken)
    {
        var report = await _builder.BuildAsync(_specs, at, Periods, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        Directory.CreateDirectory(OutputDirectory);
        string stem = Path.Combine(Path.GetFullPath(OutputDirectory), FileStem(report.At));
        string md = stem + ".md", html = stem + ".html";
        string summary = SloReportMarkdown.Summary(report);
        await WriteAtomicAsync(md, SloReportMarkdown.Render(report), cancellationToken).ConfigureAwait(false);
        await WriteAtomicAsync(html, SloReportHtml.Render(report), cancellationToken).ConfigureAwait(false);
        if (SummaryPublisher is { } publish) await publish(summary, cancellationToken).ConfigureAwait(false);
        return new SloReportFiles(md, html, report, summary);
    }

    /// <summary>The file name without extension for a report at <paramref name="at"/>: <c>slo-report-2025-03-20</c> (UTC date).</summary>
    public static string FileStem(DateTimeOffset at) => "slo-report-" + at.ToUniversalTime().ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Loads SLO specs from a directory (its <c>*.yml</c> and <c>*.yaml</c> files, in name order) or one file.</summary>
    /// <param name="path">Directory or file.</param>
    /// <returns>Every spec document of every file.</returns>
    /// <exception cref="ConfigException">Missing path, no spec file, or an invalid spec (<c>file:line: reason</c>).</exception>
    public static IReadOnlyList<SloServiceSpec> LoadSpecs(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        List<string> files;
        if (File.Exists(path)) files = [path];
        else if (Directory.Exists(path))
        {
            files = Directory.EnumerateFiles(path)
                .Where(f => f.EndsWith(".yml", StringComparison.Ordinal) || f.EndsWith(".yaml", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal).ToList();
            if (files.Count == 0) throw new ConfigException(path, 0, "no SLO spec files (*.yml, *.yaml) in the directory");
        }
        else throw new ConfigException(path, 0, "no such spec file or directory");
        return [.. files.SelectMany(SloSpecParser.Load)];
    }

    private static async Task WriteAtomicAsync(string path, string content, CancellationToken cancellationToken)
    {
        string temp = path + ".tmp";
        await File.WriteAllTextAsync(temp, content, new UTF8Encoding(false), cancellationToken).ConfigureAwait(false);
        File.Move(temp, path, overwrite: true);
    }
}
