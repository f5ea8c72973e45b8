using System.Globalization;
using System.Text.RegularExpressions;
using ExchangeHealth.Engine;
using ExchangeHealth.Monitor.Prometheus;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ExchangeHealth.Alerting.Rules;

/// <summary>
/// Loads Prometheus rule files (the format of Prometheus 2.42's "Alerting rules" and "Recording
/// rules" documentation, plus <c>keep_firing_for</c> and group-level <c>labels</c> of newer
/// Prometheus), so the same files load into Prometheus, Thanos Ruler or Mimir:
/// <code>
/// groups:
///   - name: engine              # unique in the file
///     interval: 30s             # optional
///     limit: 0                  # optional, 0 = no limit
///     labels: {team: exchange}  # optional, merged under each rule's labels
///     rules:
///       - alert: EngineDown     # or record: name
///         expr: up{job="exh-engine"} == 0
///         for: 1m
///         keep_firing_for: 5m
///         labels: {severity: page}
///         annotations: {summary: "{{ $labels.instance }} is down"}
/// </code>
/// Every problem is a <see cref="ConfigException"/> naming the file, the line and the reason, worded
/// as Prometheus words it where sensible (<c>group "g", rule 2, "EngineDown": invalid label name: 1x</c>).
/// The expression check is lexical only (see <see cref="PromQlLexicalCheck"/>).
/// </summary>
public static partial class RuleFileLoader
{
    private static readonly string[] FileKeys = ["groups"];
    private static readonly string[] GroupKeys = ["name", "interval", "limit", "labels", "rules"];
    private static readonly string[] RuleKeys = ["record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"];

    [GeneratedRegex("^[a-zA-Z_:][a-zA-Z0-9_:]*$", RegexOptions.CultureInvariant)]
    private static partial Regex MetricName();

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex LabelName();

    /// <summary>True for a valid metric (alert, record) name: <c>[a-zA-Z_:][a-zA-Z0-9_:]*</c>.</summary>
    public static bool IsValidMetricName(string name) => MetricName().IsMatch(name);

    /// <summary>True for a label name a rule may set: <c>[a-zA-Z_][a-zA-Z0-9_]*</c>, not starting with <c>__</c> (reserved).</summary>
    public static bool IsValidRuleLabelName(string name) => LabelName().IsMatch(name) && !name.StartsWith("__", StringComparison.Ordinal);

