using System.Text.Json;
using ExchangeHealth.Incidents.Reports;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace ExchangeHealth.Incidents.Tests.Reports;

/// <summary>
/// Renders the HTML report in a real headless Chromium (Debian's <c>chromium</c>, driven by
/// Playwright; Playwright's own browser download cannot work here) and checks what a reviewer sees:
/// every chart drawn with a size and its markers, the timeline rows in time order, no script, no
/// network request, no console error. A screenshot goes to the test output directory.
/// </summary>
[Collection(nameof(IncidentReportCollection))]
public sealed class IncidentReportBrowserTests(IncidentReportFixture fixture, ITestOutputHelper output) : IDisposable
{
    /// <summary>Debian's chromium (the package <c>chromium</c>; test.sh installs it).</summary>
    public const string ChromiumPath = "/usr/bin/chromium";

    private static readonly string[] ChromiumArgs =
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

    private static readonly string[] MarkerKinds = ["acknowledged", "fault", "firing", "mitigated", "resolved"];

    private readonly string _dir = Directory.CreateTempSubdirectory("exh-ireport-browser-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task The_html_report_renders_its_charts_markers_and_timeline_in_chromium()
    {
        if (!File.Exists(ChromiumPath))
            Assert.Fail($"{ChromiumPath} is missing: install Debian's chromium (apt-get install -y chromium; test.sh does it). Playwright's browser download is not used.");

        var service = new IncidentReportService(fixture.Client,
            new IncidentReportOptions { ReportsDirectory = _dir, Time = new FixedTimeProvider(IncidentReportFixture.Now) }, fixture.Specs);
        var files = await service.GenerateAsync(IncidentReportFixture.Details(), CancellationToken.None);

        // The driver (node + the playwright package) is the .playwright folder the package copies
        // beside the test assembly; no browser is downloaded or looked up.
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        IPlaywright playwright;
        try { playwright = await Playwright.CreateAsync(); }
        catch (Exception e) when (e is PlaywrightException or InvalidOperationException or FileNotFoundException or DirectoryNotFoundException)
        {
            Assert.Fail($"The Playwright driver did not start (expected in {Path.Combine(AppContext.BaseDirectory, ".playwright")}, copied by the Microsoft.Playwright package at build): {e.Message}");
            return;
        }
        using (playwright)
        {
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ChromiumPath,
                Headless = true,
                Args = ChromiumArgs,
                Timeout = 30_000,
            });
            var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 }, JavaScriptEnabled = true });
            var errors = new List<string>();
            var requests = new List<string>();
            page.Console += (_, m) => { if (m.Type is "error" or "warning") errors.Add($"console {m.Type}: {m.Text}"); };
            page.PageError += (_, e) => errors.Add("page error: " + e);
            page.Request += (_, r) => requests.Add(r.Url);

            string url = new Uri(files.HtmlPath).AbsoluteUri;
            await page.GotoAsync(url, new PageGotoOptions { WaitUntil = WaitUntilState.Load });
            var dom = await page.EvaluateAsync<JsonElement>(InspectScript);
            string screenshot = Path.Combine(AppContext.BaseDirectory, "screenshots", "incident-42-report.png");
            Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
            output.WriteLine("screenshot: " + screenshot);

            // Charts: every figure has an svg with a rendered size, data lines and all five markers inside it.
            var figures = dom.GetProperty("figures").EnumerateArray().ToList();
            Assert.Equal(6, figures.Count);
            Assert.Equal(4, figures.Count(f => f.GetProperty("slo").ValueKind == JsonValueKind.String));
            foreach (var f in figures)
            {
                string id = f.GetProperty("id").GetString()!;
                double left = f.GetProperty("left").GetDouble(), right = f.GetProperty("right").GetDouble();
                Assert.True(f.GetProperty("width").GetDouble() > 100 && f.GetProperty("height").GetDouble() > 50, $"{id}: svg not rendered with a size");
                Assert.True(f.GetProperty("lines").GetInt32() > 0, $"{id}: no data line drawn");
                var markers = f.GetProperty("markers").EnumerateArray().ToList();
                Assert.Equal(MarkerKinds, markers.Select(m => m.GetProperty("kind").GetString()!).Distinct().Order(StringComparer.Ordinal));
                foreach (var m in markers)
                {
                    double x = m.GetProperty("x").GetDouble();
                    Assert.True(x > left && x < right && m.GetProperty("height").GetDouble() > 50, $"{id}: marker {m.GetProperty("kind")} not drawn inside the chart (x {x}, chart {left}..{right})");
                }
                // Markers are left to right in time order.
                var xs = markers.Select(m => m.GetProperty("x").GetDouble()).ToList();
                Assert.Equal(xs.Order(), xs);
            }

            // Timeline: the expected rows, in time order, with the text shown as text.
            var rows = dom.GetProperty("rows").EnumerateArray().ToList();
            var expected = IncidentReportFixture.Details().Timeline.OrderBy(e => e.At).ThenBy(e => e.Id).ToList();
            Assert.Equal(expected.Count, rows.Count);
            for (int i = 0; i < rows.Count; i++)
            {
                var cells = rows[i].GetProperty("cells").EnumerateArray().Select(c => c.GetString()).ToList();
                Assert.Equal([IncidentReportFormat.TimeMs(expected[i].At), expected[i].Source, expected[i].Actor, expected[i].Kind, expected[i].Text], cells);
            }
            var ats = rows.Select(r => DateTimeOffset.Parse(r.GetProperty("at").GetString()!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(ats.Order(), ats);

            // Nothing ran and nothing was fetched: the <script> in title and note stayed text.
            Assert.Equal(0, dom.GetProperty("scripts").GetInt32());
            Assert.StartsWith("Incident #42: Order entry overload on BTC-USD <script>", dom.GetProperty("title").GetString(), StringComparison.Ordinal);
            Assert.Contains("<script>alert(\"title\")</script>", dom.GetProperty("h1").GetString(), StringComparison.Ordinal);
            Assert.Equal([url], requests);
            Assert.Empty(errors);
        }
    }

    private const string InspectScript = """
        () => {
          const figures = [...document.querySelectorAll('figure.sli-chart')].map(f => {
            const svg = f.querySelector('svg');
            const r = svg ? svg.getBoundingClientRect() : { width: 0, height: 0, left: 0, right: 0 };
            const markers = svg ? [...svg.querySelectorAll('g.marker')].map(g => {
              const l = g.querySelector('line').getBoundingClientRect();
              return { kind: g.dataset.kind, x: l.left + l.width / 2, height: l.height };
            }) : [];
            return { id: f.dataset.chart, slo: f.dataset.slo ?? null, width: r.width, height: r.height, left: r.left, right: r.right,
                     lines: svg ? svg.querySelectorAll('polyline').length : 0, markers };
          });
          const rows = [...document.querySelectorAll('#timeline tr.event')].map(tr => ({ at: tr.dataset.at, cells: [...tr.cells].map(c => c.textContent) }));
          return { figures, rows, scripts: document.scripts.length, title: document.title, h1: document.querySelector('h1').textContent };
        }
        """;
}
