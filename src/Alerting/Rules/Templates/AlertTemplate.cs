using System.Globalization;
using System.Text;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Alerting.Rules;

/// <summary>
/// An alert annotation or label template: the subset of Go's <c>text/template</c> that Prometheus
/// alerting rules use, rendered exactly as Prometheus 2.42 renders it (<c>rules/alerting.go</c>
/// expands with <c>missingkey=zero</c>, so a missing label prints as the empty string).
/// </summary>
/// <remarks>
/// <para>Supported: text with <c>{{ ... }}</c> actions; trim markers <c>{{- </c> and <c> -}}</c>;
/// comments <c>{{/* ... */}}</c>; the variables <c>$labels</c> (a map: <c>$labels.instance</c>,
/// <c>index $labels "name"</c>), <c>$value</c> (a float64, printed like Go's <c>%v</c>: <c>0.5</c>,
/// <c>1e+06</c>, <c>NaN</c>, <c>+Inf</c>), the data fields <c>.Labels</c>/<c>.Value</c>, and
/// variables declared with <c>$x := ...</c> or assigned with <c>$x = ...</c>; string
/// (<c>"..."</c>, raw <c>`...`</c>), character, number and boolean literals; pipelines
/// <c>x | f</c>, calls <c>f x y</c> and parenthesised pipelines; <c>{{ if }}</c>,
/// <c>{{ else if }}</c>, <c>{{ else }}</c>, <c>{{ end }}</c>.</para>
/// <para>Functions: Prometheus's <c>humanize</c>, <c>humanize1024</c>, <c>humanizeDuration</c>,
/// <c>humanizePercentage</c>, <c>humanizeTimestamp</c>, <c>toUpper</c>, <c>toLower</c>,
/// <c>title</c>, and Go's <c>printf</c> (verbs <c>%v %T %s %q %d %b %o %x %X %c %U %t %e %f %g %%</c>
/// with flags, width, precision, <c>*</c> and <c>%[n]</c> argument indexes), <c>print</c>, <c>index</c>, <c>len</c>, <c>not</c>, <c>and</c>, <c>or</c>,
/// <c>eq ne lt le gt ge</c> (Go semantics: comparing an int literal with the float
/// <c>$value</c> is an error, write <c>5.0</c>).</para>
/// <para>Anything else (<c>query</c>, <c>range</c>, <c>with</c>, <c>template</c>,
/// <c>$externalURL</c>, ...) is refused by <see cref="Parse"/>, naming it. Runtime errors do not
/// throw: <see cref="Render(LabelSet, double, string)"/> returns Prometheus's
/// <c>&lt;error expanding template: ...&gt;</c> text instead.</para>
/// </remarks>
public sealed class AlertTemplate
{
    // Prometheus 2.42 (rules/alerting.go) prepends these definitions to every alert template; the
    // positions in its error messages count them.
    private const string PrometheusDefinitions =
        "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

    private readonly List<TemplateNode> _nodes;
    private readonly string? _constant;

    private AlertTemplate(string text, List<TemplateNode> nodes)
    {
        Text = text;
        _nodes = nodes;
        if (nodes.TrueForAll(n => n is TextNode)) _constant = string.Concat(nodes.Cast<TextNode>().Select(n => n.Text));
    }

    /// <summary>The template source text.</summary>
    public string Text { get; }

    /// <summary>True when the template has no actions (it renders to the same text every time, trim markers and comments applied).</summary>
    public bool IsConstant => _constant is not null;

    /// <summary>Parses and checks a template.</summary>
    /// <param name="text">The template, e.g. <c>{{ $labels.market }} p99 is {{ $value | humanizeDuration }}</c>.</param>
    /// <returns>The parsed template.</returns>
    /// <exception cref="FormatException">
    /// A syntax error, an unknown function or variable, an unsupported construct or a wrong
    /// number of arguments; the message starts with the template's line and column, e.g.
    /// <c>1:4: unknown function "query" (supported: and, eq, ...)</c>.
    /// </exception>
    public static AlertTemplate Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        try
        {
            return new AlertTemplate(text, TemplateParser.Parse(text));
        }
        catch (TemplateSyntaxException e)
        {
            var (line, column) = LineColumn(text, e.Pos);
            throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"{line}:{column}: {e.Message}"), e);
        }
    }

    /// <summary>Renders for one alert instance; never throws.</summary>
    /// <param name="labels">The alert's series labels (<c>$labels</c>).</param>
    /// <param name="value">The expression's value for the series (<c>$value</c>).</param>
    /// <returns>The text; on a runtime error (e.g. <c>humanize</c> of a non-numeric label) Prometheus's <c>&lt;error expanding template: ...&gt;</c> text.</returns>
    public string Render(LabelSet labels, double value) => Render(labels, value, "");

    /// <summary>
    /// Renders for one alert instance of the rule <paramref name="alertName"/>; never throws. On a
    /// runtime error the result is Prometheus's text for it, letter for letter:
    /// <c>&lt;error expanding template: error executing template __alert_NAME: template: __alert_NAME:1:126: executing "__alert_NAME" at &lt;humanize $labels.x&gt;: error calling humanize: strconv.ParseFloat: parsing "abc": invalid syntax&gt;</c>.
    /// </summary>
    /// <param name="labels">The alert's series labels (<c>$labels</c>).</param>
    /// <param name="value">The expression's value (<c>$value</c>).</param>
    /// <param name="alertName">The alerting rule's name (Prometheus names the template <c>__alert_</c> + name).</param>
    /// <returns>The rendered text or the error text.</returns>
    public string Render(LabelSet labels, double value, string alertName)
    {
        if (_constant is not null) return _constant;
        try
        {
            return TemplateEvaluator.Execute(_nodes, new TemplateData(labels ?? LabelSet.Empty, value));
        }
        catch (TemplateExecException e)
        {
            string name = "__alert_" + alertName;
            string before = PrometheusDefinitions + Text[..Math.Min(e.Pos, Text.Length)];
            int lastNewline = before.LastIndexOf('\n');
            int line = 1 + before.Count(c => c == '\n');
            int column = Encoding.UTF8.GetByteCount(lastNewline < 0 ? before : before[(lastNewline + 1)..]);
            // Go 1.19 (which built Prometheus 2.42 here) prints the whole node, not truncated.
            string context = e.Context;
            return string.Create(CultureInfo.InvariantCulture,
                $"<error expanding template: error executing template {name}: template: {name}:{line}:{column}: executing \"{name}\" at <{context}>: {e.Message}>");
        }
#pragma warning disable CA1031 // Rendering must never throw: Prometheus also turns any failure into this text.
        catch (Exception e)
        {
            return $"<error expanding template: {e.Message}>";
        }
#pragma warning restore CA1031
    }

    /// <inheritdoc/>
    public override string ToString() => Text;

    private static (int Line, int Column) LineColumn(string text, int pos)
    {
        pos = Math.Clamp(pos, 0, text.Length);
        int line = 1, lineStart = 0;
        for (int i = 0; i < pos; i++)
        {
            if (text[i] == '\n') { line++; lineStart = i + 1; }
        }
        return (line, pos - lineStart + 1);
    }
}
