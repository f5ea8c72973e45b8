using System.Globalization;
using System.Text;

namespace ExchangeHealth.Alerting.Rules;

// The syntax tree of the Go text/template subset (see AlertTemplate). Positions are character
// offsets into the template text; error messages convert them to Go's line:column (UTF-8 bytes).

internal abstract class TemplateNode(int pos)
{
    public int Pos { get; } = pos;

    /// <summary>The node as Go's <c>Node.String()</c> prints it (error contexts).</summary>
    public override string ToString() => GetType().Name;
}

internal sealed class TextNode(int pos, string text) : TemplateNode(pos)
{
    public string Text { get; } = text;
}

internal sealed class ActionNode(int pos, PipeNode pipe) : TemplateNode(pos)
{
    public PipeNode Pipe { get; } = pipe;
}

internal sealed class IfNode(int pos, PipeNode condition, List<TemplateNode> then, List<TemplateNode>? otherwise) : TemplateNode(pos)
{
    public PipeNode Condition { get; } = condition;
    public List<TemplateNode> Then { get; } = then;
    public List<TemplateNode>? Else { get; } = otherwise;
}

/// <summary>A pipeline: optional <c>$x :=</c> / <c>$x =</c>, then commands separated by <c>|</c>.</summary>
internal sealed class PipeNode(int pos) : OperandNode(pos)
{
    public string? Declared { get; set; }
    public bool IsAssign { get; set; }
    public List<CommandNode> Commands { get; } = [];

    public override string ToString()
    {
        var sb = new StringBuilder();
        if (Declared is not null) sb.Append(Declared).Append(IsAssign ? " = " : " := ");
        for (int i = 0; i < Commands.Count; i++)
        {
            if (i > 0) sb.Append(" | ");
            sb.Append(Commands[i]);
        }
        return sb.ToString();
    }
}

internal sealed class CommandNode(int pos) : TemplateNode(pos)
{
    public List<OperandNode> Args { get; } = [];

    public override string ToString()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < Args.Count; i++)
        {
            if (i > 0) sb.Append(' ');
            if (Args[i] is PipeNode p) sb.Append('(').Append(p).Append(')');
            else sb.Append(Args[i]);
        }
        return sb.ToString();
    }
}

internal abstract class OperandNode(int pos) : TemplateNode(pos);

/// <summary>A function name.</summary>
internal sealed class IdentifierNode(int pos, string name) : OperandNode(pos)
{
    public string Name { get; } = name;
    public override string ToString() => Name;
}

/// <summary><c>$name</c> followed by zero or more <c>.field</c>s.</summary>
internal sealed class VariableNode(int pos, string name, IReadOnlyList<string> fields) : OperandNode(pos)
{
    public string Name { get; } = name;
    public IReadOnlyList<string> Fields { get; } = fields;
    public override string ToString() => Name + string.Concat(Fields.Select(f => "." + f));
}

/// <summary><c>.Field.field</c> on the template data (<c>.Labels</c>, <c>.Value</c>).</summary>
internal sealed class FieldNode(int pos, IReadOnlyList<string> fields) : OperandNode(pos)
{
    public IReadOnlyList<string> Fields { get; } = fields;
    public override string ToString() => string.Concat(Fields.Select(f => "." + f));
}

/// <summary><c>(pipeline).field</c>.</summary>
internal sealed class ChainNode(int pos, OperandNode node, IReadOnlyList<string> fields) : OperandNode(pos)
{
    public OperandNode Node { get; } = node;
    public IReadOnlyList<string> Fields { get; } = fields;
    public override string ToString() => (Node is PipeNode p ? "(" + p + ")" : Node.ToString()) + string.Concat(Fields.Select(f => "." + f));
}

/// <summary>A string, number, character or boolean constant; <see cref="Value"/> is string, long, double or bool.</summary>
internal sealed class LiteralNode(int pos, object value, string text) : OperandNode(pos)
{
    public object Value { get; } = value;
    public string Text { get; } = text;
    public override string ToString() => Text;
}

internal enum TokenKind
{
    Text, LeftDelim, RightDelim, Space, Assign, Declare, Pipe, LeftParen, RightParen, String, RawString, CharConstant,
    Number, Bool, Dot, Field, Variable, Identifier, Keyword, Nil, Char, Eof,
}

internal readonly record struct Token(TokenKind Kind, int Pos, string Text);

/// <summary>A template syntax error at a character offset.</summary>
internal sealed class TemplateSyntaxException(int pos, string message) : Exception(message)
{
    public int Pos { get; } = pos;
}

/// <summary>Go text/template's lexer (<c>text/template/parse/lex.go</c> behaviour: trim markers, comments, newlines inside actions).</summary>
internal sealed class TemplateLexer
{
    private static readonly HashSet<string> Keywords = ["block", "break", "continue", "define", "else", "end", "if", "range", "template", "with"];

    private readonly string _text;
    private readonly List<Token> _tokens = [];
    private int _pos;

    private TemplateLexer(string text) => _text = text;

