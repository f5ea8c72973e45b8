using System.Globalization;
using System.Numerics;
using System.Text;

namespace ExchangeHealth.Alerting.Rules;

/// <summary>
/// Go text/template's parser (<c>text/template/parse/parse.go</c>) for the subset alert templates
/// use, with the extra load-time checks <see cref="AlertTemplate"/> documents: unknown functions,
/// unsupported keywords, variables and fields, and wrong argument counts are errors here rather
/// than at expansion time.
/// </summary>
internal sealed class TemplateParser
{
    private readonly List<Token> _tokens;
    private readonly List<string> _vars = ["$", "$labels", "$value"];
    private int _i;

    private TemplateParser(List<Token> tokens) => _tokens = tokens;

    public static List<TemplateNode> Parse(string text)
    {
        var parser = new TemplateParser(TemplateLexer.Lex(text));
        var (list, stop) = parser.ItemList(topLevel: true);
        if (stop is not null) throw new TemplateSyntaxException(stop.Value.Pos, $"unexpected {{{{{stop.Value.Text}}}}}");
        return list;
    }

    private Token Next() => _tokens[_i++];

    private Token Peek() => _tokens[_i];

    private Token NextNonSpace()
    {
        var t = Next();
        while (t.Kind == TokenKind.Space) t = Next();
        return t;
    }

    private Token PeekNonSpace()
    {
        int j = _i;
        while (_tokens[j].Kind == TokenKind.Space) j++;
        return _tokens[j];
    }

    /// <summary>Parses text and actions until EOF (top level) or an <c>{{else}}</c>/<c>{{end}}</c>, which is returned.</summary>
    private (List<TemplateNode> List, Token? Stop) ItemList(bool topLevel)
    {
        var list = new List<TemplateNode>();
        while (Peek().Kind != TokenKind.Eof)
        {
            var t = Next();
            if (t.Kind == TokenKind.Text)
            {
                list.Add(new TextNode(t.Pos, t.Text));
                continue;
            }
            // t is a left delimiter.
            var k = NextNonSpace();
            if (k.Kind == TokenKind.Keyword)
            {
                switch (k.Text)
                {
                    case "end":
                        Expect(TokenKind.RightDelim, "end");
                        return (list, k);
                    case "else":
                        // "else if" is handled by the caller; a plain else must close its action.
                        if (PeekNonSpace() is { Kind: TokenKind.Keyword, Text: "if" }) return (list, k);
                        Expect(TokenKind.RightDelim, "else");
                        return (list, k);
                    case "if":
                        list.Add(IfControl(k.Pos));
                        continue;
                    default:
                        throw new TemplateSyntaxException(k.Pos, $"unsupported action \"{k.Text}\" (supported: if, else, else if, end)");
                }
            }
            _i--;
            var pipe = Pipeline("command", TokenKind.RightDelim);
            list.Add(new ActionNode(pipe.Pos, pipe));
        }
        if (!topLevel) throw new TemplateSyntaxException(Peek().Pos, "unexpected EOF (missing {{end}})");
        return (list, null);
    }

    private IfNode IfControl(int pos)
    {
        int mark = _vars.Count;
        try
        {
            var condition = Pipeline("if", TokenKind.RightDelim);
            var (then, stop) = ItemList(topLevel: false);
            List<TemplateNode>? otherwise = null;
            if (stop!.Value.Text == "else")
            {
                if (PeekNonSpace() is { Kind: TokenKind.Keyword, Text: "if" } elseIf)
                {
                    // "{{else if ...}}" is "{{else}}{{if ...}}...{{end}}{{end}}" sharing one {{end}}.
                    NextNonSpace();
                    otherwise = [IfControl(elseIf.Pos)];
                }
                else
                {
                    var (elseList, elseStop) = ItemList(topLevel: false);
                    if (elseStop!.Value.Text != "end") throw new TemplateSyntaxException(elseStop.Value.Pos, "expected end; found {{else}}");
                    otherwise = elseList;
                }
            }
            return new IfNode(pos, condition, then, otherwise);
        }
        finally
        {
            _vars.RemoveRange(mark, _vars.Count - mark);
        }
    }

    private void Expect(TokenKind kind, string context)
    {
        var t = NextNonSpace();
        if (t.Kind != kind) throw new TemplateSyntaxException(t.Pos, $"unexpected {Describe(t)} in {context}");
    }

    private static string Describe(Token t) => t.Kind switch
    {
        TokenKind.Eof => "EOF",
        TokenKind.RightDelim => "\"}}\"",
        TokenKind.LeftDelim => "\"{{\"",
        TokenKind.Keyword => $"<{t.Text}>",
        _ => $"\"{t.Text}\"",
    };

