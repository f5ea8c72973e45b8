using System.Globalization;
using System.Xml.Linq;

namespace ExchangeHealth.Monitor.Reports;

/// <summary>A line of a chart; null values break the line (no data).</summary>
/// <param name="Name">Legend text.</param>
/// <param name="Points">(time, value) in time order.</param>
/// <param name="Color">CSS color.</param>
/// <param name="Dashed">Draw dashed (reference curves such as an even burn).</param>
internal sealed record ChartSeries(string Name, IReadOnlyList<(DateTimeOffset Time, double? Value)> Points, string Color, bool Dashed = false);

/// <summary>A horizontal reference line (objective, zero budget).</summary>
/// <param name="Label">Text at its right end.</param>
/// <param name="Value">Its y value.</param>
/// <param name="Color">CSS color.</param>
internal sealed record ChartLine(string Label, double Value, string Color);

/// <summary>
/// A vertical line at one instant with a short label at its top (a fault injected, the first
/// firing, an acknowledgement). Drawn as <c>&lt;g class="marker marker-{Kind}" data-kind="{Kind}"
/// data-time="{ISO 8601 UTC}"&gt;</c> holding a <c>&lt;title&gt;</c> (the tooltip), the line and the label.
/// </summary>
/// <param name="Kind">Short machine name, lowercase letters, digits and <c>-</c> (e.g. <c>fault</c>, <c>firing</c>): the CSS class suffix and <c>data-kind</c>.</param>
/// <param name="Label">Text at the top of the line (keep it short: a word or two).</param>
/// <param name="Time">Where on the x axis; markers outside the chart's range are not drawn.</param>
/// <param name="Color">CSS color of line and label.</param>
/// <param name="Tooltip">Longer text for the marker's <c>&lt;title&gt;</c> (shown on hover, read by screen readers).</param>
internal sealed record ChartMarker(string Kind, string Label, DateTimeOffset Time, string Color, string Tooltip);

/// <summary>A shaded time span behind the lines (an incident's impact window), <c>&lt;rect class="band"&gt;</c>; clipped to the chart's range.</summary>
/// <param name="Label">Its <c>&lt;title&gt;</c>.</param>
/// <param name="From">Start.</param>
/// <param name="To">End.</param>
/// <param name="Color">CSS fill color (drawn at 12 % opacity).</param>
internal sealed record ChartBand(string Label, DateTimeOffset From, DateTimeOffset To, string Color);

/// <summary>A linear map from a domain to a pixel range (the range may be reversed, as y axes are).</summary>
internal readonly record struct LinearScale(double DomainMin, double DomainMax, double RangeMin, double RangeMax)
{
    /// <summary>Maps a domain value; a zero-width domain maps everything to the middle of the range.</summary>
    public double Map(double value) => DomainMax == DomainMin
        ? (RangeMin + RangeMax) / 2
        : RangeMin + ((value - DomainMin) / (DomainMax - DomainMin) * (RangeMax - RangeMin));
}

/// <summary>
/// Line charts as inline SVG (no chart library, no external asset): time on x, a value on y with
/// "nice" ticks (1, 2, 2.5, 5 x 10^n), reference lines, a legend. The output is an
/// <see cref="XElement"/> in the SVG namespace, so it is well-formed XML by construction and can be
/// embedded in HTML as is.
/// </summary>
internal static class SvgChart
{
    public const int Width = 640;
    public const int Height = 220;
    private const double Left = 64, Right = 120, Top = 26, Bottom = 30;

    private static readonly XNamespace _svg = "http://www.w3.org/2000/svg";
    private static readonly CultureInfo _inv = CultureInfo.InvariantCulture;

    private static readonly TimeSpan[] _timeTicks =
        [TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(30), TimeSpan.FromHours(1), TimeSpan.FromHours(3),
         TimeSpan.FromHours(6), TimeSpan.FromHours(12), TimeSpan.FromDays(1), TimeSpan.FromDays(2), TimeSpan.FromDays(7), TimeSpan.FromDays(14)];