    public static List<Token> Lex(string text)
    {
        var lexer = new TemplateLexer(text);
        lexer.Run();
        return lexer._tokens;
    }

    private static bool IsSpace(char c) => c is ' ' or '\t' or '\r' or '\n';

    private static bool IsAlphaNumeric(char c) => c == '_' || char.IsLetterOrDigit(c);

    private bool HasLeftTrimMarker(int at) => at + 1 < _text.Length && _text[at] == '-' && IsSpace(_text[at + 1]);

    private (bool Delim, bool Trim) AtRightDelim(int at)
    {
        if (at + 1 < _text.Length && IsSpace(_text[at]) && _text[at + 1] == '-' && string.CompareOrdinal(_text, at + 2, "}}", 0, 2) == 0)
            return (true, true);
        if (string.CompareOrdinal(_text, at, "}}", 0, 2) == 0 && at + 2 <= _text.Length) return (true, false);
        return (false, false);
    }

    private int SkipSpaces(int at)
    {
        while (at < _text.Length && IsSpace(_text[at])) at++;
        return at;
    }

    private void Run()
    {
        while (_pos < _text.Length)
        {
            int ld = _text.IndexOf("{{", _pos, StringComparison.Ordinal);
            if (ld < 0)
            {
                _tokens.Add(new Token(TokenKind.Text, _pos, _text[_pos..]));
                _pos = _text.Length;
                break;
            }
            bool trimLeft = HasLeftTrimMarker(ld + 2);
            string before = _text[_pos..ld];
            if (trimLeft) before = before.TrimEnd(' ', '\t', '\r', '\n');
            if (before.Length > 0) _tokens.Add(new Token(TokenKind.Text, _pos, before));
            int p = ld + 2 + (trimLeft ? 2 : 0);
            if (string.CompareOrdinal(_text, p, "/*", 0, 2) == 0 && p + 2 <= _text.Length)
            {
                int close = _text.IndexOf("*/", p + 2, StringComparison.Ordinal);
                if (close < 0) throw new TemplateSyntaxException(ld, "unclosed comment");
                p = close + 2;
                var (delim, trim) = AtRightDelim(p);
                if (!delim) throw new TemplateSyntaxException(ld, "comment ends before closing delimiter");
                p += (trim ? 2 : 0) + 2;
                _pos = trim ? SkipSpaces(p) : p;
                continue;
            }
            _tokens.Add(new Token(TokenKind.LeftDelim, ld, "{{"));
            _pos = p;
            LexInsideAction(ld);
        }
        _tokens.Add(new Token(TokenKind.Eof, _text.Length, ""));
    }

    private void LexInsideAction(int actionStart)
    {
        int parenDepth = 0;
        while (true)
        {
            var (delim, trim) = AtRightDelim(_pos);
            if (delim)
            {
                if (parenDepth != 0) throw new TemplateSyntaxException(_pos, "unclosed left paren");
                _tokens.Add(new Token(TokenKind.RightDelim, _pos + (trim ? 2 : 0), "}}"));
                _pos += (trim ? 2 : 0) + 2;
                if (trim) _pos = SkipSpaces(_pos);
                return;
            }
            if (_pos >= _text.Length) throw new TemplateSyntaxException(actionStart, "unclosed action (missing \"}}\")");
            char c = _text[_pos];
            int start = _pos;
            if (IsSpace(c))
            {
                int end = SkipSpaces(_pos);
                // A space before "-}}" belongs to the trim marker.
                if (end < _text.Length && _text[end] == '-' && string.CompareOrdinal(_text, end + 1, "}}", 0, 2) == 0 && end + 3 <= _text.Length)
                {
                    end--;
                    if (end == start) continue; // the trim marker itself is next
                }
                _tokens.Add(new Token(TokenKind.Space, start, _text[start..end]));
                _pos = end;
                continue;
            }
            switch (c)
            {
                case '=':
                    _pos++;
                    _tokens.Add(new Token(TokenKind.Assign, start, "="));
                    continue;
                case ':':
                    if (_pos + 1 >= _text.Length || _text[_pos + 1] != '=') throw new TemplateSyntaxException(start, "expected :=");
                    _pos += 2;
                    _tokens.Add(new Token(TokenKind.Declare, start, ":="));
                    continue;
                case '|':
                    _pos++;
                    _tokens.Add(new Token(TokenKind.Pipe, start, "|"));
                    continue;
                case '"':
                    LexQuote();
                    continue;
                case '`':
                {
                    int close = _text.IndexOf('`', _pos + 1);
                    if (close < 0) throw new TemplateSyntaxException(start, "unterminated raw quoted string");
                    _pos = close + 1;
                    _tokens.Add(new Token(TokenKind.RawString, start, _text[start.._pos]));
                    continue;
                }
                case '\'':
                    LexChar();
                    continue;
                case '$':
                    LexFieldOrVariable(TokenKind.Variable);
                    continue;
                case '(':
                    _pos++;
                    parenDepth++;
                    _tokens.Add(new Token(TokenKind.LeftParen, start, "("));
                    continue;
                case ')':
                    _pos++;
                    parenDepth--;
                    if (parenDepth < 0) throw new TemplateSyntaxException(start, "unexpected right paren");
                    _tokens.Add(new Token(TokenKind.RightParen, start, ")"));
                    continue;
            }
            if (c == '.' && !(_pos + 1 < _text.Length && char.IsAsciiDigit(_text[_pos + 1])))
            {
                LexFieldOrVariable(TokenKind.Field);
                continue;
            }
            if (c is '.' or '+' or '-' || char.IsAsciiDigit(c))
            {
                LexNumber();
                continue;
            }
            if (IsAlphaNumeric(c))
            {
                while (_pos < _text.Length && IsAlphaNumeric(_text[_pos])) _pos++;
                string word = _text[start.._pos];
                if (!AtTerminator()) throw new TemplateSyntaxException(_pos, $"bad character {Describe(_text[_pos])}");
                var kind = word switch
                {
                    "true" or "false" => TokenKind.Bool,
                    "nil" => TokenKind.Nil,
                    _ when Keywords.Contains(word) => TokenKind.Keyword,
                    _ => TokenKind.Identifier,
                };
                _tokens.Add(new Token(kind, start, word));
                continue;
            }
            if (c < 0x80 && !char.IsControl(c))
            {
                _pos++;
                _tokens.Add(new Token(TokenKind.Char, start, c.ToString()));
                continue;
            }
            throw new TemplateSyntaxException(start, $"unrecognized character in action: {Describe(c)}");
        }
    }

