using ExchangeHealth.Alerting.Rules;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Alerting.Tests.Rules;

public sealed class AlertTemplateTests
{
    private static readonly LabelSet Labels = LabelSet.Of("instance", "engine-1:9100", "market", "BTC-USD", "job", "exh-engine");

    private static string Render(string template, double value = 1, LabelSet? labels = null) =>
        AlertTemplate.Parse(template).Render(labels ?? Labels, value);

    [Theory]
    [InlineData(0.5, "0.5")]
    [InlineData(1, "1")]
    [InlineData(100000, "100000")]
    [InlineData(1e6, "1e+06")]
    [InlineData(12345678, "1.2345678e+07")]
    [InlineData(1e-7, "1e-07")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(0.00001, "1e-05")]
    [InlineData(-2.5, "-2.5")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    public void Value_PrintsLikeGoPercentV(double value, string expected)
    {
        Assert.Equal(expected, Render("{{ $value }}", value));
    }

    [Theory]
    [InlineData("{{ $value | humanize }}", 1234567, "1.235M")]
    [InlineData("{{ humanize $value }}", 0.00123, "1.23m")]
    [InlineData("{{ humanize1024 $value }}", 1048576, "1Mi")]
    [InlineData("{{ humanizeDuration $value }}", 90061, "1d 1h 1m 1s")]
    [InlineData("{{ humanizeDuration $value }}", 0.0125, "12.5ms")]
    [InlineData("{{ humanizePercentage $value }}", 0.04567, "4.567%")]
    [InlineData("{{ humanizeTimestamp $value }}", 1700000000.5, "2023-11-14 22:13:20.5 +0000 UTC")]
    [InlineData("{{ printf \"%.2f\" $value }}", 0.125, "0.12")] // Go rounds the exact binary value half to even
    [InlineData("{{ printf \"%.0f\" $value }}", 2.5, "2")]
    [InlineData("{{ printf \"%5.1f|%-6d|%q\" $value 42 \"x\" }}", 3.14159, "  3.1|42    |\"x\"")]
    [InlineData("{{ printf \"%d\" $value }}", 3, "%!d(float64=3)")]
    [InlineData("{{ printf \"%s %s\" \"a\" }}", 0, "a %!s(MISSING)")]
    [InlineData("{{ if gt $value 100.0 }}high{{ else if gt $value 1.0 }}mid{{ else }}low{{ end }}", 50, "mid")]
    [InlineData("{{ if gt $value 100.0 }}high{{ else if gt $value 1.0 }}mid{{ else }}low{{ end }}", 500, "high")]
    [InlineData("{{ if gt $value 100.0 }}high{{ else if gt $value 1.0 }}mid{{ else }}low{{ end }}", 0, "low")]
    public void Functions_FormatAsPrometheus(string template, double value, string expected)
    {
        Assert.Equal(expected, Render(template, value));
    }

    [Fact]
    public void Labels_ByFieldIndexAndData_MissingIsEmpty()
    {
        Assert.Equal("BTC-USD on engine-1:9100", Render("{{ $labels.market }} on {{ index $labels \"instance\" }}"));
        Assert.Equal("[][][]", Render("[{{ $labels.nope }}][{{ index $labels \"nope\" }}][{{ .Labels.nope }}]"));
        Assert.Equal("exh-engine 7", Render("{{ .Labels.job }} {{ .Value }}", 7));
        Assert.Equal("map[instance:engine-1:9100 job:exh-engine market:BTC-USD]", Render("{{ $labels }}"));
    }

    [Fact]
    public void TrimMarkersAndComments_RemoveWhitespace()
    {
        Assert.Equal("a=1;b", Render("a =  \n {{- $value -}} \n ;b", 1).Replace(" ", "", StringComparison.Ordinal));
        Assert.Equal("x1y", Render("x  {{- $value -}}  y"));
        Assert.Equal("ab", Render("a{{/* note */}}b"));
        Assert.Equal("ab", Render("a \n{{- /* note */ -}}\n b"));
        Assert.True(AlertTemplate.Parse("plain {{- /* c */}} text").IsConstant);
    }

    [Fact]
    public void Variables_DeclareAndAssign()
    {
        Assert.Equal("2 3", Render("{{ $x := 2 }}{{ $x }} {{ $x = 3 }}{{ $x }}"));
        Assert.Equal("in", Render("{{ if $y := $labels.market }}in{{ end }}"));
    }

    [Theory]
    [InlineData("{{ query \"up\" }}", "1:4: unknown function \"query\" (supported: and, eq, ge, gt, humanize, humanize1024, humanizeDuration, humanizePercentage, humanizeTimestamp, index, le, len, lt, ne, not, or, print, printf, title, toLower, toUpper)")]
    [InlineData("{{ $value | reReplaceAll \"a\" \"b\" }}", "unknown function \"reReplaceAll\"")]
    [InlineData("{{ range $labels }}x{{ end }}", "1:4: unsupported action \"range\" (supported: if, else, else if, end)")]
    [InlineData("{{ with $value }}x{{ end }}", "unsupported action \"with\"")]
    [InlineData("{{ template \"x\" }}", "unsupported action \"template\"")]
    [InlineData("{{ $externalURL }}", "undefined variable \"$externalURL\" ($externalURL is not supported here")]
    [InlineData("{{ .ExternalURL }}", "field .ExternalURL is not supported here")]
    [InlineData("{{ .Foo }}", "unknown field .Foo of the template data (supported: .Labels, .Value)")]
    [InlineData("{{ $x }}", "undefined variable \"$x\"")]
    [InlineData("{{ . }}", "\".\" (the whole template data) is not supported")]
    [InlineData("text {{ $value ", "1:6: unclosed action")]
    [InlineData("{{ $value }} {{ end }}", "1:17: unexpected {{end}}")]
    [InlineData("{{ if true }}x", "missing {{end}}")]
    [InlineData("{{ if true }}a{{ else }}b{{ else }}c{{ end }}", "expected end; found {{else}}")]
    [InlineData("{{ }}", "missing value for command")]
    [InlineData("{{ humanize 1 2 }}", "wrong number of args for humanize: want 1 got 2")]
    [InlineData("{{ $value | humanize 1 }}", "wrong number of args for humanize: want 1 got 2")]
    [InlineData("{{ printf }}", "wrong number of args for printf: want at least 1 got 0")]
    [InlineData("{{ $value 1 }}", "can't give argument to non-function $value")]
    [InlineData("{{ $value | \"x\" }}", "non executable command in pipeline stage 2")]
    [InlineData("{{ \"unterminated }}", "unterminated quoted string")]
    [InlineData("{{ 1x }}", "bad number syntax")]
    [InlineData("line1\n{{ nope }}", "2:4: unknown function \"nope\"")]
    public void Parse_RefusesUnsupportedOrInvalid_NamingIt(string template, string expected)
    {
        var e = Assert.Throws<FormatException>(() => AlertTemplate.Parse(template));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_RuntimeErrors_ReturnPrometheusErrorTextInsteadOfThrowing()
    {
        var template = AlertTemplate.Parse("{{ humanize $labels.market }}");
        Assert.Equal(
            "<error expanding template: error executing template __alert_HighLatency: template: __alert_HighLatency:1:115: executing \"__alert_HighLatency\" at <humanize $labels.market>: error calling humanize: strconv.ParseFloat: parsing \"BTC-USD\": invalid syntax>",
            template.Render(Labels, 1, "HighLatency"));
        Assert.StartsWith("<error expanding template: ", AlertTemplate.Parse("{{ gt $value 5 }}").Render(Labels, 1), StringComparison.Ordinal);
        Assert.Contains("incompatible types for comparison", AlertTemplate.Parse("{{ gt $value 5 }}").Render(Labels, 1), StringComparison.Ordinal);
        Assert.Equal("true", AlertTemplate.Parse("{{ gt $value 5.0 }}").Render(Labels, 6));
    }

    [Theory]
    [InlineData(1234.5678, 'f', 2, "1234.57")]
    [InlineData(0.125, 'f', 2, "0.12")]
    [InlineData(0.375, 'f', 2, "0.38")]
    [InlineData(2.5, 'f', 0, "2")]
    [InlineData(3.5, 'f', 0, "4")]
    [InlineData(0.06, 'f', 1, "0.1")]
    [InlineData(999.96, 'f', 1, "1000.0")]
    [InlineData(100000, 'g', 4, "1e+05")]
    [InlineData(12, 'g', 4, "12")]
    [InlineData(1234.5678, 'g', 4, "1235")]
    [InlineData(0.000012345, 'g', 3, "1.23e-05")]
    [InlineData(1.25, 'e', 1, "1.2e+00")]
    [InlineData(0, 'e', 2, "0.00e+00")]
    [InlineData(5e-324, 'g', -1, "5e-324")]
    [InlineData(1.7976931348623157e308, 'g', -1, "1.7976931348623157e+308")]
    [InlineData(123456789, 'f', -1, "123456789")]
    public void GoFloat_MatchesStrconvFormatFloat(double value, char fmt, int prec, string expected)
    {
        Assert.Equal(expected, GoFloat.Format(value, fmt, prec));
    }
}

public sealed class AlertTemplateFuzzTests
{
    private static readonly string[] Fragments =
    [
        "{{", "}}", "{{-", "-}}", " ", "\n", "text", "$labels", "$value", "$x", ":=", "=", "|", "(", ")", ".Labels", ".Value",
        ".job", "\"str\"", "\"%d %s %.2f %[2]v %*d\"", "`raw`", "'c'", "1", "-2", "3.5", "1e3", "0x1F", "true", "nil", ".",
        "humanize", "printf", "index", "eq", "gt", "and", "or", "not", "len", "if", "else", "end", "range", "/*", "*/",
        "toUpper", "humanizeTimestamp", "humanizeDuration", "print", "\\", "\"", "{", "}",
    ];

    [Fact]
    public void RandomTemplates_ParseOnlyThrowsFormatException_RenderNeverThrows()
    {
        var random = new Random(20261121);
        var labels = LabelSet.Of("job", "api", "instance", "x:1");
        int parsed = 0;
        for (int n = 0; n < 20_000; n++)
        {
            int count = random.Next(1, 12);
            string text = string.Concat(Enumerable.Range(0, count).Select(_ => Fragments[random.Next(Fragments.Length)] + (random.Next(3) == 0 ? " " : "")));
            AlertTemplate template;
            try
            {
                template = AlertTemplate.Parse(text);
            }
            catch (FormatException)
            {
                continue;
            }
            parsed++;
            foreach (double value in (double[])[0, -1.5, double.NaN, 1e300])
            {
                string rendered = template.Render(labels, value, "Fuzz");
                // Runtime errors must be Go's (template: ... executing ...), never an internal exception caught as a last resort.
                bool internalFailure = rendered.StartsWith("<error expanding template: ", StringComparison.Ordinal)
                    && !rendered.StartsWith("<error expanding template: error executing template __alert_Fuzz: template: __alert_Fuzz:", StringComparison.Ordinal);
                Assert.False(internalFailure, $"template {text}: {rendered}");
            }
        }
        Assert.True(parsed > 500, $"only {parsed} random templates parsed; the fuzz exercises too little rendering");
    }
}
