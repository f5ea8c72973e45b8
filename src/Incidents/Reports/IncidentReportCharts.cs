using System.Xml.Linq;
using ExchangeHealth.Monitor.Reports;

namespace ExchangeHealth.Incidents.Reports;

/// <summary>
/// Draws an <see cref="IncidentChart"/> as inline SVG with <see cref="SvgChart"/>: its lines, the
/// SLO's error budget as a threshold line, the impact window shaded, and the report's markers
/// (fault, firing, acknowledgement, mitigation, resolution) as labelled vertical lines.
/// </summary>
internal static class IncidentReportCharts
{
    private static readonly string[] _palette = ["#c5221f", "#1a73e8", "#137333", "#e37400", "#9334e6", "#007b83", "#b06000", "#5f6368"];

    /// <summary>Color of a marker kind.</summary>
    public static string MarkerColor(IncidentMarkerKind kind) => kind switch
    {
        IncidentMarkerKind.Fault => "#b00020",
        IncidentMarkerKind.Firing => "#e37400",
        IncidentMarkerKind.Acknowledged => "#1a73e8",
        IncidentMarkerKind.Mitigated => "#137333",
        _ => "#5f6368",
    };

    /// <summary>The markers of <paramref name="report"/> inside the chart's time range.</summary>
    public static IEnumerable<IncidentMarker> MarkersIn(IncidentReport report, IncidentChart chart) =>
        report.Markers.Where(m => m.At >= chart.From && m.At <= chart.To);

    /// <summary>The markers of <paramref name="report"/> outside the chart's time range (named in its caption).</summary>
    public static IEnumerable<IncidentMarker> MarkersOutside(IncidentReport report, IncidentChart chart) =>
        report.Markers.Where(m => m.At < chart.From || m.At > chart.To);

    /// <summary>The chart as an <c>svg</c> element (SVG namespace; well-formed XML, embeddable in HTML as is).</summary>
    public static XElement Render(IncidentReport report, IncidentChart chart)
    {
        var series = chart.Series.Select((s, i) => new ChartSeries(s.Name, s.Points, _palette[i % _palette.Length])).ToList();
        var lines = chart.Threshold is { } t ? new List<ChartLine> { new(chart.ThresholdLabel ?? "threshold", t, "#1a73e8") } : [];
        var markers = report.Markers.Select(m => new ChartMarker(m.KindName, m.Label, m.At, MarkerColor(m.Kind),
            $"{m.Label} at {IncidentReportFormat.TimeMs(m.At)} UTC: {m.Description}")).ToList();
        var window = report.Window;
        var band = new ChartBand($"Impact window {IncidentReportFormat.Time(window.Start)} to {IncidentReportFormat.Time(window.End)}", window.Start, window.End, "#c5221f");
        string unit = chart.Unit;
        var svg = SvgChart.Render(chart.Title, chart.From, chart.To, series, lines, v => IncidentReportFormat.Axis(v, unit), yMin: 0,
            markers: markers, band: band, emptyText: chart.Missing is null ? "no data" : "no data: see the caption");
        svg.SetAttributeValue("class", "chart");
        svg.SetAttributeValue("data-chart", chart.Id);
        return svg;
    }

    /// <summary>The standalone SVG file text (with the XML declaration) for the Markdown report.</summary>
    public static string RenderFile(IncidentReport report, IncidentChart chart) =>
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + Render(report, chart).ToString(SaveOptions.DisableFormatting) + "\n";
}
