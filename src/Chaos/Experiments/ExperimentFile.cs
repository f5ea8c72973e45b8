using System.Globalization;
using ExchangeHealth.Engine;
using ExchangeHealth.Monitor.Prometheus;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ExchangeHealth.Chaos.Experiments;

/// <summary>
/// Reads chaos experiment files (YAML; format and a full example in docs/chaos.md). Every error is
/// a <see cref="ConfigException"/> naming the file, the line and the key path
/// (<c>chaos/crash.yml:14: method[1].pause: 'ten' is not a duration ...</c>). Unknown keys are
/// refused, durations are Prometheus durations (<see cref="PromDuration"/>), providers and their
/// arguments are checked against a <see cref="ChaosActionRegistry"/> and invariant names against
/// an <see cref="InvariantRegistry"/>.
/// </summary>
public static class ExperimentFile
{
    /// <summary>Reads and validates the file at <paramref name="path"/>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="actions">Providers allowed (default: <see cref="ChaosActionRegistry.CreateDefault"/>).</param>
    /// <param name="invariants">Invariants allowed (default: <see cref="InvariantRegistry.CreateDefault"/>).</param>
    /// <exception cref="ConfigException">Unreadable file, bad YAML or an invalid experiment (file:line: key: reason).</exception>
    public static Experiment Load(string path, ChaosActionRegistry? actions = null, InvariantRegistry? invariants = null)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(path, 0, $"cannot read the experiment file: {e.Message}");
        }
        return Parse(text, path, actions, invariants);
    }

    /// <summary>Parses and validates an experiment from YAML text.</summary>
    /// <param name="yaml">The document.</param>
    /// <param name="source">File name for messages and <see cref="Experiment.Source"/>.</param>
    /// <param name="actions">Providers allowed (default: the built-ins).</param>
    /// <param name="invariants">Invariants allowed (default: the built-ins).</param>
    /// <exception cref="ConfigException">Bad YAML or an invalid experiment (file:line: key: reason).</exception>
    public static Experiment Parse(string yaml, string source, ChaosActionRegistry? actions = null, InvariantRegistry? invariants = null)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var stream = new YamlStream();
        try { stream.Load(new StringReader(yaml)); }
        catch (YamlException e) { throw new ConfigException(source, (int)e.Start.Line, $"not valid YAML: {e.Message}"); }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new ConfigException(source, 1, "expected a mapping with title, method, ... (see docs/chaos.md)");
        return new Reader(source, actions ?? ChaosActionRegistry.CreateDefault(), invariants ?? InvariantRegistry.CreateDefault()).Experiment(root);
    }

    private sealed class Reader(string source, ChaosActionRegistry actions, InvariantRegistry invariants)
    {
        private ConfigException Error(YamlNode at, string path, string reason) =>
            new(source, (int)at.Start.Line, path.Length == 0 ? reason : $"{path}: {reason}");

        private Fields Fields(YamlNode node, string path, params string[] known)
        {
            if (node is not YamlMappingNode map) throw Error(node, path, "expected a mapping");
            var fields = new Fields(this, map, path);
            foreach (var (k, v) in map.Children)
            {
                string key = (k as YamlScalarNode)?.Value ?? "";
                if (Array.IndexOf(known, key) < 0)
                    throw Error(k, Join(path, key), $"unknown key '{key}' (known: {string.Join(", ", known)})");
                fields.Add(key, k, v);
            }
            return fields;
        }

        private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

        public Experiment Experiment(YamlMappingNode root)
        {
            var f = Fields(root, "", "title", "description", "tags", "platform", "warm_up", "steady_state_hypothesis", "method", "rollbacks", "expect", "abort_when", "short");
            var platform = f.Get("platform") is { } p ? Platform(p) : new PlatformRequest();
            var warmUp = f.Duration("warm_up") ?? TimeSpan.Zero;
            var steady = f.Get("steady_state_hypothesis") is { } ssh ? SteadyState(ssh) : null;
            var method = Steps(f.Required("method"), "method");
            if (!method.Any(s => !s.IsPause)) throw Error(f.Key("method")!, "method", "needs at least one action");
            var faults = method.Where(s => s.IsFault).ToList();
            if (faults.Count > 1) throw new ConfigException(source, faults[1].Line, $"method: only one action may be 'fault: true' (the first is at line {faults[0].Line})");
            var rollbacks = f.Get("rollbacks") is { } rb ? Steps(rb, "rollbacks") : [];
            var rollbackFault = rollbacks.FirstOrDefault(s => s.IsFault);
            if (rollbackFault is not null) throw new ConfigException(source, rollbackFault.Line, "rollbacks: 'fault: true' belongs in the method");
            var expect = f.Get("expect") is { } ex ? Expectations(ex) : new ExperimentExpectations();
            if (expect.RecoveryWithin is not null && steady is null)
            {
                var at = ((YamlMappingNode)f.Get("expect")!).Children.First(c => (c.Key as YamlScalarNode)?.Value == "recovery_within").Key;
                throw Error(at, "expect.recovery_within", "needs a steady_state_hypothesis (recovery = the hypothesis holds again)");
            }
            var experiment = new Experiment
            {
                Source = source,
                Title = f.Text("title", required: true)!,
                Description = f.Text("description") ?? "",
                Tags = f.Get("tags") is { } t ? Strings(t, "tags") : [],
                Platform = platform,
                WarmUp = warmUp,
                SteadyState = steady,
                Method = method,
                Rollbacks = rollbacks,
                Expect = expect,
                AbortWhen = f.Get("abort_when") is { } aw ? AbortWhen(aw) : [],
            };
            if (f.Get("short") is { } s) experiment = experiment with { Short = Short(s, experiment) };
            if (experiment.Title.Trim().Length == 0) throw Error(f.Required("title"), "title", "must not be empty");
            return experiment;
        }

        private PlatformRequest Platform(YamlNode node)
        {
            var f = Fields(node, "platform", "monitor_nodes", "order_rate", "slack", "engine_journal_tmpfs", "engine_args");
            var request = new PlatformRequest();
            if (f.Integer("monitor_nodes") is { } nodes)
            {
                if (nodes is not (1 or 2)) throw Error(f.Required("monitor_nodes"), "platform.monitor_nodes", $"'{nodes}' must be 1 or 2");
                request = request with { MonitorNodes = (int)nodes };
            }
            if (f.Number("order_rate") is { } rate)
            {
                if (rate < 0) throw Error(f.Required("order_rate"), "platform.order_rate", "must be 0 or more orders per second");
                request = request with { OrderRate = rate };
            }
            if (f.Flag("slack") is { } slack) request = request with { Slack = slack };
            if (f.Get("engine_journal_tmpfs") is { } size) request = request with { EngineJournalTmpfsBytes = Size(size, "platform.engine_journal_tmpfs") };
            if (f.Get("engine_args") is { } args) request = request with { EngineArgs = Strings(args, "platform.engine_args") };
            return request;
        }

        private long Size(YamlNode node, string path)
        {
            string text = Scalar(node, path);
            int i = 0;
            while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
            long unit = text[i..] switch
            {
                "" or "B" => 1, "K" or "KB" => 1000, "Ki" or "KiB" => 1024, "M" or "MB" => 1000_000, "Mi" or "MiB" => 1024 * 1024,
                "G" or "GB" => 1000_000_000, "Gi" or "GiB" => 1024L * 1024 * 1024, _ => 0,
            };
            if (i == 0 || unit == 0 || !long.TryParse(text[..i], NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n <= 0)
                throw Error(node, path, $"'{text}' is not a size such as 64MiB, 512M or 1GiB");
            return checked(n * unit);
        }

        private SteadyStateHypothesis SteadyState(YamlNode node)
        {
            var f = Fields(node, "steady_state_hypothesis", "title", "within", "probes");
            var probesNode = f.Required("probes");
            if (probesNode is not YamlSequenceNode seq || seq.Children.Count == 0)
                throw Error(probesNode, "steady_state_hypothesis.probes", "expected a non-empty list of probes");
            var probes = new List<Probe>();
            var names = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < seq.Children.Count; i++)
            {
                var probe = Probe(seq.Children[i], $"steady_state_hypothesis.probes[{i}]");
                if (names.TryGetValue(probe.Name, out int other))
                    throw Error(seq.Children[i], $"steady_state_hypothesis.probes[{i}].name", $"'{probe.Name}' is already used by the probe at line {other}");
                names[probe.Name] = probe.Line;
                probes.Add(probe);
            }
            return new SteadyStateHypothesis(f.Text("title") ?? "", f.Duration("within") ?? TimeSpan.Zero, probes);
        }

        private Probe Probe(YamlNode node, string path)
        {
            if (node is not YamlMappingNode map) throw Error(node, path, "expected a mapping");
            string typeText = map.Children.TryGetValue(new YamlScalarNode("type"), out var typeNode) ? Scalar(typeNode, path + ".type") : "";
            var type = typeText switch
            {
                "promql" => ProbeType.Promql,
                "http" => ProbeType.Http,
                "alert" => ProbeType.Alert,
                "" => throw Error(node, path, "missing required key 'type' (promql, http or alert)"),
                _ => throw Error(typeNode!, path + ".type", $"'{typeText}' is not one of promql, http, alert"),
            };
            var f = type switch
            {
                ProbeType.Promql => Fields(node, path, "name", "type", "query", "tolerance", "timeout"),
                ProbeType.Http => Fields(node, path, "name", "type", "url", "method", "status", "auth", "json", "timeout"),
                _ => Fields(node, path, "name", "type", "alertname", "labels", "state", "timeout"),
            };
            var probe = new Probe { Name = f.Text("name", required: true)!, Type = type, Line = (int)node.Start.Line, Timeout = f.Duration("timeout") ?? TimeSpan.FromSeconds(5) };
            switch (type)
            {
                case ProbeType.Promql:
                    return probe with { Query = f.Text("query", required: true)!, Tolerance = Tolerance(f.Required("tolerance"), path + ".tolerance") };
                case ProbeType.Http:
                {
                    string url = f.Text("url", required: true)!;
                    CheckTemplates(f.Required("url"), path + ".url", url);
                    string method = (f.Text("method") ?? "GET").ToUpperInvariant();
                    if (method is not ("GET" or "POST" or "PUT" or "DELETE" or "HEAD")) throw Error(f.Required("method"), path + ".method", $"'{method}' is not GET, POST, PUT, DELETE or HEAD");
                    long status = f.Integer("status") ?? 200;
                    if (status is < 100 or > 599) throw Error(f.Required("status"), path + ".status", $"'{status}' is not an HTTP status");
                    string auth = f.Text("auth") ?? "none";
                    if (auth is not ("none" or "monitor" or "engine_admin")) throw Error(f.Required("auth"), path + ".auth", $"'{auth}' is not one of none, monitor, engine_admin");
                    probe = probe with { Url = url, Method = method, Status = (int)status, Auth = auth };
                    if (f.Get("json") is { } json)
                    {
                        var jf = Fields(json, path + ".json", "field", "equals");
                        probe = probe with { JsonField = jf.Text("field", required: true), JsonEquals = jf.Text("equals", required: true) };
                    }
                    return probe;
                }
                default:
                {
                    string state = f.Text("state") ?? "inactive";
                    if (state is not ("inactive" or "pending" or "firing")) throw Error(f.Required("state"), path + ".state", $"'{state}' is not one of inactive, pending, firing");
                    return probe with { AlertName = f.Text("alertname", required: true)!, Labels = f.Get("labels") is { } l ? StringMap(l, path + ".labels") : new Dictionary<string, string>(), State = state };
                }
            }
        }

        private Tolerance Tolerance(YamlNode node, string path)
        {
            if (node is YamlScalarNode)
            {
                double v = Number(node, path);
                return new Tolerance(v, v);
            }
            if (node is YamlSequenceNode seq && seq.Children.Count == 2)
            {
                double min = Number(seq.Children[0], path + "[0]"), max = Number(seq.Children[1], path + "[1]");
                if (min > max) throw Error(node, path, $"[{min}, {max}]: min is above max");
                return new Tolerance(min, max);
            }
            throw Error(node, path, "expected a number or a range [min, max]");
        }

        private List<ExperimentStep> Steps(YamlNode node, string path)
        {
            if (node is not YamlSequenceNode seq) throw Error(node, path, "expected a list of actions and pauses");
            var steps = new List<ExperimentStep>();
            for (int i = 0; i < seq.Children.Count; i++) steps.Add(Step(seq.Children[i], $"{path}[{i}]"));
            return steps;
        }

        private ExperimentStep Step(YamlNode node, string path)
        {
            if (node is not YamlMappingNode map) throw Error(node, path, "expected a mapping (action: ... or pause: ...)");
            int line = (int)node.Start.Line;
            if (map.Children.ContainsKey(new YamlScalarNode("pause")))
            {
                var pf = Fields(node, path, "pause", "name");
                return new ExperimentStep { Name = pf.Text("name"), Line = line, Pause = pf.Duration("pause") };
            }
            if (!map.Children.ContainsKey(new YamlScalarNode("action")))
                throw Error(node, path, "expected 'action: NAME' (with provider and arguments) or 'pause: DURATION'");
            var f = Fields(node, path, "action", "provider", "arguments", "fault", "timeout");
            string name = f.Text("action", required: true)!;
            string type = f.Text("provider", required: true)!;
            var provider = actions.Find(type)
                ?? throw Error(f.Required("provider"), path + ".provider", $"unknown provider '{type}' (known: {string.Join(", ", actions.Providers.Keys.Order(StringComparer.Ordinal))})");
            var arguments = f.Get("arguments") is { } a ? Arguments(a, path + ".arguments") : new Dictionary<string, ArgumentValue>();
            CheckArguments(provider, arguments, f.Key("arguments") ?? node, path + ".arguments", requireAll: true);
            var timeout = f.Duration("timeout") ?? TimeSpan.FromSeconds(60);
            if (timeout <= TimeSpan.Zero) throw Error(f.Required("timeout"), path + ".timeout", "must be positive");
            return new ExperimentStep { Name = name, Line = line, Provider = type, Arguments = arguments, IsFault = f.Flag("fault") ?? false, Timeout = timeout };
        }

        private void CheckArguments(ChaosActionProvider provider, IReadOnlyDictionary<string, ArgumentValue> arguments, YamlNode at, string path, bool requireAll)
        {
            foreach (var (k, v) in arguments)
            {
                if (!provider.Required.Contains(k) && !provider.Optional.Contains(k))
                    throw new ConfigException(source, v.Line, $"{path}.{k}: unknown argument of {provider.Type} (known: {string.Join(", ", provider.Required.Concat(provider.Optional))})");
            }
            if (!requireAll) return;
            foreach (string r in provider.Required)
            {
                if (!arguments.ContainsKey(r)) throw Error(at, path, $"{provider.Type} needs argument '{r}'");
            }
        }

        private Dictionary<string, ArgumentValue> Arguments(YamlNode node, string path)
        {
            if (node is not YamlMappingNode map) throw Error(node, path, "expected a mapping");
            var result = new Dictionary<string, ArgumentValue>(StringComparer.Ordinal);
            foreach (var (k, v) in map.Children)
            {
                string key = Scalar(k, path);
                string p = Join(path, key);
                int line = (int)k.Start.Line;
                result[key] = v switch
                {
                    YamlScalarNode s => new ArgumentValue(line, CheckTemplates(s, p, s.Value ?? "")),
                    YamlMappingNode => new ArgumentValue(line, null, Map: StringMap(v, p).ToDictionary(x => x.Key, x => CheckTemplates(v, p, x.Value), StringComparer.Ordinal)),
                    YamlSequenceNode => new ArgumentValue(line, null, List: [.. Strings(v, p).Select(x => CheckTemplates(v, p, x))]),
                    _ => throw Error(v, p, "expected a value, a mapping or a list"),
                };
            }
            return result;
        }

        private string CheckTemplates(YamlNode node, string path, string text)
        {
            foreach (System.Text.RegularExpressions.Match m in ChaosContext.TemplatePattern().Matches(text))
            {
                if (!ChaosContext.TemplateNames.Contains(m.Groups[1].Value))
                    throw Error(node, path, $"unknown template '{m.Value}' (known: {string.Join(", ", ChaosContext.TemplateNames.Select(t => "{" + t + "}"))})");
            }
            return text;
        }

        private ExperimentExpectations Expectations(YamlNode node)
        {
            var f = Fields(node, "expect", "alerts", "incident", "slack", "recovery_within", "invariants");
            var result = new ExperimentExpectations { RecoveryWithin = f.Duration("recovery_within") };
            if (f.Get("alerts") is { } alerts)
            {
                var list = new List<AlertExpectation>();
                foreach (var (item, p) in Items(alerts, "expect.alerts"))
                {
                    var af = Fields(item, p, "alertname", "labels", "state", "within");
                    string state = af.Text("state") ?? "firing";
                    if (state is not ("pending" or "firing")) throw Error(af.Required("state"), p + ".state", $"'{state}' is not pending or firing");
                    list.Add(new AlertExpectation(af.Text("alertname", required: true)!,
                        af.Get("labels") is { } l ? StringMap(l, p + ".labels") : new Dictionary<string, string>(), state, Budget(af, p), (int)item.Start.Line));
                }
                result = result with { Alerts = list };
            }
            if (f.Get("incident") is { } incident)
            {
                var inf = Fields(incident, "expect.incident", "within", "severity", "alertname");
                string? sev = inf.Text("severity")?.ToUpperInvariant();
                if (sev is not (null or "SEV1" or "SEV2" or "SEV3" or "SEV4")) throw Error(inf.Required("severity"), "expect.incident.severity", $"'{sev}' is not SEV1..SEV4");
                result = result with { Incident = new IncidentExpectation(Budget(inf, "expect.incident"), sev, (int)incident.Start.Line) { AlertName = inf.Text("alertname") } };
            }
            if (f.Get("slack") is { } slack)
            {
                var list = new List<SlackExpectation>();
                foreach (var (item, p) in Items(slack, "expect.slack"))
                {
                    var sf = Fields(item, p, "alertname", "within");
                    list.Add(new SlackExpectation(sf.Text("alertname", required: true)!, Budget(sf, p), (int)item.Start.Line));
                }
                result = result with { Slack = list };
            }
            if (f.Get("invariants") is { } inv)
            {
                var list = new List<InvariantReference>();
                foreach (var (item, p) in Items(inv, "expect.invariants"))
                {
                    InvariantReference reference;
                    if (item is YamlScalarNode s) reference = new InvariantReference(s.Value ?? "", new Dictionary<string, ArgumentValue>(), (int)item.Start.Line);
                    else
                    {
                        var vf = Fields(item, p, "name", "arguments");
                        reference = new InvariantReference(vf.Text("name", required: true)!,
                            vf.Get("arguments") is { } a ? Arguments(a, p + ".arguments") : new Dictionary<string, ArgumentValue>(), (int)item.Start.Line);
                    }
                    if (invariants.Find(reference.Name) is not { } registered)
                        throw Error(item, p, $"unknown invariant '{reference.Name}' (known: {string.Join(", ", invariants.Invariants.Keys.Order(StringComparer.Ordinal))})");
                    foreach (var (k, v) in reference.Arguments)
                    {
                        if (!registered.Arguments.Contains(k))
                            throw new ConfigException(source, v.Line, $"{p}.arguments.{k}: unknown argument of {reference.Name} (known: {string.Join(", ", registered.Arguments)})");
                    }
                    list.Add(reference);
                }
                result = result with { Invariants = list };
            }
            return result;
        }

        private TimeSpan Budget(Fields f, string path)
        {
            var within = f.Duration("within") ?? throw Error(f.Node, path, "missing required key 'within' (the budget after the fault, e.g. 30s)");
            if (within <= TimeSpan.Zero) throw Error(f.Required("within"), path + ".within", "must be positive");
            return within;
        }

        private List<AbortCondition> AbortWhen(YamlNode node)
        {
            var list = new List<AbortCondition>();
            foreach (var (item, p) in Items(node, "abort_when"))
            {
                var f = Fields(item, p, "query", "above", "below");
                double? above = f.Number("above"), below = f.Number("below");
                if (above is null && below is null) throw Error(item, p, "give 'above' or 'below' (the limit that aborts the run)");
                list.Add(new AbortCondition(f.Text("query", required: true)!, above, below, (int)item.Start.Line));
            }
            return list;
        }

        private ShortOverrides Short(YamlNode node, Experiment experiment)
        {
            var f = Fields(node, "short", "warm_up", "steady_state_within", "recovery_within", "pauses", "arguments");
            var result = new ShortOverrides { WarmUp = f.Duration("warm_up"), SteadyStateWithin = f.Duration("steady_state_within"), RecoveryWithin = f.Duration("recovery_within") };
            if (result.SteadyStateWithin is not null && experiment.SteadyState is null)
                throw Error(f.Required("steady_state_within"), "short.steady_state_within", "the experiment has no steady_state_hypothesis");
            if (result.RecoveryWithin is not null && experiment.Expect.RecoveryWithin is null)
                throw Error(f.Required("recovery_within"), "short.recovery_within", "the experiment has no expect.recovery_within");
            var steps = experiment.Method.Concat(experiment.Rollbacks).ToList();
            if (f.Get("pauses") is { } pauses)
            {
                if (pauses is not YamlMappingNode pm) throw Error(pauses, "short.pauses", "expected a mapping of pause name to duration");
                var map = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
                foreach (var (k, v) in pm.Children)
                {
                    string name = Scalar(k, "short.pauses");
                    if (!steps.Exists(s => s.IsPause && s.Name == name))
                        throw Error(k, "short.pauses." + name, $"no pause named '{name}' in method or rollbacks (give the pause a 'name:')");
                    map[name] = DurationOf(v, "short.pauses." + name);
                }
                result = result with { Pauses = map };
            }
            if (f.Get("arguments") is { } args)
            {
                if (args is not YamlMappingNode am) throw Error(args, "short.arguments", "expected a mapping of action name to arguments");
                var map = new Dictionary<string, IReadOnlyDictionary<string, ArgumentValue>>(StringComparer.Ordinal);
                foreach (var (k, v) in am.Children)
                {
                    string name = Scalar(k, "short.arguments");
                    string p = "short.arguments." + name;
                    var targets = steps.Where(s => !s.IsPause && s.Name == name).ToList();
                    if (targets.Count == 0) throw Error(k, p, $"no action named '{name}' in method or rollbacks");
                    var overrides = Arguments(v, p);
                    foreach (var target in targets) CheckArguments(actions.Find(target.Provider)!, overrides, v, p, requireAll: false);
                    map[name] = overrides;
                }
                result = result with { Arguments = map };
            }
            return result;
        }

        private IEnumerable<(YamlNode Item, string Path)> Items(YamlNode node, string path)
        {
            if (node is not YamlSequenceNode seq) throw Error(node, path, "expected a list");
            return seq.Children.Select((c, i) => (c, $"{path}[{i}]"));
        }

        internal string Scalar(YamlNode node, string path) =>
            node is YamlScalarNode s ? s.Value ?? "" : throw Error(node, path, "expected a single value");

        internal double Number(YamlNode node, string path)
        {
            string text = Scalar(node, path);
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v)
                ? v : throw Error(node, path, $"'{text}' is not a number");
        }

        internal TimeSpan DurationOf(YamlNode node, string path)
        {
            string text = Scalar(node, path);
            return PromDuration.TryParse(text, out var d, out string why) ? d : throw Error(node, path, why);
        }

        internal long IntegerOf(YamlNode node, string path)
        {
            string text = Scalar(node, path);
            return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v) ? v : throw Error(node, path, $"'{text}' is not an integer");
        }

        internal bool FlagOf(YamlNode node, string path) => Scalar(node, path) switch
        {
            "true" => true,
            "false" => false,
            var t => throw Error(node, path, $"'{t}' is not true or false"),
        };

        internal IReadOnlyList<string> Strings(YamlNode node, string path)
        {
            if (node is YamlScalarNode s) return [s.Value ?? ""];
            if (node is not YamlSequenceNode seq) throw Error(node, path, "expected a list of values");
            return [.. seq.Children.Select((c, i) => Scalar(c, $"{path}[{i}]"))];
        }

        internal Dictionary<string, string> StringMap(YamlNode node, string path)
        {
            if (node is not YamlMappingNode map) throw Error(node, path, "expected a mapping of names to values");
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (k, v) in map.Children) result[Scalar(k, path)] = Scalar(v, Join(path, Scalar(k, path)));
            return result;
        }

        internal ConfigException MissingKey(YamlNode at, string path, string key) => Error(at, path, $"missing required key '{key}'");
    }

    private sealed class Fields(Reader reader, YamlMappingNode node, string path)
    {
        private readonly Dictionary<string, (YamlNode Key, YamlNode Value)> _fields = new(StringComparer.Ordinal);

        public YamlMappingNode Node => node;

        public void Add(string key, YamlNode k, YamlNode v) => _fields[key] = (k, v);

        public YamlNode? Get(string key) => _fields.TryGetValue(key, out var f) ? f.Value : null;

        public YamlNode? Key(string key) => _fields.TryGetValue(key, out var f) ? f.Key : null;

        public YamlNode Required(string key) => Get(key) ?? throw reader.MissingKey(node, path, key);

        private string P(string key) => path.Length == 0 ? key : $"{path}.{key}";

        public string? Text(string key, bool required = false)
        {
            var v = required ? Required(key) : Get(key);
            return v is null ? null : reader.Scalar(v, P(key));
        }

        public TimeSpan? Duration(string key) => Get(key) is { } v ? reader.DurationOf(v, P(key)) : null;

        public double? Number(string key) => Get(key) is { } v ? reader.Number(v, P(key)) : null;

        public long? Integer(string key) => Get(key) is { } v ? reader.IntegerOf(v, P(key)) : null;

        public bool? Flag(string key) => Get(key) is { } v ? reader.FlagOf(v, P(key)) : null;
    }
}
