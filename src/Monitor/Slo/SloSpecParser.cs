using System.Globalization;
using System.Text.RegularExpressions;
using ExchangeHealth.Engine;
using ExchangeHealth.Monitor.Prometheus;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ExchangeHealth.Monitor.Slo;

/// <summary>
/// Reads SLO specs in Sloth's <c>prometheus/v1</c> format (https://sloth.dev), so existing Sloth
/// specs load unchanged, plus our optional per-SLO <c>exh:</c> block. Shape:
/// <code>
/// version: "prometheus/v1"
/// service: "exchange"                    # letters, digits, _ . -
/// labels: {owner: exchange-core}         # on every recording rule
/// slos:
///   - name: "order-entry-availability"   # letters, digits, _ . -; unique in the file
///     objective: 99.95                   # percent, 0 &lt; objective &lt; 100
///     description: "..."
///     labels: {category: availability}
///     interval: {all: 10s}               # or slierror / metadata / alert (Sloth)
///     sli:
///       events:                          # or raw: {error_ratio_query: ...}; plugin: is not supported
///         error_query: sum(rate(errors[{{.window}}]))
///         total_query: sum(rate(total[{{.window}}]))
///     alerting:
///       name: OrderEntryAvailabilityBudgetBurn   # required unless both alerts are disabled
///       labels: {...}
///       annotations: {runbook_url: ...}
///       page_alert: {disable: false, labels: {...}, annotations: {...}, for: 0s}
///       ticket_alert: {...}
///     exh:                               # ours (docs/slo.md); not part of Sloth
///       group_by: [market]
///       min_events: 500                  # traffic guard; default automatic per tier; 0 = off
///       events_query: sum(increase(total[{{.window}}]))
///       absent_for: 10m                  # 0 = no SLI-absent alert
/// </code>
/// A file may hold several documents separated by <c>---</c> (Sloth's multi-file form).
/// Every error is a <see cref="ConfigException"/> naming file and line: unknown keys, a wrong
/// version, an objective outside (0, 100), a query without <c>{{.window}}</c>, a name that is not
/// a safe label value, duplicate SLO names, invalid label names, SLI plugins and SLO plugins
/// (which we cannot run).
/// </summary>
public static partial class SloSpecParser
{
    private static readonly string[] _topKeys = ["version", "service", "labels", "slos", "slo_plugins"];
    private static readonly string[] _sloKeys = ["name", "description", "objective", "labels", "sli", "alerting", "interval", "plugins", "exh"];
    private static readonly string[] _sliKeys = ["events", "raw", "plugin"];
    private static readonly string[] _eventsKeys = ["error_query", "total_query"];
    private static readonly string[] _rawKeys = ["error_ratio_query", "errorRatioQuery"];
    private static readonly string[] _alertingKeys = ["name", "labels", "annotations", "page_alert", "ticket_alert"];
    private static readonly string[] _alertKeys = ["disable", "labels", "annotations", "for"];
    private static readonly string[] _intervalKeys = ["all", "slierror", "metadata", "alert"];
    private static readonly string[] _exhKeys = ["group_by", "min_events", "events_query", "absent_for"];

    /// <summary>Labels the generator sets itself; a spec may not set them.</summary>
    public static IReadOnlyList<string> ReservedLabels { get; } =
        ["sloth_id", "sloth_service", "sloth_slo", "sloth_window", "sloth_severity", "exh_tier"];

    /// <summary>Loads every document of a spec file.</summary>
    /// <param name="path">The file; its name as given is used in messages.</param>
    /// <returns>One spec per non-empty YAML document, in file order.</returns>
    /// <exception cref="ConfigException">The file cannot be read or a spec is invalid (message <c>file:line: reason</c>).</exception>
    public static IReadOnlyList<SloServiceSpec> Load(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (IOException e) { throw new ConfigException(path, 0, $"cannot read the SLO spec: {e.Message}"); }
        catch (UnauthorizedAccessException e) { throw new ConfigException(path, 0, $"cannot read the SLO spec: {e.Message}"); }
        return Parse(text, path);
    }

