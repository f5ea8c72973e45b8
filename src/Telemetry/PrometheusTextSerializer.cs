using System.Globalization;
using System.Text;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace ExchangeHealth.Telemetry;

/// <summary>
/// Writes a batch of OpenTelemetry metrics as Prometheus text exposition format 0.0.4
/// (https://prometheus.io/docs/instrumenting/exposition_formats/).
/// </summary>
/// <remarks>
/// One family per Prometheus name, in the order the names first appear; <c># HELP</c> (when the
/// instrument has a description) and <c># TYPE</c> once per family. Instruments that map to the same
/// name and type are merged into one family (the first description wins); an instrument whose name
/// collides with a family of another type, or whose samples would collide with another family's
/// samples (a gauge <c>x_count</c> beside a histogram <c>x</c>), is dropped, as the compatibility
/// specification requires. A series repeated within a family keeps its first value. No timestamps,
/// no <c>otel_scope_*</c> labels, no <c>target_info</c>. Exponential histograms and delta
/// temporality metrics are skipped (the reader is cumulative, so the latter do not occur).
/// A few <c>System.Runtime</c> instruments are corrected first (<see cref="RuntimeMetricCorrections"/>).
/// </remarks>
internal static class PrometheusTextSerializer
{
    public static string Serialize(in Batch<Metric> batch)
    {
        var writer = new FamilyWriter();
        foreach (var metric in batch)
            writer.Add(metric);
        return writer.ToString();
    }

    /// <summary>Formats a sample value or bucket bound the way Prometheus parses it.</summary>
    /// <remarks>
    /// Shortest round-trip form in the invariant culture (<c>0.0001</c>, <c>2.5</c>, <c>1234567</c>,
    /// <c>5e-05</c>), with a lower-case exponent like Go's <c>strconv</c>, and <c>+Inf</c>,
    /// <c>-Inf</c>, <c>NaN</c> for the special values.
    /// </remarks>
    public static string FormatDouble(double value)
    {
        if (double.IsPositiveInfinity(value)) return "+Inf";
        if (double.IsNegativeInfinity(value)) return "-Inf";
        if (double.IsNaN(value)) return "NaN";
        return value.ToString("R", CultureInfo.InvariantCulture).Replace('E', 'e');
    }

    public static string FormatLong(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Escapes a label value: backslash, double quote and line feed.</summary>
    public static void AppendEscapedLabelValue(StringBuilder sb, string value)
    {
        foreach (char c in value)
        {
            switch (c)
            {
                case '\\': sb.Append(@"\\"); break;
                case '"': sb.Append("\\\""); break;
                case '\n': sb.Append(@"\n"); break;
                default: sb.Append(c); break;
            }
        }
    }

    /// <summary>Escapes HELP text: backslash and line feed.</summary>
    public static void AppendEscapedHelp(StringBuilder sb, string value)
    {
        foreach (char c in value)
        {
            switch (c)
            {
                case '\\': sb.Append(@"\\"); break;
                case '\n': sb.Append(@"\n"); break;
                case '\r': break;
                default: sb.Append(c); break;
            }
        }
    }

    /// <summary>Converts an attribute value to its label text (OpenTelemetry attribute rules).</summary>
    public static string FormatAttributeValue(object? value) => value switch
    {
        null => string.Empty,
        string s => s,
        bool b => b ? "true" : "false",
        double d => FormatDouble(d),
        float f => FormatDouble(f),
        IFormattable formattable when value is not Array => formattable.ToString(null, CultureInfo.InvariantCulture),
        Array array => FormatArray(array),
        _ => value.ToString() ?? string.Empty,
    };

    /// <summary>Arrays become a JSON array, as the OpenTelemetry attribute specification suggests.</summary>
    private static string FormatArray(Array array)
    {
        var sb = new StringBuilder("[");
        bool first = true;
        foreach (object? item in array)
        {
            if (!first) sb.Append(',');
            first = false;
            switch (item)
            {
                case null: sb.Append("null"); break;
                case string s: AppendJsonString(sb, s); break;
                case bool b: sb.Append(b ? "true" : "false"); break;
                default: sb.Append(FormatAttributeValue(item)); break;
            }
        }
        return sb.Append(']').ToString();
    }

    private static void AppendJsonString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append(@"\\"); break;
                case '\n': sb.Append(@"\n"); break;
                case '\r': sb.Append(@"\r"); break;
                case '\t': sb.Append(@"\t"); break;
                default:
                    if (c < ' ') sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }

    private sealed class Family(string name, PrometheusMetricType type)
    {
        public string Name { get; } = name;
        public PrometheusMetricType Type { get; } = type;
        public string? Help { get; set; }
        public StringBuilder Samples { get; } = new();
        /// <summary>Label sets already written (the series key within the family).</summary>
        public HashSet<string> Series { get; } = new(StringComparer.Ordinal);
    }

    private sealed class FamilyWriter
    {
        private readonly List<Family> _families = [];
        private readonly Dictionary<string, Family> _byName = new(StringComparer.Ordinal);
        /// <summary>Every sample name (including <c>_bucket</c>/<c>_sum</c>/<c>_count</c>) → the family that writes it.</summary>
        private readonly Dictionary<string, Family> _sampleOwners = new(StringComparer.Ordinal);
        private readonly List<(string Label, string Key, string Value)> _labelScratch = [];
        private readonly StringBuilder _labelBuilder = new();

        public void Add(Metric metric)
        {
            PrometheusMetricType type;
            switch (metric.MetricType)
            {
                case MetricType.LongSum or MetricType.DoubleSum:
                    type = PrometheusMetricType.Counter;
                    break;
                case MetricType.LongSumNonMonotonic or MetricType.DoubleSumNonMonotonic
                    or MetricType.LongGauge or MetricType.DoubleGauge:
                    type = PrometheusMetricType.Gauge;
                    break;
                case MetricType.Histogram:
                    type = PrometheusMetricType.Histogram;
                    break;
                default:
                    return; // exponential histograms have no representation in text format 0.0.4
            }
            if (type != PrometheusMetricType.Gauge && metric.Temporality != AggregationTemporality.Cumulative)
                return; // a delta sum or histogram is not a Prometheus counter or histogram

            string name;
            if (type != PrometheusMetricType.Histogram
                && RuntimeMetricCorrections.TryGet(metric.MeterName, metric.Name, out string correctedName, out var correctedType))
            {
                name = correctedName;
                type = correctedType;
            }
            else
            {
                name = PrometheusNaming.GetMetricName(metric.Name, metric.Unit, type);
            }
            var family = GetOrAddFamily(name, type);
            if (family is null)
                return;
            if (string.IsNullOrEmpty(family.Help) && !string.IsNullOrEmpty(metric.Description))
                family.Help = metric.Description;

            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                string labels = FormatLabels(point.Tags, type == PrometheusMetricType.Histogram);
                if (!family.Series.Add(labels))
                    continue;
                switch (metric.MetricType)
                {
                    case MetricType.LongSum or MetricType.LongSumNonMonotonic:
                        WriteSample(family.Samples, name, labels, null, FormatLong(point.GetSumLong()));
                        break;
                    case MetricType.DoubleSum or MetricType.DoubleSumNonMonotonic:
                        WriteSample(family.Samples, name, labels, null, FormatDouble(point.GetSumDouble()));
                        break;
                    case MetricType.LongGauge:
                        WriteSample(family.Samples, name, labels, null, FormatLong(point.GetGaugeLastValueLong()));
                        break;
                    case MetricType.DoubleGauge:
                        WriteSample(family.Samples, name, labels, null, FormatDouble(point.GetGaugeLastValueDouble()));
                        break;
                    case MetricType.Histogram:
                        WriteHistogram(family.Samples, name, labels, point);
                        break;
                }
            }
        }

