using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using ExchangeHealth.Alerting.Rules;
using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.TestKit.Prometheus;

namespace ExchangeHealth.Alerting.Tests.Rules;

/// <summary>
/// Differential test against the real Prometheus template engine: each case becomes an alerting
/// rule whose annotation is the template, fed one series with the case's value, and a
/// <c>promtool test rules</c> unit test whose expected annotation is OUR rendering. promtool passes
/// only if Prometheus 2.42 renders every case letter for letter as we do (errors included).
/// </summary>
public sealed class TemplatePromToolParityTests
{
    private static readonly double[] Values =
    [
        0, 1, -1, 0.5, 42, 999.5, 1234.5678, 1e6, 12345678, 123456789, 1e-7, 0.000123456, 3.14159265358979,
        262861.5, 1e21, 1.5e300, 0.125, 2.5, 0.0625, 1023, 1024, 3670016, 1700000000.123, -0.0005, -12345.678,
        5e-324, 1.7976931348623157e308, double.NaN, double.PositiveInfinity, double.NegativeInfinity,
    ];

    /// <summary>Templates whose output depends on <c>$value</c>: rendered for every value.</summary>
    private static readonly string[] ValueTemplates =
    [
        "v={{ $value }}",
        "{{ $value | humanize }}",
        "{{ humanize1024 $value }}",
        "{{ humanizeDuration $value }}",
        "{{ humanizePercentage $value }}",
        "{{ humanizeTimestamp $value }}",
        "{{ printf \"%.2f\" $value }}",
        "{{ printf \"%.0f|%.1f|%.3f\" $value $value $value }}",
        "[{{ printf \"%8.3f\" $value }}][{{ printf \"%-10.2e\" $value }}][{{ printf \"%08.2f\" $value }}]",
        "{{ printf \"%g|%e|%E|%G|%v\" $value $value $value $value $value }}",
        "{{ printf \"%.3g|%.10g|%+.4g|% .2f\" $value $value $value $value }}",
        "{{ printf \"%d\" $value }}",
        "{{ .Value }} {{ $.Value }}",
        "{{ if gt $value 100.0 }}high{{ else if ge $value 1.0 }}mid{{ else }}low{{ end }}",
        "{{ $x := 42.0 }}{{ if lt $value $x }}below {{ $x }}{{ else }}not below{{ end }}",
        "{{ if eq $value 42.0 }}answer{{ else }}{{ $value | printf \"%.1f\" }}{{ end }}",
        "{{ humanize (printf \"%f\" $value) }}",
    ];

