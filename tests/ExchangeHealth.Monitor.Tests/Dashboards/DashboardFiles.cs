using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ExchangeHealth.Monitor.Tests.Dashboards;

/// <summary>One panel query of a dashboard file.</summary>
internal sealed record PanelQuery(string File, string Dashboard, int PanelId, string Panel, string RefId, string Expr)
{
    public override string ToString() => $"{File} panel {PanelId} '{Panel}' {RefId}: {Expr}";
}

/// <summary>The repository's <c>dashboards/*.json</c>, the metric contract, and what Grafana does to a query before sending it.</summary>
internal static partial class DashboardFiles
{
    /// <summary>The repository root (the directory holding ExchangeHealth.sln), found upwards from the test assembly.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    public static string Directory => Path.Combine(RepositoryRoot, "dashboards");

    /// <summary>Every dashboard file, parsed.</summary>
    public static IReadOnlyList<(string File, JsonObject Json)> Load() =>
        System.IO.Directory.GetFiles(Directory, "*.json").Order(StringComparer.Ordinal)
            .Select(f => (Path.GetFileName(f), JsonNode.Parse(File.ReadAllText(f))!.AsObject())).ToList();

    /// <summary>Every panel of a dashboard, rows' collapsed panels included.</summary>
    public static IEnumerable<JsonObject> Panels(JsonObject dashboard)
    {
        foreach (var node in dashboard["panels"]?.AsArray() ?? [])
        {
            var panel = node!.AsObject();
            yield return panel;
            foreach (var inner in panel["panels"]?.AsArray() ?? []) yield return inner!.AsObject();
        }
    }

    /// <summary>Every target expression of every panel of every dashboard, unsubstituted.</summary>
    public static IReadOnlyList<PanelQuery> Queries() =>
        Load().SelectMany(d => Panels(d.Json).SelectMany(p => (p["targets"]?.AsArray() ?? []).Select(t => new PanelQuery(
            d.File, (string)d.Json["uid"]!, (int)p["id"]!, (string?)p["title"] ?? "", (string?)t!["refId"] ?? "", (string?)t["expr"] ?? ""))))
        .ToList();

