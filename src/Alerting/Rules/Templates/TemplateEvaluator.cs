using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Alerting.Rules;

/// <summary>The data an alert template sees (Prometheus <c>AlertTemplateData</c>): <c>.Labels</c> and <c>.Value</c>.</summary>
internal sealed record TemplateData(LabelSet Labels, double Value);

/// <summary>A runtime error at a node: Go reports <c>executing "NAME" at &lt;CONTEXT&gt;: MESSAGE</c>.</summary>
internal sealed class TemplateExecException(int pos, string context, string message) : Exception(message)
{
    public int Pos { get; } = pos;
    public string Context { get; } = context;
}

/// <summary>Executes a parsed template as Go's <c>text/template</c> with <c>missingkey=zero</c> does.</summary>
internal sealed class TemplateEvaluator
{
    /// <summary>The "no value" of Go (an invalid reflect.Value), printed as <c>&lt;no value&gt;</c>.</summary>
    private static readonly object NoValue = new();

    /// <summary>No piped-in value (Go's <c>missingVal</c>).</summary>
    private static readonly object Missing = new();

    private readonly List<(string Name, object? Value)> _vars = [];
    private readonly System.Text.StringBuilder _out = new();
    private readonly TemplateData _data;

    private TemplateEvaluator(TemplateData data)
    {
        _data = data;
        _vars.Add(("$", data));
        _vars.Add(("$labels", data.Labels));
        _vars.Add(("$value", data.Value));
    }

    public static string Execute(List<TemplateNode> nodes, TemplateData data)
    {
        var evaluator = new TemplateEvaluator(data);
        evaluator.Walk(nodes);
        return evaluator._out.ToString();
    }

    private void Walk(List<TemplateNode> nodes)
    {
        foreach (var node in nodes)
        {
            switch (node)
            {
                case TextNode t:
                    _out.Append(t.Text);
                    break;
                case ActionNode a:
                {
                    object? v = EvalPipeline(a.Pipe);
                    if (a.Pipe.Declared is null) _out.Append(ReferenceEquals(v, NoValue) ? "<no value>" : GoFmt.Sprint(v));
                    break;
                }
                case IfNode i:
                {
                    int mark = _vars.Count;
                    object? v = EvalPipeline(i.Condition);
                    if (ReferenceEquals(v, NoValue)) throw new TemplateExecException(i.Condition.Pos, i.Condition.ToString(), "if/with can't use <no value>");
                    if (TemplateFunctions.IsTrue(v).Truth) Walk(i.Then);
                    else if (i.Else is not null) Walk(i.Else);
                    _vars.RemoveRange(mark, _vars.Count - mark);
                    break;
                }
            }
        }
    }

    private object? EvalPipeline(PipeNode pipe)
    {
        object? value = Missing;
        foreach (var cmd in pipe.Commands) value = EvalCommand(cmd, value);
        if (pipe.Declared is not null)
        {
            if (pipe.IsAssign)
            {
                int i = _vars.FindLastIndex(v => v.Name == pipe.Declared);
                if (i < 0) throw new TemplateExecException(pipe.Pos, pipe.ToString(), $"undefined variable: {pipe.Declared}");
                _vars[i] = (pipe.Declared, value);
            }
            else
            {
                _vars.Add((pipe.Declared, value));
            }
        }
        return value;
    }

    private object? EvalCommand(CommandNode cmd, object? final)
    {
        var first = cmd.Args[0];
        if (first is IdentifierNode fn) return Call(fn.Name, cmd, cmd.Args.Skip(1).ToList(), final);
        // The parser allows no arguments (nor a piped value) for a non-function.
        return EvalOperand(first);
    }

    private object? EvalOperand(OperandNode node) => node switch
    {
        LiteralNode l => l.Value,
        PipeNode p => EvalPipeline(p),
        VariableNode v => Fields(Lookup(v), v.Fields, v),
        FieldNode f => Fields(_data, f.Fields, f),
        ChainNode c => Fields(EvalOperand(c.Node), c.Fields, c),
        IdentifierNode i => Call(i.Name, i, [], Missing),
        _ => throw new InvalidOperationException("unknown node"),
    };

    private object? Lookup(VariableNode v)
    {
        for (int i = _vars.Count - 1; i >= 0; i--)
        {
            if (_vars[i].Name == v.Name) return _vars[i].Value;
        }
        throw new TemplateExecException(v.Pos, v.ToString(), $"undefined variable: {v.Name}");
    }

    private static object? Fields(object? receiver, IReadOnlyList<string> fields, OperandNode node)
    {
        foreach (string field in fields)
        {
            receiver = receiver switch
            {
                TemplateData d when field == "Labels" => d.Labels,
                TemplateData d when field == "Value" => d.Value,
                // missingkey=zero: an absent key gives the empty string.
                LabelSet m => m[field],
                null => throw new TemplateExecException(node.Pos, node.ToString(), $"nil pointer evaluating interface {{}}.{field}"),
                _ => throw new TemplateExecException(node.Pos, node.ToString(), $"can't evaluate field {field} in type {GoFmt.TypeName(receiver)}"),
            };
        }
        return receiver;
    }

    private object? Call(string name, TemplateNode cmd, List<OperandNode> args, object? final)
    {
        if (name is "and" or "or")
        {
            // Go 1.18+: short-circuit, returning the deciding operand itself.
            object? v = null;
            foreach (var arg in args)
            {
                v = EvalOperand(arg);
                if (TemplateFunctions.IsTrue(v).Truth == (name == "or")) return v;
            }
            return ReferenceEquals(final, Missing) ? v : final;
        }

        var values = new List<object?>(args.Count + 1);
        bool strings = TemplateFunctions.TakesStrings(name);
        for (int i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            object? v = EvalOperand(arg);
            bool wantString = strings || (name == "printf" && i == 0);
            if (wantString && v is not string)
            {
                if (arg is LiteralNode) throw new TemplateExecException(arg.Pos, arg.ToString(), $"expected string; found {arg}");
                throw new TemplateExecException(arg.Pos, arg.ToString(), $"wrong type for value; expected string; got {GoFmt.TypeName(v)}");
            }
            values.Add(v);
        }
        if (!ReferenceEquals(final, Missing))
        {
            bool wantString = strings || (name == "printf" && values.Count == 0);
            if (wantString && final is not string)
                throw new TemplateExecException(cmd.Pos, cmd.ToString(), $"wrong type for value; expected string; got {GoFmt.TypeName(final)}");
            values.Add(final);
        }
        try
        {
            return TemplateFunctions.Call(name, values);
        }
        catch (TemplateCallException e)
        {
            throw new TemplateExecException(cmd.Pos, cmd.ToString(), $"error calling {name}: {e.Message}");
        }
    }
}