    /// <summary>Templates that do not use <c>$value</c> (or print an error): rendered once or twice.</summary>
    private static readonly string[] OtherTemplates =
    [
        "{{ $labels.instance }} of {{ $labels.job }}",
        "[{{ $labels.missing }}][{{ index $labels \"missing\" }}][{{ .Labels.missing }}]",
        "{{ index $labels \"instance\" }} {{ .Labels.job }} {{ $.Labels.num }}",
        "{{ $labels }}",
        "{{ humanize $labels.num }} {{ humanize1024 $labels.num }} {{ humanizeDuration $labels.num }} {{ humanizePercentage $labels.ratio }}",
        "{{ humanizeTimestamp $labels.num }}",
        "{{ printf \"%s|%q|%v|%10s|%-10s|%.3s|%x|%X\" $labels.job $labels.instance $labels.job $labels.job $labels.job $labels.instance $labels.job $labels.job }}",
        "{{ printf \"%d|%5d|%-5d|%05d|%+d|%x|%o|%b|%c|%q|%U|%v\" 42 42 42 42 42 255 8 5 65 66 67 -7 }}",
        "{{ printf \"%s\" }}|{{ printf \"%s\" \"a\" \"b\" }}|{{ printf \"100%%\" }}|{{ printf \"%!\" }}|{{ printf \"%z\" 1 }}|{{ printf \"%t %t\" true 1 }}",
        "{{ printf \"%v %v %v\" 3 1.5 \"s\" }}|{{ printf \"%d\" $labels.job }}|{{ printf \"%s\" 1.5 }}",
        "{{ 3 }} {{ 1.5 }} {{ 'a' }} {{ 0x1F }} {{ 1e3 }} {{ -2 }} {{ true }} {{ \"q\\tx\\u00e9\" }} {{ `raw\\n` }} {{ 017 }} {{ 1_000 }}",
        "{{ print 1 2 \"a\" 3 \"b\" \"c\" 4.5 true }}",
        "{{ toUpper $labels.job }} {{ toLower \"MiXeD\" }} {{ title \"hello world-foo_bar x\" }}",
        "{{ len $labels.job }} {{ len $labels }} {{ not true }} {{ not $labels.missing }}",
        "{{ and $labels.job \"both\" }}|{{ and $labels.missing \"x\" }}|{{ or $labels.missing \"fallback\" }}|{{ or $labels.job \"y\" }}",
        "{{ if and (eq $labels.job \"api\") (ne $labels.instance \"x\") }}api{{ end }}{{ if eq $labels.job \"a\" \"b\" \"api\" }}!{{ end }}",
        "{{ if lt $labels.job \"b\" }}before b{{ end }} {{ if gt 3 2 }}3>2{{ end }} {{ if le 2 2 }}2<=2{{ end }}",
        "a  {{- $labels.job -}}  b {{- /* a comment */ -}} c {{/* another */}} d",
        "line one\n  {{- \" \" -}}\nline two {{ $labels.job }}\n",
        "{{ $x := \"first\" }}{{ $x = \"second\" }}{{ $x }}{{ if true }}{{ $x = \"third\" }}{{ end }} {{ $x }}",
        "{{ (printf \"%s-%s\" $labels.job \"x\") | toUpper }}",
        "{{ humanize $labels.job }}",
        "{{ gt $value 5 }}",
        "{{ humanizeDuration $labels.instance }}",
        "ok\nthen {{ humanize $labels.job }}",
        "{{ toUpper $value }}",
        "{{ $value.foo }}",
        "{{ index $labels 3 }}",
        "{{ eq $labels \"x\" }}",
        "{{ eq $labels $labels }}",
        "{{ lt $labels 1 }}",
        "{{ lt true false }}",
        "{{ eq 1 1.0 }}",
        "{{ .Labels.job.x }}",
        "{{ humanize true }}",
        "{{ printf 3 }}",
        "é {{ humanize $labels.job }}",
        "{{ printf \"%*d|%-*d|%.*f\" 5 42 4 7 2 3.14159 }}",
        "{{ printf \"%#x|%#o|%x|%X|%+q|%#q|% d|%+.2e\" 255 8 -255 \"héllo\" \"héllo\" \"back`tick\" 5 12345.678 }}",
        "{{ humanize \"1e3\" }} {{ humanize \"+Inf\" }} {{ humanize \"nan\" }} {{ humanize \"-0.001\" }} {{ humanizeDuration \"3661\" }} {{ humanize \".5\" }} {{ humanize \"5.\" }}",
        "{{ humanize \" 1\" }}",
        "{{ humanize \"0x1p4\" }}",
        "{{ humanize \"1_000\" }}",
        "{{ humanize \"1e400\" }}",
        "{{ printf \"%q|%q\" \"é\\x01\\u00a0\" \"tab\\there\" }}",
        "{{ printf \"%5s|%-5s|%.2s|%05s\" \"日本語\" \"日本語\" \"日本語\" \"ab\" }}",
        "{{ printf \"%v|%d\" $labels $labels }}",
        "{{ printf \"%6.2f%%|%08.3f|%-8.3f|%+08.3f\" 12.345 -3.14159 -3.14159 3.14159 }}",
        "{{ printf \"%t|%s\" \"x\" true }}",
        "{{ printf \"%x|%.2x|%#x|%X|%b|%x|%.0x\" 3.5 1.0 0.0 -0.1 8.0 5e-324 1.5 }}",
        "{{ humanize \"0x.8p1\" }} {{ humanize \"-0X1.8P+3\" }} {{ humanize \"0x1_0p0\" }} {{ humanize \"1__0\" }}",
        "{{ index \"abc\" 1 }} {{ len \"héllo\" }}",
        "{{ title \"élan vital\" }} {{ toUpper \"straße\" }}",
        "{{ printf \"%c|%c|%U|%#U\" 233 9731 233 233 }}",
        "{{ printf \"%.0f %.0f %.0f %.0f\" 0.5 1.5 2.5 -0.5 }}",
        "{{ printf \"%.3e|%.0e|%#.0e|%#g\" 123456.0 5.5 5.5 1.0 }}",
        "{{ -0.0 }} {{ printf \"%v %.1f\" -0.0 -0.0 }}",
        "{{ printf \"%T %T %T %T %T\" 1 1.5 \"s\" true $labels }}",
        "{{ printf \"%#v|%#v|%#v|%#v|%#v|%#v|%#v\" 1.0 \"s\" 3 1e6 $labels 0.5 true }}",
        "{{ printf \"%+v|%+v|% v|%+d|%+s\" 5 2.5 3 5 \"x\" }}",
        "{{ printf \"%p|%[2]d %[1]d|%w|%[3]d|%[0]d|%[x]d|%[1]*d|%.[2]*f|%[1]2d\" 1 2 }}",
        "{{ printf \"%[2]s%[1]s %s\" \"a\" \"b\" \"c\" }}|{{ printf \"%d %d\" 1 2 3 }}|{{ printf \"%.\" }}|{{ printf \"%*d\" \"x\" 5 }}",
    ];