    /// <summary>
    /// Nice axis bounds for data in [<paramref name="min"/>, <paramref name="max"/>]: a tick step of
    /// 1, 2, 2.5 or 5 x 10^n giving at most <paramref name="maxTicks"/> intervals, and bounds that
    /// are multiples of it enclosing the data. A flat range is widened (0 -> [0, 1]).
    /// </summary>
    public static (double Min, double Max, double Step) NiceScale(double min, double max, int maxTicks = 5)
    {
        if (double.IsNaN(min) || double.IsNaN(max) || double.IsInfinity(min) || double.IsInfinity(max)) return (0, 1, 0.2);
        if (max < min) (min, max) = (max, min);
        if (max == min)
        {
            double pad = min == 0 ? 1 : Math.Abs(min) * 0.1;
            min -= min == 0 ? 0 : pad;
            max += pad;
        }
        double rough = (max - min) / Math.Max(1, maxTicks);
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        double step = magnitude * 10;
        foreach (double m in new[] { 1, 2, 2.5, 5, 10 })
        {
            if (magnitude * m >= rough - 1e-12 * magnitude)
            {
                step = magnitude * m;
                break;
            }
        }
        double lo = Math.Floor((min / step) + 1e-9) * step;
        double hi = Math.Ceiling((max / step) - 1e-9) * step;
        if (hi <= lo) hi = lo + step;
        return (lo, hi, step);
    }

    /// <summary>The x tick interval: the smallest of 5 min ... 14 d giving at most <paramref name="maxTicks"/> ticks.</summary>
    public static TimeSpan TimeTick(TimeSpan range, int maxTicks = 7)
    {
        foreach (var t in _timeTicks)
            if (range / t <= maxTicks) return t;
        return TimeSpan.FromDays(Math.Ceiling(range.TotalDays / maxTicks));
    }