    private static string Describe(char c) => string.Create(CultureInfo.InvariantCulture, $"U+{(int)c:X4} '{c}'");

    private bool AtTerminator()
    {
        if (_pos >= _text.Length) return true;
        char c = _text[_pos];
        if (IsSpace(c) || c is '.' or ',' or '|' or ':' or ')' or '(') return true;
        return AtRightDelim(_pos).Delim;
    }

    private void LexFieldOrVariable(TokenKind kind)
    {
        int start = _pos;
        _pos++; // '.' or '$'
        if (AtTerminator())
        {
            _tokens.Add(kind == TokenKind.Variable ? new Token(TokenKind.Variable, start, "$") : new Token(TokenKind.Dot, start, "."));
            return;
        }
        while (_pos < _text.Length && IsAlphaNumeric(_text[_pos])) _pos++;
        if (!AtTerminator()) throw new TemplateSyntaxException(_pos, $"bad character {Describe(_text[_pos])}");
        _tokens.Add(new Token(kind, start, _text[start.._pos]));
    }

    private void LexQuote()
    {
        int start = _pos;
        _pos++;
        while (true)
        {
            if (_pos >= _text.Length || _text[_pos] == '\n') throw new TemplateSyntaxException(start, "unterminated quoted string");
            char c = _text[_pos++];
            if (c == '\\')
            {
                if (_pos >= _text.Length || _text[_pos] == '\n') throw new TemplateSyntaxException(start, "unterminated quoted string");
                _pos++;
            }
            else if (c == '"')
            {
                break;
            }
        }
        _tokens.Add(new Token(TokenKind.String, start, _text[start.._pos]));
    }

    private void LexChar()
    {
        int start = _pos;
        _pos++;
        while (true)
        {
            if (_pos >= _text.Length || _text[_pos] == '\n') throw new TemplateSyntaxException(start, "unterminated character constant");
            char c = _text[_pos++];
            if (c == '\\')
            {
                if (_pos >= _text.Length || _text[_pos] == '\n') throw new TemplateSyntaxException(start, "unterminated character constant");
                _pos++;
            }
            else if (c == '\'')
            {
                break;
            }
        }
        _tokens.Add(new Token(TokenKind.CharConstant, start, _text[start.._pos]));
    }

    private void LexNumber()
    {
        int start = _pos;
        bool Accept(string valid)
        {
            if (_pos < _text.Length && valid.Contains(_text[_pos], StringComparison.Ordinal)) { _pos++; return true; }
            return false;
        }
        void AcceptRun(string valid) { while (Accept(valid)) { } }

        Accept("+-");
        string digits = "0123456789_";
        if (Accept("0"))
        {
            if (Accept("xX")) digits = "0123456789abcdefABCDEF_";
            else if (Accept("oO")) digits = "01234567_";
            else if (Accept("bB")) digits = "01_";
        }
        AcceptRun(digits);
        if (Accept(".")) AcceptRun(digits);
        if (digits.Length == 11 && Accept("eE"))
        {
            Accept("+-");
            AcceptRun("0123456789_");
        }
        if (digits.Length == 23 && Accept("pP"))
        {
            Accept("+-");
            AcceptRun("0123456789_");
        }
        Accept("i");
        if (_pos < _text.Length && IsAlphaNumeric(_text[_pos]))
        {
            _pos++;
            throw new TemplateSyntaxException(start, $"bad number syntax: \"{_text[start.._pos]}\"");
        }
        _tokens.Add(new Token(TokenKind.Number, start, _text[start.._pos]));
    }
}