    /// <summary>
    /// Substitutes Grafana's variables the way Grafana does before a query leaves the browser, for a
    /// 1 s scrape interval: <c>$__rate_interval</c> = max(4 × scrape interval, $__interval + scrape
    /// interval) = 4s, <c>$__interval</c> = 1s, <c>$__range</c> = 1h (<c>$__range_s</c> 3600,
    /// <c>$__range_ms</c> 3600000), and each template variable by the given value (a single-valued
    /// selection is inserted as is).
    /// </summary>
    public static string Substitute(string expr, IReadOnlyDictionary<string, string> variables)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["__rate_interval"] = "4s",
            ["__interval"] = "1s",
            ["__interval_ms"] = "1000",
            ["__range"] = "1h",
            ["__range_s"] = "3600",
            ["__range_ms"] = "3600000",
        };
        foreach (var (k, v) in variables) values[k] = v;
        return VariableRegex().Replace(expr, m =>
        {
            string name = m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value;
            return values.TryGetValue(name, out string? v) ? v : m.Value;
        });
    }

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex VariableRegex();

    /// <summary>The Grafana variables (<c>$name</c> or <c>${name}</c>) an expression uses.</summary>
    public static IEnumerable<string> VariablesIn(string expr) =>
        VariableRegex().Matches(expr).Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value);

    // ------------------------------------------------------------------ metric names

    /// <summary>Names of the metric contract: every backticked <c>exh_*</c> name in ARCHITECTURE.md's "The metric contract" section.</summary>
    public static IReadOnlySet<string>? ContractNames()
    {
        string path = Path.Combine(RepositoryRoot, "..", "shared", "docs", "ARCHITECTURE.md");
        if (!File.Exists(path)) return null;
        string text = File.ReadAllText(path);
        int start = text.IndexOf("## The metric contract", StringComparison.Ordinal);
        if (start < 0) return null;
        int end = text.IndexOf("\n## ", start + 5, StringComparison.Ordinal);
        string section = end < 0 ? text[start..] : text[start..end];
        return ContractNameRegex().Matches(section).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
    }

    [GeneratedRegex(@"`(exh_[a-z0-9_]+)`")]
    private static partial Regex ContractNameRegex();

    private static readonly HashSet<string> _keywords = new(StringComparer.Ordinal)
    {
        "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "atan2",
    };

    private static readonly HashSet<string> _aggregations = new(StringComparer.Ordinal)
    {
        "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio",
    };

    /// <summary>
    /// The metric names a PromQL expression selects: identifiers that are not functions, aggregation
    /// operators, keywords, label names (inside <c>{}</c> and <c>by (...)</c>-style lists) or numbers.
    /// </summary>
    public static IReadOnlyList<string> MetricNames(string expr)
    {
        var names = new List<string>();
        int i = 0;
        while (i < expr.Length)
        {
            char c = expr[i];
            if (c is '"' or '\'' or '`') { i = SkipString(expr, i); continue; }
            if (c == '{') { i = SkipBalanced(expr, i, '{', '}'); continue; }
            if (c == '[') { i = SkipBalanced(expr, i, '[', ']'); continue; }
            if (c == '#') { while (i < expr.Length && expr[i] != '\n') i++; continue; }
            if (c == '$')
            {
                // A Grafana variable ($name or ${name}), not a metric.
                if (i + 1 < expr.Length && expr[i + 1] == '{') { i = SkipBalanced(expr, i + 1, '{', '}'); continue; }
                i++;
                while (i < expr.Length && (char.IsAsciiLetterOrDigit(expr[i]) || expr[i] == '_')) i++;
                continue;
            }
            if (char.IsAsciiDigit(c) || (c == '.' && i + 1 < expr.Length && char.IsAsciiDigit(expr[i + 1])))
            {
                while (i < expr.Length && (char.IsAsciiLetterOrDigit(expr[i]) || expr[i] == '.'
                       || ((expr[i] is '+' or '-') && (expr[i - 1] is 'e' or 'E')))) i++;
                continue;
            }
            if (char.IsAsciiLetter(c) || c is '_' or ':')
            {
                int start = i;
                while (i < expr.Length && (char.IsAsciiLetterOrDigit(expr[i]) || expr[i] is '_' or ':')) i++;
                string word = expr[start..i];
                int j = i;
                while (j < expr.Length && char.IsWhiteSpace(expr[j])) j++;
                char next = j < expr.Length ? expr[j] : '\0';
                if (word is "by" or "without" or "on" or "ignoring" or "group_left" or "group_right")
                {
                    if (next == '(') i = SkipBalanced(expr, j, '(', ')');
                    continue;
                }
                if (_keywords.Contains(word) || next == '(' || string.Equals(word, "inf", StringComparison.OrdinalIgnoreCase)
                    || string.Equals(word, "nan", StringComparison.OrdinalIgnoreCase))
                    continue;
                if (_aggregations.Contains(word) && (expr.AsSpan(j).StartsWith("by") || expr.AsSpan(j).StartsWith("without")))
                    continue;
                names.Add(word);
                continue;
            }
            i++;
        }
        return names;
    }

    /// <summary>
    /// For every call of <c>rate</c>, <c>irate</c> and <c>increase</c>, the text of its range
    /// selector (<c>$__rate_interval</c> expected), or null for a call without one.
    /// </summary>
    public static IReadOnlyList<(string Function, string? Range)> RateRanges(string expr)
    {
        var result = new List<(string, string?)>();
        foreach (Match m in RateCallRegex().Matches(expr))
        {
            int open = m.Index + m.Length - 1;
            int close = SkipBalanced(expr, open, '(', ')');
            string argument = expr[(open + 1)..Math.Max(open + 1, close - 1)];
            string? range = null;
            for (int k = 0; k < argument.Length;)
            {
                char c = argument[k];
                if (c is '"' or '\'' or '`') { k = SkipString(argument, k); continue; }
                if (c == '{') { k = SkipBalanced(argument, k, '{', '}'); continue; }
                if (c == '[')
                {
                    int end = SkipBalanced(argument, k, '[', ']');
                    range = argument[(k + 1)..(end - 1)];
                    k = end;
                    continue;
                }
                k++;
            }
            result.Add((m.Groups[1].Value, range));
        }
        return result;
    }

    [GeneratedRegex(@"(?<![A-Za-z0-9_:])(rate|irate|increase)\s*\(")]
    private static partial Regex RateCallRegex();

    private static int SkipString(string s, int i)
    {
        char quote = s[i++];
        while (i < s.Length && s[i] != quote)
        {
            if (s[i] == '\\' && quote != '`') i++;
            i++;
        }
        return Math.Min(i + 1, s.Length);
    }

    /// <summary>Index just after the bracket closing the one at <paramref name="i"/> (strings skipped).</summary>
    private static int SkipBalanced(string s, int i, char open, char close)
    {
        int depth = 0;
        while (i < s.Length)
        {
            char c = s[i];
            if (c is '"' or '\'' or '`') { i = SkipString(s, i); continue; }
            if (c == open) depth++;
            else if (c == close && --depth == 0) return i + 1;
            i++;
        }
        return s.Length;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ExchangeHealth.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("ExchangeHealth.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>
    /// The rule files of <c>alert-rules/</c> (any depth; YAML with <c>groups:</c> and without
    /// <c>tests:</c>, so promtool test files are left out) copied flat into <paramref name="into"/>;
    /// false when there are none.
    /// </summary>
    public static bool CollectRuleFiles(string into)
    {
        string dir = Path.Combine(RepositoryRoot, "alert-rules");
        if (!System.IO.Directory.Exists(dir)) return false;
        int count = 0;
        foreach (string file in System.IO.Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
        {
            if (!file.EndsWith(".yml", StringComparison.Ordinal) && !file.EndsWith(".yaml", StringComparison.Ordinal)) continue;
            string text = File.ReadAllText(file);
            if (!Regex.IsMatch(text, @"^groups:", RegexOptions.Multiline) || Regex.IsMatch(text, @"^tests:", RegexOptions.Multiline)) continue;
            var flat = new StringBuilder(Path.GetRelativePath(dir, file)).Replace('/', '_').Replace('\\', '_').ToString();
            File.Copy(file, Path.Combine(into, flat));
            count++;
        }
        return count > 0;
    }
}