    /// <summary>Renders a chart.</summary>
    /// <param name="title">Title (also the accessible name).</param>
    /// <param name="from">Left end of the x axis.</param>
    /// <param name="to">Right end of the x axis.</param>
    /// <param name="series">Lines.</param>
    /// <param name="lines">Horizontal reference lines (included in the y range).</param>
    /// <param name="yFormat">Tick label text of a y value.</param>
    /// <param name="yMin">A value the y axis must include (e.g. 0), or null.</param>
    /// <param name="yMax">A value the y axis must include (e.g. 100 for budget), or null.</param>
    /// <param name="markers">Vertical markers (drawn over the lines, labels staggered in up to four rows so close ones stay readable); null for none.</param>
    /// <param name="band">A shaded span behind the lines, or null.</param>
    /// <param name="emptyText">Text drawn in the middle of the plot when no series has a finite value (e.g. why data is missing); null for none.</param>
    /// <returns>An <c>svg</c> element.</returns>
    public static XElement Render(string title, DateTimeOffset from, DateTimeOffset to, IReadOnlyList<ChartSeries> series,
        IReadOnlyList<ChartLine> lines, Func<double, string> yFormat, double? yMin = null, double? yMax = null,
        IReadOnlyList<ChartMarker>? markers = null, ChartBand? band = null, string? emptyText = null)
    {
        var values = series.SelectMany(s => s.Points).Where(p => p.Value is { } v && double.IsFinite(v)).Select(p => p.Value!.Value)
            .Concat(lines.Select(l => l.Value));
        if (yMin is { } a) values = values.Append(a);
        if (yMax is { } b) values = values.Append(b);
        var all = values.ToList();
        var (lo, hi, step) = all.Count == 0 ? (0, 1, 0.2) : NiceScale(all.Min(), all.Max());
        var x = new LinearScale(from.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds(), Left, Width - Right);
        var y = new LinearScale(lo, hi, Height - Bottom, Top);

        var svg = new XElement(_svg + "svg",
            new XAttribute("viewBox", $"0 0 {Width} {Height}"),
            new XAttribute("width", Width), new XAttribute("height", Height),
            new XAttribute("role", "img"), new XAttribute("aria-label", title), new XAttribute("style", "max-width:100%;height:auto"),
            new XAttribute("font-family", "sans-serif"), new XAttribute("font-size", "11"),
            new XElement(_svg + "title", title),
            new XElement(_svg + "rect", new XAttribute("x", 0), new XAttribute("y", 0), new XAttribute("width", Width), new XAttribute("height", Height), new XAttribute("fill", "#ffffff")),
            Text(Left, 16, title, "start", "#222", bold: true));

        if (band is not null && band.To > from && band.From < to)
        {
            double bx1 = x.Map(Math.Max(band.From.ToUnixTimeMilliseconds(), from.ToUnixTimeMilliseconds()));
            double bx2 = x.Map(Math.Min(band.To.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds()));
            svg.Add(new XElement(_svg + "rect", new XAttribute("class", "band"),
                new XAttribute("x", F(bx1)), new XAttribute("y", F(Top)), new XAttribute("width", F(Math.Max(1, bx2 - bx1))), new XAttribute("height", F(Height - Bottom - Top)),
                new XAttribute("fill", band.Color), new XAttribute("fill-opacity", "0.12"),
                new XElement(_svg + "title", band.Label)));
        }

        // y grid and labels
        for (double v = lo; v <= hi + (step / 2); v += step)
        {
            double py = y.Map(v);
            svg.Add(Line(Left, py, Width - Right, py, "#e6e6e6", dashed: false));
            svg.Add(Text(Left - 6, py + 4, yFormat(v), "end", "#555"));
        }
        // x ticks
        var tick = TimeTick(to - from);
        var tickFormat = tick >= TimeSpan.FromDays(1) ? "MM-dd" : "MM-dd HH:mm";
        long tickMs = (long)tick.TotalMilliseconds;
        long firstTick = (long)Math.Ceiling(from.ToUnixTimeMilliseconds() / (double)tickMs) * tickMs;
        for (long t = firstTick; t <= to.ToUnixTimeMilliseconds(); t += tickMs)
        {
            double px = x.Map(t);
            svg.Add(Line(px, Top, px, Height - Bottom, "#f0f0f0", dashed: false));
            svg.Add(Text(px, Height - Bottom + 14, DateTimeOffset.FromUnixTimeMilliseconds(t).UtcDateTime.ToString(tickFormat, _inv), "middle", "#555"));
        }
        svg.Add(Line(Left, Height - Bottom, Width - Right, Height - Bottom, "#888", dashed: false));
        svg.Add(Line(Left, Top, Left, Height - Bottom, "#888", dashed: false));

        foreach (var line in lines)
        {
            double py = y.Map(line.Value);
            svg.Add(Line(Left, py, Width - Right, py, line.Color, dashed: true));
            svg.Add(Text(Width - Right + 4, py + 4, line.Label, "start", line.Color));
        }

        int legend = 0;
        foreach (var s in series)
        {
            foreach (var segment in Segments(s.Points))
            {
                if (segment.Count == 1)
                {
                    var (t, v) = segment[0];
                    svg.Add(new XElement(_svg + "circle", new XAttribute("cx", F(x.Map(t.ToUnixTimeMilliseconds()))), new XAttribute("cy", F(y.Map(v))),
                        new XAttribute("r", "1.5"), new XAttribute("fill", s.Color)));
                    continue;
                }
                var poly = new XElement(_svg + "polyline",
                    new XAttribute("points", string.Join(' ', segment.Select(p => F(x.Map(p.Time.ToUnixTimeMilliseconds())) + "," + F(y.Map(p.Value))))),
                    new XAttribute("fill", "none"), new XAttribute("stroke", s.Color), new XAttribute("stroke-width", "1.5"));
                if (s.Dashed) poly.Add(new XAttribute("stroke-dasharray", "4 3"));
                svg.Add(poly);
            }
            double ly = Top + 14 + (legend++ * 16);
            svg.Add(Line(Width - Right + 4, ly - 4, Width - Right + 20, ly - 4, s.Color, s.Dashed));
            svg.Add(Text(Width - Right + 24, ly, s.Name, "start", "#333"));
        }

        if (emptyText is not null && !series.Any(s => s.Points.Any(p => p.Value is { } v && double.IsFinite(v))))
            svg.Add(Text((Left + Width - Right) / 2, (Top + Height - Bottom) / 2, emptyText, "middle", "#777"));

        if (markers is { Count: > 0 }) AddMarkers(svg, markers, from, to, x);
        return svg;
    }