    private PipeNode Pipeline(string context, TokenKind end)
    {
        var first = PeekNonSpace();
        var pipe = new PipeNode(first.Pos);
        if (first.Kind == TokenKind.Variable)
        {
            int save = _i;
            var v = NextNonSpace();
            var next = PeekNonSpace();
            if (next.Kind is TokenKind.Declare or TokenKind.Assign)
            {
                NextNonSpace();
                pipe.IsAssign = next.Kind == TokenKind.Assign;
                if (pipe.IsAssign && !_vars.Contains(v.Text)) throw new TemplateSyntaxException(v.Pos, $"undefined variable \"{v.Text}\"");
                pipe.Declared = v.Text;
            }
            else if (next is { Kind: TokenKind.Char, Text: "," })
            {
                throw new TemplateSyntaxException(next.Pos, "multiple variables in a declaration are only for range, which is not supported");
            }
            else
            {
                _i = save;
            }
        }
        while (true)
        {
            var t = NextNonSpace();
            if (t.Kind == end)
            {
                if (pipe.Commands.Count == 0) throw new TemplateSyntaxException(t.Pos, $"missing value for {context}");
                for (int c = 1; c < pipe.Commands.Count; c++)
                {
                    if (pipe.Commands[c].Args[0] is LiteralNode)
                        throw new TemplateSyntaxException(pipe.Commands[c].Pos, $"non executable command in pipeline stage {c + 1}");
                }
                CheckCalls(pipe);
                // The variable is visible after its declaration (Go adds it when the pipeline ends).
                if (pipe.Declared is not null && !pipe.IsAssign) _vars.Add(pipe.Declared);
                return pipe;
            }
            switch (t.Kind)
            {
                case TokenKind.Bool or TokenKind.CharConstant or TokenKind.Dot or TokenKind.Field or TokenKind.Identifier
                    or TokenKind.Number or TokenKind.Nil or TokenKind.RawString or TokenKind.String or TokenKind.Variable
                    or TokenKind.LeftParen:
                    _i--;
                    pipe.Commands.Add(Command());
                    break;
                default:
                    throw new TemplateSyntaxException(t.Pos, $"unexpected {Describe(t)} in {context}");
            }
        }
    }

    private CommandNode Command()
    {
        var cmd = new CommandNode(PeekNonSpace().Pos);
        while (true)
        {
            PeekNonSpace();
            var operand = Operand();
            if (operand is not null) cmd.Args.Add(operand);
            var t = Next();
            switch (t.Kind)
            {
                case TokenKind.Space:
                    continue;
                case TokenKind.RightDelim or TokenKind.RightParen:
                    _i--;
                    break;
                case TokenKind.Pipe:
                    break;
                default:
                    throw new TemplateSyntaxException(t.Pos, $"unexpected {Describe(t)} in operand");
            }
            break;
        }
        if (cmd.Args.Count == 0) throw new TemplateSyntaxException(cmd.Pos, "empty command");
        return cmd;
    }

    private OperandNode? Operand()
    {
        var node = Term();
        if (node is null) return null;
        if (Peek().Kind != TokenKind.Field) return node is VariableNode variable ? CheckVariable(variable) : node;
        var fields = new List<string>();
        int pos = Peek().Pos;
        while (Peek().Kind == TokenKind.Field) fields.Add(Next().Text[1..]);
        return node switch
        {
            // Go positions a chained variable or field at its first chained ".field".
            VariableNode v => CheckVariable(new VariableNode(pos, v.Name, [.. v.Fields, .. fields])),
            FieldNode f => CheckField(new FieldNode(pos, [.. f.Fields, .. fields])),
            LiteralNode l => throw new TemplateSyntaxException(pos, $"unexpected . after term \"{l.Text}\""),
            IdentifierNode i => throw new TemplateSyntaxException(pos, $"unexpected . after function \"{i.Name}\" (call it in parentheses)"),
            _ => new ChainNode(node.Pos, node, fields),
        };
    }