    /// <summary>Reads and parses one rule file.</summary>
    /// <param name="path">The file; also the <see cref="RuleGroup.File"/> of its groups and the file in error messages.</param>
    /// <returns>Its groups, in file order.</returns>
    /// <exception cref="ConfigException">The file cannot be read or is invalid (file, line and reason).</exception>
    public static IReadOnlyList<RuleGroup> LoadFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(path, 0, $"cannot read the rule file: {e.Message}");
        }
        return Parse(text, path);
    }

    /// <summary>Parses rule-file YAML.</summary>
    /// <param name="yaml">The file's text.</param>
    /// <param name="sourceName">The file name for <see cref="RuleGroup.File"/> and error messages.</param>
    /// <returns>Its groups, in file order (none for an empty file).</returns>
    /// <exception cref="ConfigException">
    /// The first problem, with its line: invalid YAML; an unknown key (the known ones are listed);
    /// a missing group <c>name</c> or rule <c>expr</c>; both or neither of <c>alert</c> and <c>record</c>;
    /// a group name repeated in the file; an invalid alert, record or label name; an invalid
    /// duration; <c>for</c>, <c>keep_firing_for</c> or <c>annotations</c> on a recording rule; a
    /// negative or non-integer limit; a template error (at the annotation's or label's line); an
    /// expression that fails the lexical check.
    /// </exception>
    public static IReadOnlyList<RuleGroup> Parse(string yaml, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(sourceName);
        var stream = new YamlStream();
        try { stream.Load(new StringReader(yaml)); }
        catch (YamlException e) { throw new ConfigException(sourceName, YamlErrorLine(yaml, e), $"not valid YAML: {YamlMessage(e)}"); }
        if (stream.Documents.Count == 0) return [];
        if (stream.Documents.Count > 1) throw new ConfigException(sourceName, Line(stream.Documents[1].RootNode.Start), "a rule file must be a single YAML document");
        var root = stream.Documents[0].RootNode;
        if (IsNull(root)) return [];
        var fileMap = root as YamlMappingNode ?? throw new ConfigException(sourceName, Line(root.Start), "expected a mapping with a 'groups' list");
        var top = Fields(fileMap, FileKeys, "the rule file", sourceName);
        if (!top.TryGetValue("groups", out var groupsNode) || IsNull(groupsNode.Value)) return [];
        if (groupsNode.Value is not YamlSequenceNode groupList)
            throw new ConfigException(sourceName, Line(groupsNode.Value.Start), "groups: expected a list of rule groups");

        var groups = new List<RuleGroup>();
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var item in groupList.Children)
        {
            if (item is not YamlMappingNode groupMap) throw new ConfigException(sourceName, Line(item.Start), "each rule group must be a mapping");
            var group = ParseGroup(groupMap, sourceName);
            if (names.TryGetValue(group.Name, out int other))
                throw new ConfigException(sourceName, group.Line, $"groupname: \"{group.Name}\" is repeated in the same file (first at line {other})");
            names[group.Name] = group.Line;
            groups.Add(group);
        }
        return groups;
    }

    private static RuleGroup ParseGroup(YamlMappingNode map, string source)
    {
        int line = Line(map.Start);
        var f = Fields(map, GroupKeys, "a rule group", source);
        string name = OptionalScalar(f, "name", source) ?? "";
        if (name.Length == 0) throw new ConfigException(source, line, "Groupname must not be empty (field 'name')");

        TimeSpan? interval = null;
        if (OptionalScalar(f, "interval", source) is { } intervalText)
        {
            var value = Duration(intervalText, "interval", f["interval"].Value, source, $"group \"{name}\": ");
            interval = value == TimeSpan.Zero ? null : value;
        }

        int limit = 0;
        if (OptionalScalar(f, "limit", source) is { } limitText)
        {
            int limitLine = Line(f["limit"].Value.Start);
            if (!int.TryParse(limitText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out limit))
                throw new ConfigException(source, limitLine, $"group \"{name}\": limit: '{limitText}' is not an integer");
            if (limit < 0) throw new ConfigException(source, limitLine, $"group \"{name}\": limit must not be negative (got {limit}; 0 means no limit)");
        }

        var groupLabels = new List<(string Name, string Value, int Line)>();
        if (f.TryGetValue("labels", out var labelsNode))
            groupLabels = StringMap(labelsNode.Value, "labels", source, $"group \"{name}\": ");
        foreach (var (labelName, _, labelLine) in groupLabels)
        {
            if (!IsValidRuleLabelName(labelName))
                throw new ConfigException(source, labelLine, $"group \"{name}\": invalid label name: {labelName} (must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __)");
        }

        var alerting = new List<AlertingRule>();
        var recording = new List<RecordingRule>();
        if (f.TryGetValue("rules", out var rulesNode) && !IsNull(rulesNode.Value))
        {
            if (rulesNode.Value is not YamlSequenceNode rules)
                throw new ConfigException(source, Line(rulesNode.Value.Start), $"group \"{name}\": rules: expected a list of rules");
            int index = 0;
            foreach (var ruleNode in rules.Children)
            {
                index++;
                if (ruleNode is not YamlMappingNode ruleMap)
                    throw new ConfigException(source, Line(ruleNode.Start), $"group \"{name}\", rule {index}: each rule must be a mapping");
                ParseRule(ruleMap, source, name, index, groupLabels, alerting, recording);
            }
        }

        var groupLabelSet = LabelSet.From(groupLabels.Select(l => new KeyValuePair<string, string>(l.Name, l.Value)));
        return new RuleGroup(name, source, line, interval, limit, groupLabelSet, alerting, recording);
    }

    private static void ParseRule(
        YamlMappingNode map, string source, string group, int index,
        List<(string Name, string Value, int Line)> groupLabels,
        List<AlertingRule> alerting, List<RecordingRule> recording)
    {
        int line = Line(map.Start);
        var f = Fields(map, RuleKeys, "a rule", source);
        string? alert = OptionalScalar(f, "alert", source);
        string? record = OptionalScalar(f, "record", source);
        string ruleName = alert ?? record ?? "";
        string prefix = $"group \"{group}\", rule {index}, \"{ruleName}\": ";
        int LineOf(string key) => f.TryGetValue(key, out var n) ? Line(n.Key.Start) : line;

        if (!string.IsNullOrEmpty(alert) && !string.IsNullOrEmpty(record))
            throw new ConfigException(source, LineOf("record"), prefix + "only one of 'record' and 'alert' must be set");
        if (string.IsNullOrEmpty(alert) && string.IsNullOrEmpty(record))
            throw new ConfigException(source, line, prefix + "one of 'record' or 'alert' must be set");

        string expr = OptionalScalar(f, "expr", source) ?? "";
        if (expr.Length == 0) throw new ConfigException(source, LineOf("expr"), prefix + "field 'expr' must be set in rule");
        if (PromQlLexicalCheck.FirstProblem(expr, out int problemLine) is { } problem)
        {
            // In a literal block (expr: |) the expression's lines are the file's lines after the '|'.
            var exprNode = f["expr"].Value;
            int fileLine = Line(exprNode.Start) + (exprNode is YamlScalarNode { Style: ScalarStyle.Literal } && problemLine > 0 ? problemLine : 0);
            throw new ConfigException(source, fileLine, prefix + "could not parse expression: " + problem);
        }
        expr = expr.Trim();

        // Rule labels override group labels.
        var labels = new SortedDictionary<string, (string Value, int Line)>(StringComparer.Ordinal);
        foreach (var (n, v, l) in groupLabels) labels[n] = (v, l);
        if (f.TryGetValue("labels", out var labelsNode))
        {
            foreach (var (n, v, l) in StringMap(labelsNode.Value, "labels", source, prefix))
            {
                if (!IsValidRuleLabelName(n))
                    throw new ConfigException(source, l, prefix + $"invalid label name: {n} (must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __)");
                labels[n] = (v, l);
            }
        }
        var labelSet = LabelSet.From(labels.Select(p => new KeyValuePair<string, string>(p.Key, p.Value.Value)));

        if (record is not null && alert is null)
        {
            foreach (string key in (string[])["for", "keep_firing_for", "annotations"])
            {
                if (f.ContainsKey(key)) throw new ConfigException(source, LineOf(key), prefix + $"invalid field '{key}' in recording rule");
            }
            if (!IsValidMetricName(record))
                throw new ConfigException(source, LineOf("record"), prefix + $"invalid recording rule name: {record} (must match [a-zA-Z_:][a-zA-Z0-9_:]*)");
            recording.Add(new RecordingRule(record, expr, labelSet, source, line));
            return;
        }

        if (!IsValidMetricName(alert!))
            throw new ConfigException(source, LineOf("alert"), prefix + $"invalid alert name: {alert} (must match [a-zA-Z_:][a-zA-Z0-9_:]*)");
        var forDuration = TimeSpan.Zero;
        if (OptionalScalar(f, "for", source) is { } forText) forDuration = Duration(forText, "for", f["for"].Value, source, prefix);
        var keepFiringFor = TimeSpan.Zero;
        if (OptionalScalar(f, "keep_firing_for", source) is { } keepText) keepFiringFor = Duration(keepText, "keep_firing_for", f["keep_firing_for"].Value, source, prefix);

        var labelTemplates = new List<KeyValuePair<string, AlertTemplate>>();
        foreach (var (n, (v, l)) in labels)
        {
            if (v.Length == 0) continue;
            labelTemplates.Add(new(n, Template(v, source, l, prefix + $"label \"{n}\": ")));
        }

        var annotations = new List<KeyValuePair<string, AlertTemplate>>();
        if (f.TryGetValue("annotations", out var annotationsNode))
        {
            foreach (var (n, v, l) in StringMap(annotationsNode.Value, "annotations", source, prefix).OrderBy(a => a.Name, StringComparer.Ordinal))
            {
                if (!LabelName().IsMatch(n))
                    throw new ConfigException(source, l, prefix + $"invalid annotation name: {n} (must match [a-zA-Z_][a-zA-Z0-9_]*)");
                annotations.Add(new(n, Template(v, source, l, prefix + $"annotation \"{n}\": ")));
            }
        }

        alerting.Add(new AlertingRule(alert!, expr, forDuration, keepFiringFor, labelSet, annotations, labelTemplates, source, line));
    }

    private static AlertTemplate Template(string text, string source, int line, string prefix)
    {
        try { return AlertTemplate.Parse(text); }
        catch (FormatException e) { throw new ConfigException(source, line, prefix + "template error at " + e.Message); }
    }

    private static TimeSpan Duration(string text, string key, YamlNode node, string source, string prefix)
    {
        if (PromDuration.TryParse(text, out var value, out string error)) return value;
        throw new ConfigException(source, Line(node.Start), prefix + $"{key}: not a valid duration string: \"{text}\" ({error})");
    }

    /// <summary>The mapping's entries by key, refusing unknown keys and non-scalar keys.</summary>
    private static Dictionary<string, KeyValuePair<YamlNode, YamlNode>> Fields(YamlMappingNode map, string[] known, string what, string source)
    {
        var result = new Dictionary<string, KeyValuePair<YamlNode, YamlNode>>(StringComparer.Ordinal);
        foreach (var entry in map.Children)
        {
            string key = (entry.Key as YamlScalarNode)?.Value ?? "";
            if (Array.IndexOf(known, key) < 0)
                throw new ConfigException(source, Line(entry.Key.Start), $"field {key} not found in {what} (known fields: {string.Join(", ", known)})");
            result[key] = entry;
        }
        return result;
    }

    /// <summary>A scalar field's value, or null when absent or YAML null.</summary>
    private static string? OptionalScalar(Dictionary<string, KeyValuePair<YamlNode, YamlNode>> fields, string key, string source)
    {
        if (!fields.TryGetValue(key, out var entry) || IsNull(entry.Value)) return null;
        if (entry.Value is not YamlScalarNode scalar) throw new ConfigException(source, Line(entry.Value.Start), $"{key}: expected a single value, not a list or mapping");
        return scalar.Value ?? "";
    }

    /// <summary>A mapping of names to scalar values (labels, annotations), in file order with the line of each entry.</summary>
    private static List<(string Name, string Value, int Line)> StringMap(YamlNode node, string key, string source, string prefix)
    {
        var result = new List<(string, string, int)>();
        if (IsNull(node)) return result;
        if (node is not YamlMappingNode map) throw new ConfigException(source, Line(node.Start), prefix + $"{key}: expected a mapping of names to values");
        foreach (var (k, v) in map.Children)
        {
            string name = (k as YamlScalarNode)?.Value ?? "";
            if (v is not YamlScalarNode scalar) throw new ConfigException(source, Line(v.Start), prefix + $"{key}: the value of '{name}' must be a single value");
            result.Add((name, IsNull(scalar) ? "" : scalar.Value ?? "", Line(k.Start)));
        }
        return result;
    }

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } s && (string.IsNullOrEmpty(s.Value) || s.Value is "~" or "null" or "Null" or "NULL");

    private static int Line(Mark mark) => (int)Math.Min(mark.Line, int.MaxValue);

    /// <summary>The error's line; YamlDotNet puts a tab-indentation error at 1:1, so that one is located here.</summary>
    private static int YamlErrorLine(string yaml, YamlException e)
    {
        if (e.Message.Contains("tab", StringComparison.OrdinalIgnoreCase))
        {
            string[] lines = yaml.Split('\n');
            for (int i = 0; i < lines.Length; i++)
            {
                string indent = lines[i][..(lines[i].Length - lines[i].TrimStart(' ', '\t').Length)];
                if (indent.Contains('\t', StringComparison.Ordinal)) return i + 1;
            }
        }
        return Line(e.Start);
    }

    private static string YamlMessage(YamlException e)
    {
        // YamlDotNet prefixes "(Line: 3, Col: 5, Idx: 20) - (Line: ...): "; the line is reported separately.
        string message = e.Message;
        int close = message.IndexOf("): ", StringComparison.Ordinal);
        return close >= 0 && message.StartsWith('(') ? message[(close + 3)..] : message;
    }
}