    /// <summary>Width of a marker label in pixels at font size 10 (an estimate: 5.6 px per character).</summary>
    private static double LabelWidth(string text) => (text.Length * 5.6) + 4;

    private static void AddMarkers(XElement svg, IReadOnlyList<ChartMarker> markers, DateTimeOffset from, DateTimeOffset to, LinearScale x)
    {
        const int rows = 4;
        var rowEnds = new double[rows];
        Array.Fill(rowEnds, double.NegativeInfinity);
        foreach (var m in markers.Where(m => m.Time >= from && m.Time <= to).OrderBy(m => m.Time))
        {
            double px = x.Map(m.Time.ToUnixTimeMilliseconds());
            double width = LabelWidth(m.Label);
            // A label goes right of its line, or left of it near the right edge.
            bool left = px + width > Width - Right;
            double start = left ? px - width : px;
            int row = 0;
            while (row < rows - 1 && rowEnds[row] > start) row++;
            rowEnds[row] = Math.Max(rowEnds[row], start + width);
            var g = new XElement(_svg + "g",
                new XAttribute("class", "marker marker-" + m.Kind), new XAttribute("data-kind", m.Kind),
                new XAttribute("data-time", m.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", _inv)),
                new XElement(_svg + "title", m.Tooltip),
                new XElement(_svg + "line", new XAttribute("x1", F(px)), new XAttribute("y1", F(Top)), new XAttribute("x2", F(px)), new XAttribute("y2", F(Height - Bottom)),
                    new XAttribute("stroke", m.Color), new XAttribute("stroke-width", "1.5"), new XAttribute("stroke-dasharray", "3 2")));
            var label = new XElement(_svg + "text", new XAttribute("x", F(left ? px - 2 : px + 2)), new XAttribute("y", F(Top + 10 + (row * 11))),
                new XAttribute("text-anchor", left ? "end" : "start"), new XAttribute("fill", m.Color), new XAttribute("font-size", "10"), m.Label);
            g.Add(label);
            svg.Add(g);
        }
    }

    /// <summary>Runs of consecutive points with a finite value.</summary>
    internal static List<List<(DateTimeOffset Time, double Value)>> Segments(IReadOnlyList<(DateTimeOffset Time, double? Value)> points)
    {
        var result = new List<List<(DateTimeOffset, double)>>();
        List<(DateTimeOffset, double)>? current = null;
        foreach (var (t, v) in points)
        {
            if (v is { } value && double.IsFinite(value))
            {
                if (current is null) result.Add(current = []);
                current.Add((t, value));
            }
            else current = null;
        }
        return result;
    }

    private static XElement Line(double x1, double y1, double x2, double y2, string color, bool dashed)
    {
        var e = new XElement(_svg + "line", new XAttribute("x1", F(x1)), new XAttribute("y1", F(y1)), new XAttribute("x2", F(x2)), new XAttribute("y2", F(y2)),
            new XAttribute("stroke", color), new XAttribute("stroke-width", "1"));
        if (dashed) e.Add(new XAttribute("stroke-dasharray", "5 4"));
        return e;
    }

    private static XElement Text(double x, double y, string text, string anchor, string color, bool bold = false)
    {
        var e = new XElement(_svg + "text", new XAttribute("x", F(x)), new XAttribute("y", F(y)), new XAttribute("text-anchor", anchor), new XAttribute("fill", color), text);
        if (bold) e.Add(new XAttribute("font-weight", "bold"));
        return e;
    }

    private static string F(double v) => Math.Round(v, 1).ToString("0.#", _inv);
}