    private OperandNode? Term()
    {
        var t = NextNonSpace();
        switch (t.Kind)
        {
            case TokenKind.Identifier:
                if (!TemplateFunctions.IsKnown(t.Text))
                    throw new TemplateSyntaxException(t.Pos, $"unknown function \"{t.Text}\" (supported: {TemplateFunctions.SupportedList})");
                return new IdentifierNode(t.Pos, t.Text);
            case TokenKind.Dot:
                throw new TemplateSyntaxException(t.Pos, "\".\" (the whole template data) is not supported; use $labels, $value, .Labels or .Value");
            case TokenKind.Nil:
                throw new TemplateSyntaxException(t.Pos, "nil is not supported");
            case TokenKind.Variable:
                if (!_vars.Contains(t.Text))
                {
                    string hint = t.Text is "$externalLabels" or "$externalURL"
                        ? $" ({t.Text} is not supported here: the monitor has no external labels or URL; supported: $labels, $value)"
                        : "";
                    throw new TemplateSyntaxException(t.Pos, $"undefined variable \"{t.Text}\"{hint}");
                }
                return new VariableNode(t.Pos, t.Text, []);
            case TokenKind.Field:
                return CheckField(new FieldNode(t.Pos, [t.Text[1..]]));
            case TokenKind.Bool:
                return new LiteralNode(t.Pos, t.Text == "true", t.Text);
            case TokenKind.CharConstant:
                return new LiteralNode(t.Pos, (long)UnquoteChar(t), t.Text);
            case TokenKind.Number:
                return new LiteralNode(t.Pos, ParseNumber(t), t.Text);
            case TokenKind.String:
            case TokenKind.RawString:
                return new LiteralNode(t.Pos, Unquote(t), t.Text);
            case TokenKind.LeftParen:
                return Pipeline("parenthesized pipeline", TokenKind.RightParen);
        }
        _i--;
        return null;
    }

    /// <summary><c>$</c> is the template data, like <c>.</c>: only its fields can be used.</summary>
    private static VariableNode CheckVariable(VariableNode v)
    {
        if (v.Name != "$") return v;
        if (v.Fields.Count == 0)
            throw new TemplateSyntaxException(v.Pos, "\"$\" (the whole template data) is not supported; use $labels, $value, $.Labels or $.Value");
        CheckField(new FieldNode(v.Pos, v.Fields));
        return v;
    }

    private static FieldNode CheckField(FieldNode f)
    {
        if (f.Fields[0] is not ("Labels" or "Value"))
        {
            throw new TemplateSyntaxException(f.Pos, f.Fields[0] is "ExternalLabels" or "ExternalURL"
                ? $"field .{f.Fields[0]} is not supported here (the monitor has no external labels or URL; supported: .Labels, .Value)"
                : $"unknown field .{f.Fields[0]} of the template data (supported: .Labels, .Value)");
        }
        return f;
    }

    /// <summary>Functions with the right number of arguments, and no arguments given to non-functions.</summary>
    private static void CheckCalls(PipeNode pipe)
    {
        for (int c = 0; c < pipe.Commands.Count; c++)
        {
            var cmd = pipe.Commands[c];
            int piped = c > 0 ? 1 : 0;
            if (cmd.Args[0] is IdentifierNode fn)
            {
                TemplateFunctions.CheckArity(fn.Name, cmd.Args.Count - 1 + piped, fn.Pos);
            }
            else if (cmd.Args.Count > 1 || piped > 0)
            {
                throw new TemplateSyntaxException(cmd.Pos, $"can't give argument to non-function {cmd.Args[0]}");
            }
            // A function name used as an argument is a call without arguments.
            foreach (var arg in cmd.Args.Skip(1))
            {
                if (arg is IdentifierNode f) TemplateFunctions.CheckArity(f.Name, 0, f.Pos);
            }
        }
    }

