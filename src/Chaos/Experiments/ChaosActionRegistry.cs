using System.Globalization;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Chaos.Experiments;

/// <summary>Runs one action of an experiment (a fault, a restart, a heal...).</summary>
/// <param name="context">The run: platform, Slack stand-in, clients, clock, shared state.</param>
/// <param name="arguments">The step's arguments (templates expanded on read).</param>
/// <param name="cancellationToken">Cancelled on abort, Ctrl-C or the step's timeout.</param>
/// <returns>What happened (a failed outcome stops the method).</returns>
public delegate Task<ActionOutcome> ChaosActionHandler(ChaosContext context, ActionArguments arguments, CancellationToken cancellationToken);

/// <summary>The result of an action.</summary>
/// <param name="Succeeded">False stops the method (rollbacks still run).</param>
/// <param name="Message">One line for the log and report, e.g. <c>SIGKILL sent to engine (pid 4242)</c>.</param>
public sealed record ActionOutcome(bool Succeeded, string Message)
{
    /// <summary>A success.</summary>
    public static ActionOutcome Ok(string message) => new(true, message);

    /// <summary>A failure.</summary>
    public static ActionOutcome Failed(string message) => new(false, message);
}

/// <summary>A provider registered in a <see cref="ChaosActionRegistry"/>.</summary>
/// <param name="Type">Provider type as written in files, e.g. <c>process.signal</c>.</param>
/// <param name="Handler">The handler.</param>
/// <param name="Required">Argument names that must be given.</param>
/// <param name="Optional">Argument names that may be given.</param>
/// <param name="Description">One line for <c>exh chaos list</c> and docs.</param>
public sealed record ChaosActionProvider(string Type, ChaosActionHandler Handler, IReadOnlySet<string> Required, IReadOnlySet<string> Optional, string Description);

/// <summary>
/// Provider type → action handler. <see cref="CreateDefault"/> has the built-ins
/// (<see cref="BuiltInActions"/>); other fault providers are added with <see cref="Register"/>.
/// Files are validated against the registry: an unknown provider, an unknown argument or a
/// missing required one is a <c>file:line</c> error.
/// </summary>
public sealed class ChaosActionRegistry
{
    private readonly Dictionary<string, ChaosActionProvider> _providers = new(StringComparer.Ordinal);

    /// <summary>A registry with the built-in providers.</summary>
    public static ChaosActionRegistry CreateDefault()
    {
        var registry = new ChaosActionRegistry();
        BuiltInActions.RegisterAll(registry);
        return registry;
    }

    /// <summary>Registered providers by type.</summary>
    public IReadOnlyDictionary<string, ChaosActionProvider> Providers => _providers;

    /// <summary>Adds (or replaces) a provider.</summary>
    /// <param name="type">Provider type, e.g. <c>network.toxic</c> (non-empty, no spaces).</param>
    /// <param name="handler">The handler.</param>
    /// <param name="required">Required argument names.</param>
    /// <param name="optional">Optional argument names.</param>
    /// <param name="description">One line of documentation.</param>
    /// <exception cref="ArgumentException">Empty type or one with whitespace.</exception>
    public void Register(string type, ChaosActionHandler handler, IEnumerable<string>? required = null, IEnumerable<string>? optional = null, string description = "")
    {
        ArgumentException.ThrowIfNullOrEmpty(type);
        ArgumentNullException.ThrowIfNull(handler);
        if (type.Any(char.IsWhiteSpace)) throw new ArgumentException($"provider type '{type}' has whitespace", nameof(type));
        _providers[type] = new ChaosActionProvider(type, handler,
            new HashSet<string>(required ?? [], StringComparer.Ordinal), new HashSet<string>(optional ?? [], StringComparer.Ordinal), description);
    }

    /// <summary>The provider of <paramref name="type"/>, or null.</summary>
    public ChaosActionProvider? Find(string type) => _providers.GetValueOrDefault(type);
}

/// <summary>Thrown by <see cref="ActionArguments"/> for a missing or malformed argument; the message names file, line and argument.</summary>
public sealed class ChaosArgumentException(string message) : Exception(message);

/// <summary>
/// An action's (or invariant's) arguments with typed getters. Scalars are template-expanded
/// (<c>{engine_http}</c>, <c>{monitor}</c>...: <see cref="ChaosContext.Expand"/>) when read.
/// </summary>
public sealed class ActionArguments
{
    private readonly IReadOnlyDictionary<string, ArgumentValue> _values;
    private readonly Func<string, string> _expand;
    private readonly string _where;

    /// <summary>Wraps <paramref name="values"/>.</summary>
    /// <param name="values">The raw arguments.</param>
    /// <param name="expand">Template expansion applied to every scalar read (identity when null).</param>
    /// <param name="where">Prefix of error messages, e.g. <c>chaos/crash.yml</c> (the line is added per argument).</param>
    public ActionArguments(IReadOnlyDictionary<string, ArgumentValue> values, Func<string, string>? expand = null, string where = "")
    {
        _values = values ?? throw new ArgumentNullException(nameof(values));
        _expand = expand ?? (s => s);
        _where = where;
    }