    [Fact]
    public void Templates_RenderExactlyAsPrometheus()
    {
        var cases = new List<(string Template, double Value)>();
        foreach (string t in ValueTemplates)
            foreach (double v in Values) cases.Add((t, v));
        foreach (string t in OtherTemplates)
        {
            cases.Add((t, 7));
            cases.Add((t, 0.25));
        }

        using var dir = new RulesTempDirectory();
        var seriesLabels = LabelSet.Of("job", "api", "instance", "host-1:9090", "num", "1234567", "ratio", "0.0456");
        var json = new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

        // 1. The rule file: one alert per case, the template both as an annotation and as a label
        //    (Prometheus expands rule label values as templates too). JSON is YAML, so no quoting pitfalls.
        var rules = new List<object>();
        for (int i = 0; i < cases.Count; i++)
        {
            string id = i.ToString(CultureInfo.InvariantCulture);
            rules.Add(new Dictionary<string, object>
            {
                ["alert"] = "Parity" + id,
                ["expr"] = $"parity{{case=\"{id}\"}}",
                ["labels"] = new Dictionary<string, string> { ["tpl"] = cases[i].Template, ["severity"] = "page" },
                ["annotations"] = new Dictionary<string, string> { ["out"] = cases[i].Template },
            });
        }
        string rulesFile = Path.Combine(dir.Path, "parity.rules.yml");
        File.WriteAllText(rulesFile, JsonSerializer.Serialize(new { groups = new[] { new { name = "parity", rules } } }, json));

        // 2. Our side: load that file with our loader and render what each alert would carry.
        var group = Assert.Single(RuleFileLoader.LoadFile(rulesFile));
        Assert.Equal(cases.Count, group.AlertingRules.Count);
        var series = new List<object>();
        var alertTests = new List<object>();
        for (int i = 0; i < cases.Count; i++)
        {
            var rule = group.AlertingRules[i];
            string id = i.ToString(CultureInfo.InvariantCulture);
            var labels = seriesLabels.With("__name__", "parity").With("case", id);
            var alertLabels = labels.Without("__name__").With("alertname", rule.Name);
            foreach (var (name, template) in rule.LabelTemplates) alertLabels = alertLabels.With(name, template.Render(labels, cases[i].Value, rule.Name));
            var annotations = rule.Annotations.ToDictionary(a => a.Key, a => a.Value.Render(labels, cases[i].Value, rule.Name));
            series.Add(new Dictionary<string, string>
            {
                ["series"] = $"parity{{case=\"{id}\",job=\"api\",instance=\"host-1:9090\",num=\"1234567\",ratio=\"0.0456\"}}",
                ["values"] = PromQlNumber(cases[i].Value),
            });
            alertTests.Add(new Dictionary<string, object>
            {
                ["eval_time"] = "0m",
                ["alertname"] = rule.Name,
                ["exp_alerts"] = new[]
                {
                    new Dictionary<string, object> { ["exp_labels"] = alertLabels.ToDictionary(), ["exp_annotations"] = annotations },
                },
            });
        }

        // 3. Prometheus's side: promtool evaluates the same file and compares with our renderings.
        string testFile = Path.Combine(dir.Path, "parity.test.yml");
        File.WriteAllText(testFile, JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["rule_files"] = new[] { "parity.rules.yml" },
            ["evaluation_interval"] = "1m",
            ["tests"] = new[]
            {
                new Dictionary<string, object> { ["interval"] = "1m", ["input_series"] = series, ["alert_rule_test"] = alertTests },
            },
        }, json));

        var (exitCode, output) = PromTool.Run(["test", "rules", testFile]);
        Assert.True(exitCode == 0, $"promtool rendered {cases.Count} cases differently (got = Prometheus, exp = ours):\n{Truncate(output, 20000)}");
        Assert.Contains("SUCCESS", output, StringComparison.Ordinal);
    }

    private static string PromQlNumber(double v) =>
        double.IsNaN(v) ? "NaN" : double.IsPositiveInfinity(v) ? "Inf" : double.IsNegativeInfinity(v) ? "-Inf" : v.ToString("R", CultureInfo.InvariantCulture);

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max] + "\n...";
}