    /// <summary>A number constant as Go's template exec sees it without context: int when integral and written without '.', 'e' or 'p', else float64.</summary>
    private static object ParseNumber(Token t)
    {
        string text = t.Text;
        if (text.EndsWith('i')) throw new TemplateSyntaxException(t.Pos, $"complex numbers are not supported: {text}");
        string s = text;
        bool neg = false;
        if (s.StartsWith('+') || s.StartsWith('-'))
        {
            neg = s[0] == '-';
            s = s[1..];
        }
        if (s.Length == 0) throw new TemplateSyntaxException(t.Pos, $"illegal number syntax: \"{text}\"");
        bool underscores = s.Contains('_', StringComparison.Ordinal);
        string lower = s.ToLowerInvariant();
        int numBase = 10;
        string body = s;
        if (lower.StartsWith("0x", StringComparison.Ordinal)) { numBase = 16; body = s[2..]; }
        else if (lower.StartsWith("0o", StringComparison.Ordinal)) { numBase = 8; body = s[2..]; }
        else if (lower.StartsWith("0b", StringComparison.Ordinal)) { numBase = 2; body = s[2..]; }
        else if (s.Length > 1 && s[0] == '0' && s.All(char.IsAsciiDigit)) { numBase = 8; body = s[1..]; }
        if (underscores)
        {
            // Go: '_' only between digits (or right after a base prefix).
            if (!TemplateFunctions.UnderscoreOk(s)) throw new TemplateSyntaxException(t.Pos, $"illegal number syntax: \"{text}\"");
            body = body.Replace("_", "", StringComparison.Ordinal);
        }
        bool isFloatSyntax = numBase == 10 && lower.IndexOfAny(['.', 'e']) >= 0;
        if (!isFloatSyntax && numBase != 16 || numBase == 16 && lower.IndexOfAny(['.', 'p']) < 0)
        {
            var value = BigInteger.Zero;
            if (body.Length == 0) throw new TemplateSyntaxException(t.Pos, $"illegal number syntax: \"{text}\"");
            foreach (char ch in body)
            {
                int d = char.IsAsciiDigit(ch) ? ch - '0' : char.IsAsciiHexDigitLower(ch) ? ch - 'a' + 10 : char.IsAsciiHexDigitUpper(ch) ? ch - 'A' + 10 : 99;
                if (d >= numBase) throw new TemplateSyntaxException(t.Pos, $"illegal number syntax: \"{text}\"");
                value = value * numBase + d;
            }
            if (neg) value = -value;
            if (value < long.MinValue || value > long.MaxValue) throw new TemplateSyntaxException(t.Pos, $"{text} overflows int");
            return (long)value;
        }
        if (numBase != 10) throw new TemplateSyntaxException(t.Pos, $"hexadecimal floating-point numbers are not supported: {text}");
        if (!double.TryParse(body, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out double f) || double.IsInfinity(f))
            throw new TemplateSyntaxException(t.Pos, $"illegal number syntax: \"{text}\"");
        return neg ? -f : f;
    }

    private static string Unquote(Token t)
    {
        string q = t.Text;
        if (t.Kind == TokenKind.RawString) return q[1..^1].Replace("\r", "", StringComparison.Ordinal);
        var sb = new StringBuilder();
        int i = 1;
        while (i < q.Length - 1)
        {
            if (q[i] != '\\')
            {
                sb.Append(q[i++]);
                continue;
            }
            AppendEscape(sb, q, ref i, '"', t);
        }
        return sb.ToString();
    }

    private static int UnquoteChar(Token t)
    {
        string q = t.Text;
        var sb = new StringBuilder();
        int i = 1;
        if (q.Length < 3) throw new TemplateSyntaxException(t.Pos, $"malformed character constant: {q}");
        if (q[i] == '\\') AppendEscape(sb, q, ref i, '\'', t);
        else { sb.Append(q[i]); if (char.IsHighSurrogate(q[i]) && i + 1 < q.Length - 1) sb.Append(q[i + 1]); i += sb.Length; }
        if (i != q.Length - 1) throw new TemplateSyntaxException(t.Pos, $"malformed character constant: {q}");
        string s = sb.ToString();
        return char.ConvertToUtf32(s, 0);
    }

    /// <summary>One Go escape sequence (<c>strconv.UnquoteChar</c>) starting at the backslash at <paramref name="i"/>.</summary>
    private static void AppendEscape(StringBuilder sb, string q, ref int i, char quote, Token t)
    {
        i++; // backslash
        char c = q[i++];
        switch (c)
        {
            case 'a': sb.Append('\a'); return;
            case 'b': sb.Append('\b'); return;
            case 'f': sb.Append('\f'); return;
            case 'n': sb.Append('\n'); return;
            case 'r': sb.Append('\r'); return;
            case 't': sb.Append('\t'); return;
            case 'v': sb.Append('\v'); return;
            case '\\': sb.Append('\\'); return;
            case '\'' or '"':
                if (c != quote) break;
                sb.Append(c);
                return;
            case 'x' or 'u' or 'U':
            {
                int n = c == 'x' ? 2 : c == 'u' ? 4 : 8;
                if (i + n > q.Length - 1 || !int.TryParse(q.AsSpan(i, n), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int v))
                    break;
                i += n;
                if (c == 'x') { sb.Append((char)v); return; } // a byte; Go would keep it raw
                if (v > 0x10FFFF || v is >= 0xD800 and <= 0xDFFF) break;
                sb.Append(char.ConvertFromUtf32(v));
                return;
            }
            case >= '0' and <= '7':
            {
                if (i + 2 > q.Length - 1) break;
                string oct = q.Substring(i - 1, 3);
                if (!oct.All(ch => ch is >= '0' and <= '7')) break;
                int v = Convert.ToInt32(oct, 8);
                if (v > 255) break;
                i += 2;
                sb.Append((char)v);
                return;
            }
        }
        throw new TemplateSyntaxException(t.Pos, $"invalid syntax in quoted string {q}");
    }
}