    /// <summary>Argument names given.</summary>
    public IEnumerable<string> Names => _values.Keys;

    /// <summary>True when <paramref name="name"/> was given.</summary>
    public bool Has(string name) => _values.ContainsKey(name);

    private ChaosArgumentException Error(string name, string reason)
    {
        int line = _values.TryGetValue(name, out var v) ? v.Line : 0;
        string at = _where.Length == 0 ? "" : line > 0 ? $"{_where}:{line}: " : $"{_where}: ";
        return new ChaosArgumentException($"{at}arguments.{name}: {reason}");
    }

    /// <summary>A required scalar.</summary>
    /// <exception cref="ChaosArgumentException">Missing or not a scalar.</exception>
    public string Text(string name) => OptionalText(name) ?? throw Error(name, "required");

    /// <summary>A scalar, or null when absent.</summary>
    /// <exception cref="ChaosArgumentException">Given but not a scalar.</exception>
    public string? OptionalText(string name)
    {
        if (!_values.TryGetValue(name, out var v)) return null;
        return v.Text is { } t ? _expand(t) : throw Error(name, "expected a single value");
    }

    /// <summary>A Prometheus-style duration (<c>30s</c>, <c>1m30s</c>), or <paramref name="fallback"/> when absent.</summary>
    /// <exception cref="ChaosArgumentException">Missing without fallback, or not a duration.</exception>
    public TimeSpan Duration(string name, TimeSpan? fallback = null)
    {
        string? text = OptionalText(name);
        if (text is null) return fallback ?? throw Error(name, "required");
        return PromDuration.TryParse(text, out var d, out string why) ? d : throw Error(name, why);
    }

    /// <summary>A number (invariant culture), or <paramref name="fallback"/> when absent.</summary>
    /// <exception cref="ChaosArgumentException">Missing without fallback, or not a number.</exception>
    public double Number(string name, double? fallback = null)
    {
        string? text = OptionalText(name);
        if (text is null) return fallback ?? throw Error(name, "required");
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d) ? d : throw Error(name, $"'{text}' is not a number");
    }

    /// <summary>An integer, or <paramref name="fallback"/> when absent.</summary>
    /// <exception cref="ChaosArgumentException">Missing without fallback, or not an integer.</exception>
    public long Integer(string name, long? fallback = null)
    {
        string? text = OptionalText(name);
        if (text is null) return fallback ?? throw Error(name, "required");
        return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) ? n : throw Error(name, $"'{text}' is not an integer");
    }

    /// <summary><c>true</c>/<c>false</c>, or <paramref name="fallback"/> when absent.</summary>
    /// <exception cref="ChaosArgumentException">Not a boolean.</exception>
    public bool Flag(string name, bool fallback = false)
    {
        string? text = OptionalText(name);
        if (text is null) return fallback;
        return text switch { "true" => true, "false" => false, _ => throw Error(name, $"'{text}' is not true or false") };
    }

    /// <summary>A mapping of scalars (values expanded), empty when absent.</summary>
    /// <exception cref="ChaosArgumentException">Given but not a mapping.</exception>
    public IReadOnlyDictionary<string, string> Map(string name)
    {
        if (!_values.TryGetValue(name, out var v)) return new Dictionary<string, string>();
        return v.Map is { } m ? m.ToDictionary(p => p.Key, p => _expand(p.Value), StringComparer.Ordinal) : throw Error(name, "expected a mapping");
    }

    /// <summary>A list of scalars (expanded); a single scalar is a one-item list; empty when absent.</summary>
    /// <exception cref="ChaosArgumentException">Given as a mapping.</exception>
    public IReadOnlyList<string> List(string name)
    {
        if (!_values.TryGetValue(name, out var v)) return [];
        if (v.List is { } l) return [.. l.Select(_expand)];
        if (v.Text is { } t) return [_expand(t)];
        throw Error(name, "expected a list");
    }

    /// <summary>An enum value by its snake_case or lower-case name, or <paramref name="fallback"/>.</summary>
    /// <exception cref="ChaosArgumentException">Missing without fallback, or not one of the names.</exception>
    public T Choice<T>(string name, IReadOnlyDictionary<string, T> choices, T? fallback = default, bool required = true)
    {
        ArgumentNullException.ThrowIfNull(choices);
        string? text = OptionalText(name);
        if (text is null) return !required ? fallback! : throw Error(name, $"required (one of {string.Join(", ", choices.Keys)})");
        return choices.TryGetValue(text, out var value) ? value : throw Error(name, $"'{text}' is not one of {string.Join(", ", choices.Keys)}");
    }
}
