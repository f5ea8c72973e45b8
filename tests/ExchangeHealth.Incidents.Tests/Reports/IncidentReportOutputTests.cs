using System.Text.RegularExpressions;
using System.Xml.Linq;
using ExchangeHealth.Incidents.Reports;
using Markdig;

namespace ExchangeHealth.Incidents.Tests.Reports;

[Collection(nameof(IncidentReportCollection))]
public sealed partial class IncidentReportOutputTests(IncidentReportFixture fixture) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("exh-ireport-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private IncidentReportService Service(string? specsPath = null) => new(fixture.Client,
        new IncidentReportOptions { ReportsDirectory = _dir, Time = new FixedTimeProvider(IncidentReportFixture.Now), SloSpecsPath = specsPath ?? WriteSpecs() });

    private string WriteSpecs()
    {
        string path = Path.Combine(_dir, "slos.yml");
        File.WriteAllText(path, IncidentReportFixture.SpecYaml);
        return path;
    }

    [Fact]
    public async Task Html_is_one_self_contained_file_with_every_section()
    {
        var files = await Service().GenerateAsync(IncidentReportFixture.Details(), CancellationToken.None);

        Assert.Equal(Path.Combine(_dir, "incidents", "incident-42.html"), files.HtmlPath);
        string html = await File.ReadAllTextAsync(files.HtmlPath);
        foreach (string id in new[] { "id=\"summary\"", "id=\"durations\"", "id=\"budget\"", "id=\"charts\"", "id=\"timeline\"", "id=\"alerts\"", "id=\"follow-ups\"", "id=\"definitions\"" })
            Assert.Contains(id, html, StringComparison.Ordinal);
        // Nothing is loaded from anywhere: no script, stylesheet link, image, frame or url(); a CSP forbids them anyway.
        Assert.DoesNotMatch(ScriptTag(), html);
        Assert.DoesNotMatch(ExternalReference(), html);
        Assert.Contains("Content-Security-Policy", html, StringComparison.Ordinal);
        Assert.Equal(6, Regex.Matches(html, "<figure class=\"sli-chart\"").Count);
        Assert.Equal(6, Regex.Matches(html, "<svg ").Count);
        // Numbers a reviewer reads: durations and the budget share of the hand computation.
        Assert.Contains("2 min 15 s", html, StringComparison.Ordinal);   // TTD
        Assert.Contains("1 min 48 s", html, StringComparison.Ordinal);   // TTA
        Assert.Contains("15.4 % of the 30 d budget", html, StringComparison.Ordinal);
        Assert.Contains("TTD (time to detect) = detected − started", html, StringComparison.Ordinal);
        Assert.Contains("Generated 2025-06-10 11:00:00.000 UTC", html, StringComparison.Ordinal);
        // The timeline is sorted, with milliseconds.
        var times = TimelineTimes().Matches(html).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(IncidentReportFixture.TimelineCount, times.Count);
        Assert.Equal(times.Order(StringComparer.Ordinal), times);
        Assert.Contains("<td>2025-06-10 10:12:15.250</td>", html, StringComparison.Ordinal);
        // Each chart is well-formed SVG (parsed as XML) carrying the markers inside its range.
        foreach (Match svg in SvgElement().Matches(html))
        {
            var doc = XElement.Parse(svg.Value);
            XNamespace ns = "http://www.w3.org/2000/svg";
            var kinds = doc.Descendants(ns + "g").Select(g => (string?)g.Attribute("data-kind")).Where(k => k is not null).ToHashSet();
            Assert.Equal(new HashSet<string?> { "fault", "firing", "acknowledged", "mitigated", "resolved" }, kinds);
        }
    }

    [Fact]
    public async Task Script_and_sql_looking_text_is_rendered_as_text()
    {
        var files = await Service().GenerateAsync(IncidentReportFixture.Details(), CancellationToken.None);
        string html = await File.ReadAllTextAsync(files.HtmlPath);

        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<b>", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt;", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt; and &#39;; DROP TABLE incidents; -- &amp; &lt;b&gt;bold&lt;/b&gt;", html, StringComparison.Ordinal);
        Assert.Contains("High error budget burn for BTC-USD &lt;b&gt;14.4x&lt;/b&gt;", html, StringComparison.Ordinal);
        Assert.Contains("<title>Incident #42: Order entry overload on BTC-USD &lt;script&gt;", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Markdown_has_the_same_content_escaped_and_links_its_chart_files()
    {
        var files = await Service().GenerateAsync(IncidentReportFixture.Details(), CancellationToken.None);
        string md = await File.ReadAllTextAsync(files.MarkdownPath);

        foreach (string heading in new[] { "## Summary", "## Response times", "## Error budget burned", "## SLIs around the incident", "## Timeline", "## Alerts", "## Follow-ups", "## Definitions" })
            Assert.Contains("\n" + heading + "\n", md, StringComparison.Ordinal);
        Assert.Contains("| TTD (time to detect) | detected − started | 2025-06-10 10:10:00.000 UTC | 2025-06-10 10:12:15.250 UTC | 2 min 15 s |", md, StringComparison.Ordinal);
        Assert.Contains("15.4 % of the 30 d budget", md, StringComparison.Ordinal);
        Assert.Contains("- [x] Alert on fsync latency before the ring fills", md, StringComparison.Ordinal);
        Assert.Contains("\nQuery: `sum(rate(exh_orders_received_total[1m]))`\n", md, StringComparison.Ordinal);
        Assert.Contains("- [ ] Raise the inbound ring size \\| check \\*\\*fsync\\*\\* \\[runbook\\](http://example.invalid/x) (owner: bob)", md, StringComparison.Ordinal);
        // Six linked SVG files beside the Markdown, each one well-formed.
        Assert.Equal(6, files.ChartPaths.Count);
        foreach (string chart in files.ChartPaths)
        {
            Assert.Equal(Path.GetDirectoryName(files.MarkdownPath), Path.GetDirectoryName(chart));
            Assert.Contains("](" + Path.GetFileName(chart) + ")", md, StringComparison.Ordinal);
            Assert.Equal("svg", XElement.Load(chart).Name.LocalName);
        }

        // A Markdown renderer shows the text: no script element, no raw <b>, no emphasis or link markup from the text, table intact.
        string rendered = Markdown.ToHtml(md, new MarkdownPipelineBuilder().UseAdvancedExtensions().Build());
        Assert.DoesNotContain("<script", rendered, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<b>", rendered, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;document.title='pwned'&lt;/script&gt; and '; DROP TABLE incidents; -- &amp; &lt;b&gt;bold&lt;/b&gt;", rendered, StringComparison.Ordinal);
        Assert.Contains("Raise the inbound ring size | check **fsync** [runbook](", WebUtilityDecode(rendered), StringComparison.Ordinal);
        Assert.Equal(IncidentReportFixture.TimelineCount + 1, Regex.Matches(rendered[rendered.IndexOf("<h2 id=\"timeline\">", StringComparison.Ordinal)..].Split("</table>")[0], "<tr>").Count);
    }

    [Fact]
    public async Task Files_are_replaced_atomically_and_stale_chart_files_removed()
    {
        var service = Service();
        var details = IncidentReportFixture.Details("first version");
        var first = await service.GenerateAsync(details, CancellationToken.None);
        Assert.Contains("first version", await File.ReadAllTextAsync(first.HtmlPath), StringComparison.Ordinal);
        string stale = Path.Combine(service.Directory, "incident-42-slo-old-slo.svg");
        await File.WriteAllTextAsync(stale, "<svg/>");
        string otherIncident = Path.Combine(service.Directory, "incident-421-command-rate.svg");
        await File.WriteAllTextAsync(otherIncident, "<svg/>");

        // A reader polls both files while the report is rewritten 15 times: it must only ever see a
        // complete document (a write in place would show it empty or cut short).
        using var stop = new CancellationTokenSource();
        int reads = 0;
        var torn = new List<string>();
        var reader = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                foreach (string path in new[] { first.HtmlPath, first.MarkdownPath })
                {
                    string text = await File.ReadAllTextAsync(path);
                    reads++;
                    bool whole = path.EndsWith(".html", StringComparison.Ordinal) ? text.EndsWith("</html>\n", StringComparison.Ordinal) : text.Contains("\n## Definitions\n", StringComparison.Ordinal) && text.EndsWith("\n\n", StringComparison.Ordinal);
                    if (!whole) torn.Add($"{Path.GetFileName(path)}: {text.Length} chars");
                }
            }
        });
        IncidentReportFiles last = first;
        for (int i = 0; i < 15; i++)
            last = await service.GenerateAsync(IncidentReportFixture.Details($"version {i}"), CancellationToken.None);
        await stop.CancelAsync();
        await reader;

        Assert.Empty(torn);
        Assert.True(reads > 15, $"the reader only read {reads} times");
        Assert.Equal(first.HtmlPath, last.HtmlPath);
        Assert.Contains("version 14", await File.ReadAllTextAsync(last.HtmlPath), StringComparison.Ordinal);
        Assert.DoesNotContain("first version", await File.ReadAllTextAsync(last.MarkdownPath), StringComparison.Ordinal);
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(otherIncident));
        Assert.Empty(Directory.EnumerateFiles(service.Directory, "*.tmp"));
        Assert.Equal(
            [.. last.ChartPaths.Select(Path.GetFileName).Append("incident-42.html").Append("incident-42.md").Append("incident-421-command-rate.svg").Order(StringComparer.Ordinal)],
            Directory.EnumerateFiles(service.Directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Unreachable_prometheus_still_writes_the_report_saying_what_is_missing()
    {
        int port = LoopbackPort.Free(); // nothing listens: connection refused
        using var down = new Monitor.Prometheus.PrometheusApiClient(new Uri($"http://127.0.0.1:{port}/"), TimeSpan.FromSeconds(2));
        var service = new IncidentReportService(down,
            new IncidentReportOptions { ReportsDirectory = _dir, Time = new FixedTimeProvider(IncidentReportFixture.Now), SloSpecsPath = WriteSpecs() });
        var files = await service.GenerateAsync(IncidentReportFixture.Details(), CancellationToken.None);

        string html = await File.ReadAllTextAsync(files.HtmlPath);
        string md = await File.ReadAllTextAsync(files.MarkdownPath);
        Assert.Contains($"Prometheus at http://127.0.0.1:{port}/ was unreachable", html, StringComparison.Ordinal);
        Assert.Equal(4, Regex.Matches(html, "<td class=\"missing\">unavailable: Prometheus unreachable").Count);
        Assert.Equal(6, Regex.Matches(html, "data-missing=\"true\"").Count);
        Assert.Contains("| exchange/order-entry-availability | all | 99.95 % | unavailable: Prometheus unreachable", md, StringComparison.Ordinal);
        Assert.Contains("2 min 15 s", md, StringComparison.Ordinal);                       // durations do not need Prometheus
        Assert.Equal(IncidentReportFixture.TimelineCount, TimelineTimes().Matches(html).Count);
    }

    [Fact]
    public async Task A_marker_outside_the_chart_range_is_named_in_the_caption_instead_of_drawn()
    {
        var details = IncidentReportFixture.Details();
        var resolvedLate = new DateTimeOffset(2025, 6, 10, 14, 0, 0, TimeSpan.Zero);
        details = details with { Incident = details.Incident with { ResolvedAt = resolvedLate } };
        var report = await new IncidentReportBuilder(null, fixture.Specs).BuildAsync(details, resolvedLate.AddHours(1), CancellationToken.None);
        string html = IncidentReportHtml.Render(report);

        Assert.Equal(6, Regex.Matches(html, "Outside the chart&#39;s range: resolved at 2025-06-10 14:00:00.000 UTC").Count);
        Assert.DoesNotContain("data-kind=\"resolved\"", html, StringComparison.Ordinal);
        Assert.Equal(6, Regex.Matches(html, "data-kind=\"mitigated\"").Count);
        // Without Prometheus every chart is drawn empty, saying so, with its markers.
        Assert.Equal(6, Regex.Matches(html, "no data: see the caption").Count);
    }

    [Fact]
    public void A_bad_spec_file_fails_at_construction_naming_file_and_line()
    {
        string path = Path.Combine(_dir, "bad.yml");
        File.WriteAllText(path, "version: \"prometheus/v1\"\nservice: \"x\"\nslos:\n  - name: \"a\"\n    objective: 150\n");
        var e = Assert.Throws<ExchangeHealth.Engine.ConfigException>(() => Service(path));
        Assert.StartsWith(path + ":", e.Message, StringComparison.Ordinal);
    }

    private static string WebUtilityDecode(string html) => System.Net.WebUtility.HtmlDecode(html);

    [GeneratedRegex("<script", RegexOptions.IgnoreCase)]
    private static partial Regex ScriptTag();

    [GeneratedRegex("(src|href)\\s*=|<link|<img|<iframe|url\\(|@import", RegexOptions.IgnoreCase)]
    private static partial Regex ExternalReference();

    [GeneratedRegex("<tr class=\"event\" data-at=\"([^\"]+)\"")]
    private static partial Regex TimelineTimes();

    [GeneratedRegex("<svg [\\s\\S]*?</svg>")]
    private static partial Regex SvgElement();
}
