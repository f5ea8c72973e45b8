using System.Globalization;

namespace ExchangeHealth.Alerting.Rules;

/// <summary>
/// A lexical check of a PromQL expression (not a parser): it is non-empty, its <c>()</c>,
/// <c>[]</c> and <c>{}</c> are balanced outside string literals and <c>#</c> comments, and its
/// <c>"..."</c>, <c>'...'</c> and <c>`...`</c> strings are terminated (quoted strings end on their
/// line, as in Prometheus's lexer). Everything else is left to the Prometheus server that runs the
/// query. Messages follow Prometheus's lexer: <c>1:5: parse error: unclosed left parenthesis</c>
/// (line:column, 1-based, within the expression; an unclosed bracket is reported where it opens).
/// </summary>
internal static class PromQlLexicalCheck
{
    /// <summary>The first problem of <paramref name="expr"/>, or null when none was found.</summary>
    /// <param name="expr">The expression.</param>
    /// <param name="line">The 1-based line of the problem within the expression; 0 when it has no position.</param>
    public static string? FirstProblem(string expr, out int line)
    {
        line = 0;
        return Check(expr, ref line);
    }

    private static string? Check(string expr, ref int problemLine)
    {
        var open = new Stack<(char Char, int Pos)>();
        bool anyToken = false;
        int i = 0;
        while (i < expr.Length)
        {
            char c = expr[i];
            if (c == '#')
            {
                while (i < expr.Length && expr[i] != '\n') i++;
                continue;
            }
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }
            anyToken = true;
            switch (c)
            {
                case '"' or '\'':
                {
                    int start = i++;
                    while (true)
                    {
                        if (i >= expr.Length || expr[i] == '\n') return At(expr, start, "unterminated quoted string", ref problemLine);
                        if (expr[i] == '\\') { i += 2; continue; }
                        if (expr[i++] == c) break;
                    }
                    continue;
                }
                case '`':
                {
                    int close = expr.IndexOf('`', i + 1);
                    if (close < 0) return At(expr, i, "unterminated raw string", ref problemLine);
                    i = close + 1;
                    continue;
                }
                case '(' or '[' or '{':
                    open.Push((c, i));
                    break;
                case ')' or ']' or '}':
                {
                    char expected = c switch { ')' => '(', ']' => '[', _ => '{' };
                    if (open.Count == 0 || open.Peek().Char != expected)
                    {
                        string what = c switch { ')' => "right parenthesis", ']' => "right bracket", _ => "right brace" };
                        string more = open.Count == 0 ? "" : $" ({Name(open.Peek().Char)} opened at {Position(expr, open.Peek().Pos)} is not closed)";
                        return At(expr, i, $"unexpected {what} '{c}'{more}", ref problemLine);
                    }
                    open.Pop();
                    break;
                }
            }
            i++;
        }
        if (!anyToken) return "no expression found in input";
        if (open.Count > 0)
        {
            var first = open.Reverse().First();
            return At(expr, first.Pos, "unclosed " + Name(first.Char), ref problemLine);
        }
        return null;
    }

    private static string Name(char open) => open switch
    {
        '(' => "left parenthesis",
        '[' => "left bracket",
        _ => "left brace",
    };

    private static string At(string expr, int pos, string message, ref int line)
    {
        line = 1 + expr.AsSpan(0, Math.Min(pos, expr.Length)).Count('\n');
        return $"{Position(expr, pos)}: parse error: {message}";
    }

    private static string Position(string expr, int pos)
    {
        int line = 1, lineStart = 0;
        for (int i = 0; i < pos && i < expr.Length; i++)
        {
            if (expr[i] == '\n') { line++; lineStart = i + 1; }
        }
        return string.Create(CultureInfo.InvariantCulture, $"{line}:{pos - lineStart + 1}");
    }
}