        public override string ToString()
        {
            var sb = new StringBuilder();
            foreach (var family in _families)
            {
                if (family.Samples.Length == 0)
                    continue;
                if (!string.IsNullOrEmpty(family.Help))
                {
                    sb.Append("# HELP ").Append(family.Name).Append(' ');
                    AppendEscapedHelp(sb, family.Help);
                    sb.Append('\n');
                }
                sb.Append("# TYPE ").Append(family.Name).Append(' ').Append(family.Type switch
                {
                    PrometheusMetricType.Counter => "counter",
                    PrometheusMetricType.Gauge => "gauge",
                    _ => "histogram",
                }).Append('\n');
                sb.Append(family.Samples);
            }
            return sb.ToString();
        }

        private Family? GetOrAddFamily(string name, PrometheusMetricType type)
        {
            if (_byName.TryGetValue(name, out var existing))
                return existing.Type == type ? existing : null;

            string[] sampleNames = type == PrometheusMetricType.Histogram
                ? [name + "_bucket", name + "_sum", name + "_count"]
                : [name];
            foreach (string sampleName in sampleNames)
            {
                if (_sampleOwners.ContainsKey(sampleName))
                    return null;
            }
            var family = new Family(name, type);
            _families.Add(family);
            _byName.Add(name, family);
            foreach (string sampleName in sampleNames)
                _sampleOwners.Add(sampleName, family);
            return family;
        }

        /// <summary>
        /// The label pairs without braces, sorted by label name, for example
        /// <c>market="BTC-USD",type="limit"</c>; keys that sanitize to the same label are joined with <c>;</c>.
        /// </summary>
        private string FormatLabels(ReadOnlyTagCollection tags, bool histogram)
        {
            if (tags.Count == 0)
                return string.Empty;
            _labelScratch.Clear();
            foreach (var tag in tags)
            {
                string label = PrometheusNaming.GetLabelName(tag.Key);
                // "le" is the bucket bound; a user attribute of that name would make a duplicate label.
                if (histogram && label == "le")
                    label = "_le";
                _labelScratch.Add((label, tag.Key, FormatAttributeValue(tag.Value)));
            }
            _labelScratch.Sort(static (a, b) =>
            {
                int byLabel = string.CompareOrdinal(a.Label, b.Label);
                return byLabel != 0 ? byLabel : string.CompareOrdinal(a.Key, b.Key);
            });

            var sb = _labelBuilder.Clear();
            for (int i = 0; i < _labelScratch.Count; i++)
            {
                var (label, _, value) = _labelScratch[i];
                bool continuesPrevious = i > 0 && _labelScratch[i - 1].Label == label;
                if (continuesPrevious)
                {
                    // Same Prometheus label as the previous key: reopen the value and append ";value".
                    sb.Length--; // the closing quote
                    sb.Append(';');
                }
                else
                {
                    if (sb.Length > 0) sb.Append(',');
                    sb.Append(label).Append("=\"");
                }
                AppendEscapedLabelValue(sb, value);
                sb.Append('"');
            }
            return sb.ToString();
        }

        private static void WriteHistogram(StringBuilder sb, string name, string labels, in MetricPoint point)
        {
            string bucketName = name + "_bucket";
            long cumulative = 0;
            bool wroteInf = false;
            foreach (var bucket in point.GetHistogramBuckets())
            {
                cumulative += bucket.BucketCount;
                string bound = FormatDouble(bucket.ExplicitBound);
                wroteInf |= double.IsPositiveInfinity(bucket.ExplicitBound);
                WriteSample(sb, bucketName, labels, bound, FormatLong(cumulative));
            }
            long count = point.GetHistogramCount();
            if (!wroteInf)
                WriteSample(sb, bucketName, labels, "+Inf", FormatLong(count));
            WriteSample(sb, name + "_sum", labels, null, FormatDouble(point.GetHistogramSum()));
            WriteSample(sb, name + "_count", labels, null, FormatLong(count));
        }

        private static void WriteSample(StringBuilder sb, string name, string labels, string? le, string value)
        {
            sb.Append(name);
            if (labels.Length > 0 || le is not null)
            {
                sb.Append('{').Append(labels);
                if (le is not null)
                {
                    if (labels.Length > 0) sb.Append(',');
                    sb.Append("le=\"").Append(le).Append('"');
                }
                sb.Append('}');
            }
            sb.Append(' ').Append(value).Append('\n');
        }
    }
}