    /// <summary>Parses every document of a spec file's text.</summary>
    /// <param name="yaml">The YAML text (one or more documents).</param>
    /// <param name="source">File name for messages and for <see cref="SloServiceSpec.Source"/>.</param>
    /// <returns>One spec per non-empty document.</returns>
    /// <exception cref="ConfigException">Invalid YAML or spec (message <c>file:line: reason</c>).</exception>
    public static IReadOnlyList<SloServiceSpec> Parse(string yaml, string source)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(source);
        var stream = new YamlStream();
        try { stream.Load(new StringReader(yaml)); }
        catch (YamlException e) { throw new ConfigException(source, (int)e.Start.Line, $"not valid YAML: {e.Message}"); }
        catch (InvalidOperationException e)
        {
            // YamlDotNet's scanner throws this (without a position) on some malformed flow collections.
            throw new ConfigException(source, 0, $"not valid YAML (an unclosed [ or {{?): {e.Message}");
        }
        var reader = new Reader(source);
        var specs = new List<SloServiceSpec>();
        foreach (var document in stream.Documents)
        {
            if (document.RootNode is YamlScalarNode { Value: null or "" }) continue;
            specs.Add(reader.Service(document.RootNode));
        }
        if (specs.Count == 0) throw new ConfigException(source, 1, $"no SLO spec in the file (expected 'version: \"{SloServiceSpec.Version}\"', 'service' and 'slos')");
        var ids = new Dictionary<string, (int Line, string Service)>(StringComparer.Ordinal);
        foreach (var spec in specs)
            foreach (var slo in spec.Slos)
            {
                if (ids.TryGetValue(slo.Id, out var other))
                    throw new ConfigException(source, slo.Line, $"SLO '{slo.Name}' of service '{spec.Service}' is already defined at line {other.Line} (sloth_id '{slo.Id}' must be unique)");
                ids[slo.Id] = (slo.Line, spec.Service);
            }
        return specs;
    }

    /// <summary>Whether <paramref name="name"/> is a Prometheus label name we accept (<c>[a-zA-Z_][a-zA-Z0-9_]*</c>, not <c>__</c>-prefixed).</summary>
    public static bool IsLabelName(string name) => LabelNameRegex().IsMatch(name) && !name.StartsWith("__", StringComparison.Ordinal);

    /// <summary>
    /// Whether <paramref name="value"/> is usable as a service or SLO name: it becomes a label value
    /// inside generated PromQL selectors and rule-group names, so letters, digits, <c>_ . -</c>,
    /// starting with a letter or digit.
    /// </summary>
    public static bool IsSafeName(string value) => SafeNameRegex().IsMatch(value);

    /// <summary>Replaces every <c>{{.window}}</c> (spaces allowed inside the braces) with <paramref name="window"/>.</summary>
    public static string ExpandWindow(string query, string window)
    {
        ArgumentNullException.ThrowIfNull(query);
        return WindowRegex().Replace(query, window);
    }

    [GeneratedRegex(@"^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex LabelNameRegex();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
    private static partial Regex SafeNameRegex();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex AlertNameRegex();

    [GeneratedRegex(@"\{\{\s*\.window\s*\}\}")]
    private static partial Regex WindowRegex();

    [GeneratedRegex(@"\{\{.*?\}\}", RegexOptions.Singleline)]
    private static partial Regex AnyTemplateRegex();

    private sealed class Reader(string source)
    {
        // The key node of every value node seen by Fields, so errors about a key's presence point at the key.
        private readonly Dictionary<YamlNode, YamlNode> _keyOf = new(ReferenceEqualityComparer.Instance);

        private ConfigException Error(YamlNode node, string reason) => new(source, Line(node), reason);

        private ConfigException KeyError(YamlNode value, string reason) => Error(_keyOf.TryGetValue(value, out var key) ? key : value, reason);

        private static int Line(YamlNode node) => (int)node.Start.Line;

        public SloServiceSpec Service(YamlNode root)
        {
            var map = Mapping(root, "the spec");
            if (Find(map, "apiVersion") is { } apiVersion)
                throw Error(apiVersion, "Kubernetes PrometheusServiceLevel manifests are not supported; use the plain Sloth spec (version: \"prometheus/v1\")");
            var fields = Fields(map, _topKeys, "the spec");
            var versionNode = Required(map, fields, "version", "the spec");
            string version = Scalar(versionNode, "version");
            if (version != SloServiceSpec.Version)
                throw Error(versionNode, $"version: '{version}' is not supported (only \"{SloServiceSpec.Version}\", Sloth's Prometheus spec)");
            if (fields.TryGetValue("slo_plugins", out var plugins))
                throw KeyError(plugins, "slo_plugins: Sloth SLO plugins are not supported by exh slo generate (remove the block; the traffic guard, tiers and absent alert are built in, see docs/slo.md)");
            var serviceNode = Required(map, fields, "service", "the spec");
            string service = Scalar(serviceNode, "service");
            if (!IsSafeName(service))
                throw Error(serviceNode, $"service: '{service}' is not a valid name (letters, digits, '_', '.', '-'; it becomes the sloth_service label and part of sloth_id)");
            var labels = fields.TryGetValue("labels", out var l) ? Labels(l, "labels") : LabelSet.Empty;
            var slosNode = Required(map, fields, "slos", "the spec");
            if (slosNode is not YamlSequenceNode list) throw Error(slosNode, "slos: expected a list of SLOs");
            if (list.Children.Count == 0) throw Error(list, "slos: the list is empty (at least one SLO)");
            var slos = new List<SloDefinition>();
            var names = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var item in list.Children)
            {
                var slo = Slo(item, service, labels);
                if (names.TryGetValue(slo.Name, out int other))
                    throw Error(item, $"slos: SLO name '{slo.Name}' is already used by the SLO at line {other}");
                names[slo.Name] = slo.Line;
                slos.Add(slo);
            }
            return new SloServiceSpec(source, Line(root), service, labels, slos);
        }

        private SloDefinition Slo(YamlNode node, string service, LabelSet specLabels)
        {
            var map = Mapping(node, "an SLO");
            var fields = Fields(map, _sloKeys, "an SLO");
            var nameNode = Required(map, fields, "name", "an SLO");
            string name = Scalar(nameNode, "name");
            if (!IsSafeName(name))
                throw Error(nameNode, $"name: '{name}' is not a valid SLO name (letters, digits, '_', '.', '-', starting with a letter or digit; it becomes the sloth_slo label value)");
            if (fields.TryGetValue("plugins", out var plugins))
                throw KeyError(plugins, $"SLO '{name}': plugins: Sloth SLO plugins are not supported by exh slo generate");
            var objectiveNode = Required(map, fields, "objective", $"SLO '{name}'");
            string objectiveText = Scalar(objectiveNode, "objective");
            if (!double.TryParse(objectiveText, NumberStyles.Float, CultureInfo.InvariantCulture, out double objective) || double.IsNaN(objective))
                throw Error(objectiveNode, $"SLO '{name}': objective: '{objectiveText}' is not a number (a percentage such as 99.9)");
            if (objective <= 0 || objective >= 100)
                throw Error(objectiveNode, $"SLO '{name}': objective: {objectiveText} is outside (0, 100): it is a percentage such as 99.9, and 100 leaves no error budget");
            string description = fields.TryGetValue("description", out var d) ? Scalar(d, "description") : "";
            var labels = specLabels.Merge(fields.TryGetValue("labels", out var l) ? Labels(l, $"SLO '{name}': labels") : LabelSet.Empty);
            var sli = Sli(Required(map, fields, "sli", $"SLO '{name}'"), name);
            var alerting = fields.TryGetValue("alerting", out var a) ? Alerting(a, name) : null;
            if (alerting is null)
                throw Error(map, $"SLO '{name}': missing 'alerting' (give alerting.name, or disable both alerts: alerting: {{page_alert: {{disable: true}}, ticket_alert: {{disable: true}}}})");
            var intervals = fields.TryGetValue("interval", out var i) ? Intervals(i, name) : SloIntervals.None;
            var extensions = fields.TryGetValue("exh", out var x) ? Extensions(x, name, sli) : SloExtensions.Default;
            return new SloDefinition(Line(map), name, $"{service}-{name}", description, objective, labels, sli, alerting, intervals, extensions);
        }

        private SloSli Sli(YamlNode node, string slo)
        {
            var map = Mapping(node, $"SLO '{slo}': sli");
            var fields = Fields(map, _sliKeys, $"SLO '{slo}': sli");
            if (fields.TryGetValue("plugin", out var plugin))
                throw KeyError(plugin, $"SLO '{slo}': sli.plugin: SLI plugins are not supported by exh slo generate; write the plugin's queries as sli.events (error_query, total_query) or sli.raw (error_ratio_query)");
            bool hasEvents = fields.TryGetValue("events", out var events), hasRaw = fields.TryGetValue("raw", out var raw);
            if (hasEvents == hasRaw)
                throw Error(map, $"SLO '{slo}': sli: give exactly one of 'events' (error_query, total_query) or 'raw' (error_ratio_query)");
            if (hasEvents)
            {
                var e = Mapping(events!, $"SLO '{slo}': sli.events");
                var ef = Fields(e, _eventsKeys, $"SLO '{slo}': sli.events");
                string error = Query(Required(e, ef, "error_query", $"SLO '{slo}': sli.events"), $"SLO '{slo}': sli.events.error_query");
                string total = Query(Required(e, ef, "total_query", $"SLO '{slo}': sli.events"), $"SLO '{slo}': sli.events.total_query");
                return new SloSli(error, total, null);
            }
            var r = Mapping(raw!, $"SLO '{slo}': sli.raw");
            var rf = Fields(r, _rawKeys, $"SLO '{slo}': sli.raw");
            if (rf.ContainsKey("error_ratio_query") && rf.ContainsKey("errorRatioQuery"))
                throw Error(r, $"SLO '{slo}': sli.raw: give error_ratio_query once (errorRatioQuery is an older spelling of the same key)");
            var queryNode = rf.TryGetValue("error_ratio_query", out var q) ? q : rf.TryGetValue("errorRatioQuery", out var q2) ? q2
                : throw Error(r, $"SLO '{slo}': sli.raw: missing required key 'error_ratio_query'");
            return new SloSli(null, null, Query(queryNode, $"SLO '{slo}': sli.raw.error_ratio_query"));
        }

        private string Query(YamlNode node, string what)
        {
            // Trailing spaces mean nothing to PromQL; dropping them keeps the generated YAML block scalars clean.
            string query = string.Join('\n', Scalar(node, what).Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n').Select(l => l.TrimEnd())).Trim();
            if (query.Length == 0) throw Error(node, $"{what}: the query is empty");
            if (!WindowRegex().IsMatch(query))
                throw Error(node, $"{what}: the query has no '{{{{.window}}}}' placeholder (write e.g. rate(x[{{{{.window}}}}]) so each window 5m..3d gets its own rule)");
            var other = AnyTemplateRegex().Matches(query).FirstOrDefault(m => !WindowRegex().IsMatch(m.Value));
            if (other is not null)
                throw Error(node, $"{what}: unknown template '{other.Value}' (only {{{{.window}}}} is replaced)");
            return query;
        }

        private SloAlerting Alerting(YamlNode node, string slo)
        {
            var map = Mapping(node, $"SLO '{slo}': alerting");
            var fields = Fields(map, _alertingKeys, $"SLO '{slo}': alerting");
            var page = fields.TryGetValue("page_alert", out var p) ? Alert(p, $"SLO '{slo}': alerting.page_alert") : SloAlertSpec.Default;
            var ticket = fields.TryGetValue("ticket_alert", out var t) ? Alert(t, $"SLO '{slo}': alerting.ticket_alert") : SloAlertSpec.Default;
            string? name = null;
            if (fields.TryGetValue("name", out var n))
            {
                name = Scalar(n, "alerting.name");
                if (!AlertNameRegex().IsMatch(name))
                    throw Error(n, $"SLO '{slo}': alerting.name: '{name}' is not a valid alert name (letters, digits and '_', not starting with a digit)");
            }
            else if (!page.Disabled || !ticket.Disabled)
            {
                throw Error(map, $"SLO '{slo}': alerting.name is required while the page or ticket alert is enabled");
            }
            var labels = fields.TryGetValue("labels", out var l) ? Labels(l, $"SLO '{slo}': alerting.labels") : LabelSet.Empty;
            var annotations = fields.TryGetValue("annotations", out var a) ? Annotations(a, $"SLO '{slo}': alerting.annotations") : new SortedDictionary<string, string>(StringComparer.Ordinal);
            return new SloAlerting(name, labels, annotations, page, ticket);
        }

        private SloAlertSpec Alert(YamlNode node, string what)
        {
            var map = Mapping(node, what);
            var fields = Fields(map, _alertKeys, what);
            bool disabled = false;
            if (fields.TryGetValue("disable", out var d))
            {
                string text = Scalar(d, $"{what}.disable");
                disabled = text.ToUpperInvariant() switch
                {
                    "TRUE" => true,
                    "FALSE" => false,
                    _ => throw Error(d, $"{what}.disable: '{text}' is not true or false"),
                };
            }
            TimeSpan? forDuration = fields.TryGetValue("for", out var f) ? Duration(f, $"{what}.for") : null;
            var labels = fields.TryGetValue("labels", out var l) ? Labels(l, $"{what}.labels") : LabelSet.Empty;
            var annotations = fields.TryGetValue("annotations", out var a) ? Annotations(a, $"{what}.annotations") : new SortedDictionary<string, string>(StringComparer.Ordinal);
            return new SloAlertSpec(disabled, labels, annotations, forDuration);
        }

        private SloIntervals Intervals(YamlNode node, string slo)
        {
            string what = $"SLO '{slo}': interval";
            var map = Mapping(node, what);
            var fields = Fields(map, _intervalKeys, what);
            TimeSpan? Get(string key)
            {
                if (!fields.TryGetValue(key, out var n)) return null;
                var value = Duration(n, $"{what}.{key}");
                if (value <= TimeSpan.Zero) throw Error(n, $"{what}.{key}: an evaluation interval must be greater than 0");
                return value;
            }
            var all = Get("all");
            return new SloIntervals(Get("slierror") ?? all, Get("metadata") ?? all, Get("alert") ?? all);
        }

        private SloExtensions Extensions(YamlNode node, string slo, SloSli sli)
        {
            string what = $"SLO '{slo}': exh";
            var map = Mapping(node, what);
            var fields = Fields(map, _exhKeys, what);
            var groupBy = new List<string>();
            if (fields.TryGetValue("group_by", out var g))
            {
                if (g is not YamlSequenceNode seq) throw Error(g, $"{what}.group_by: expected a list of label names, e.g. [market]");
                foreach (var item in seq.Children)
                {
                    string label = Scalar(item, $"{what}.group_by");
                    if (!IsLabelName(label)) throw Error(item, $"{what}.group_by: '{label}' is not a valid label name");
                    if (ReservedLabels.Contains(label)) throw Error(item, $"{what}.group_by: '{label}' is set by the generator; list the SLI's own labels (e.g. market)");
                    if (groupBy.Contains(label)) throw Error(item, $"{what}.group_by: '{label}' is listed twice");
                    groupBy.Add(label);
                }
            }
            long? minEvents = null;
            if (fields.TryGetValue("min_events", out var m))
            {
                string text = Scalar(m, $"{what}.min_events");
                if (text != "auto")
                {
                    if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long n))
                        throw Error(m, $"{what}.min_events: '{text}' is not a whole number of events >= 0 (or 'auto')");
                    minEvents = n;
                }
            }
            string? eventsQuery = fields.TryGetValue("events_query", out var e) ? Query(e, $"{what}.events_query") : null;
            if (minEvents > 0 && !sli.IsEvents && eventsQuery is null)
                throw Error(m!, $"{what}.min_events: a raw SLI has no event count; give {what}.events_query (events in {{{{.window}}}}) for the traffic guard");
            TimeSpan? absentFor = fields.TryGetValue("absent_for", out var a) ? Duration(a, $"{what}.absent_for") : null;
            return new SloExtensions(groupBy, minEvents, eventsQuery, absentFor);
        }

        private LabelSet Labels(YamlNode node, string what)
        {
            var map = Mapping(node, what);
            var pairs = new List<KeyValuePair<string, string>>();
            foreach (var (k, v) in map.Children)
            {
                string name = Scalar(k, what);
                if (!IsLabelName(name)) throw Error(k, $"{what}: '{name}' is not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)");
                if (ReservedLabels.Contains(name)) throw Error(k, $"{what}: '{name}' is set by the generator and cannot be given in a spec");
                pairs.Add(new(name, Scalar(v, $"{what}.{name}")));
            }
            return LabelSet.From(pairs);
        }

        private SortedDictionary<string, string> Annotations(YamlNode node, string what)
        {
            var map = Mapping(node, what);
            var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var (k, v) in map.Children)
            {
                string name = Scalar(k, what);
                if (!IsLabelName(name)) throw Error(k, $"{what}: '{name}' is not a valid annotation name ([a-zA-Z_][a-zA-Z0-9_]*)");
                result[name] = Scalar(v, $"{what}.{name}");
            }
            return result;
        }

        private TimeSpan Duration(YamlNode node, string what)
        {
            string text = Scalar(node, what);
            if (!PromDuration.TryParse(text, out var value, out string error))
                throw Error(node, $"{what}: {error}");
            return value;
        }

        private YamlMappingNode Mapping(YamlNode node, string what) =>
            node as YamlMappingNode ?? throw Error(node, $"{what}: expected a mapping (key: value lines)");

        private string Scalar(YamlNode node, string what) =>
            node is YamlScalarNode s ? s.Value ?? "" : throw Error(node, $"{what}: expected a single value, not a list or mapping");

        private Dictionary<string, YamlNode> Fields(YamlMappingNode map, string[] known, string where)
        {
            var fields = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
            foreach (var (k, v) in map.Children)
            {
                string key = Scalar(k, where);
                if (!known.Contains(key))
                    throw Error(k, $"{where}: unknown key '{key}' (known: {string.Join(", ", known)})");
                fields[key] = v;
                _keyOf[v] = k;
            }
            return fields;
        }

        private static YamlNode? Find(YamlMappingNode map, string key) =>
            map.Children.FirstOrDefault(p => p.Key is YamlScalarNode s && s.Value == key).Key;

        private YamlNode Required(YamlMappingNode map, Dictionary<string, YamlNode> fields, string key, string where) =>
            fields.TryGetValue(key, out var node) ? node : throw Error(map, $"{where}: missing required key '{key}'");
    }
}
