using System.Globalization;
using System.Text;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Alerting.Rules;

/// <summary>
/// Go's <c>fmt.Sprintf</c>/<c>fmt.Sprint</c> for the value types a Prometheus alert template
/// handles: <see cref="string"/> (Go <c>string</c>), <see cref="long"/> (Go <c>int</c>, from
/// integer literals), <see cref="double"/> (<c>float64</c>, <c>$value</c>), <see cref="bool"/>,
/// <see cref="LabelSet"/> (<c>map[string]string</c>, <c>$labels</c>) and null (<c>nil</c>).
/// Verbs <c>%v %#v %T %s %q %d %b %o %O %x %X %c %U %t %e %E %f %F %g %G %%</c> with the flags
/// <c>+ - # space 0</c>, width, precision, <c>*</c> and <c>%[n]</c> argument indexes; a verb that does not fit the argument prints
/// <c>%!d(string=abc)</c>, a missing argument <c>%!d(MISSING)</c>, extra arguments
/// <c>%!(EXTRA type=value)</c>, all as Go does.
/// </summary>
internal static class GoFmt
{
    private struct Flags
    {
        public bool Plus, Minus, Sharp, SharpV, Space, Zero, WidPresent, PrecPresent;
        public int Wid, Prec;
    }

    /// <summary>Go's type name of a template value, as <c>%T</c> prints it.</summary>
    public static string TypeName(object? v) => v switch
    {
        null => "<nil>",
        string => "string",
        long => "int",
        double => "float64",
        bool => "bool",
        LabelSet => "map[string]string",
        _ => v.GetType().Name,
    };

    /// <summary><c>fmt.Sprint(v)</c> of one value (what a template action prints).</summary>
    public static string Sprint(object? v)
    {
        var sb = new StringBuilder();
        PrintArg(sb, v, 'v', default);
        return sb.ToString();
    }

    /// <summary><c>fmt.Sprint(args...)</c>: operands printed with <c>%v</c>, a space between two operands when neither is a string.</summary>
    public static string SprintMany(IReadOnlyList<object?> args)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < args.Count; i++)
        {
            if (i > 0 && args[i] is not string && args[i - 1] is not string) sb.Append(' ');
            PrintArg(sb, args[i], 'v', default);
        }
        return sb.ToString();
    }

    /// <summary><c>fmt.Sprintf(format, args...)</c> (Go's <c>doPrintf</c>, explicit argument indexes <c>%[n]d</c> included).</summary>
    public static string Sprintf(string format, IReadOnlyList<object?> args)
    {
        var sb = new StringBuilder();
        int argNum = 0;
        bool reordered = false;
        int i = 0;
        int end = format.Length;
        while (i < end)
        {
            bool goodArgNum = true;
            int lasti = i;
            while (i < end && format[i] != '%') i++;
            if (i > lasti) sb.Append(format, lasti, i - lasti);
            if (i >= end) break;
            i++; // skip %
            var f = new Flags();
            for (; i < end; i++)
            {
                char c = format[i];
                if (c == '#') f.Sharp = true;
                else if (c == '0') f.Zero = !f.Minus;
                else if (c == '+') f.Plus = true;
                else if (c == '-') { f.Minus = true; f.Zero = false; }
                else if (c == ' ') f.Space = true;
                else break;
            }

            bool afterIndex = ArgNumber(ref argNum, format, ref i, args.Count, ref goodArgNum, ref reordered);

            // Width.
            if (i < end && format[i] == '*')
            {
                i++;
                (f.Wid, f.WidPresent) = IntFromArg(args, ref argNum);
                if (!f.WidPresent) sb.Append("%!(BADWIDTH)");
                if (f.Wid < 0) { f.Wid = -f.Wid; f.Minus = true; f.Zero = false; }
                afterIndex = false;
            }
            else
            {
                int start = i;
                f.Wid = ParseNum(format, ref i);
                f.WidPresent = i > start;
                if (afterIndex && f.WidPresent) goodArgNum = false; // "%[3]2d"
            }

            // Precision.
            if (i + 1 < end && format[i] == '.')
            {
                i++;
                if (afterIndex) goodArgNum = false; // "%[3].2d"
                afterIndex = ArgNumber(ref argNum, format, ref i, args.Count, ref goodArgNum, ref reordered);
                if (i < end && format[i] == '*')
                {
                    i++;
                    (f.Prec, f.PrecPresent) = IntFromArg(args, ref argNum);
                    if (f.Prec < 0) { f.Prec = 0; f.PrecPresent = false; }
                    if (!f.PrecPresent) sb.Append("%!(BADPREC)");
                    afterIndex = false;
                }
                else
                {
                    f.Prec = ParseNum(format, ref i);
                    f.PrecPresent = true;
                }
            }

            if (!afterIndex) ArgNumber(ref argNum, format, ref i, args.Count, ref goodArgNum, ref reordered);

            if (i >= end)
            {
                sb.Append("%!(NOVERB)");
                break;
            }
            int verb = char.ConvertToUtf32(format, i);
            i += char.IsSurrogatePair(format, i) ? 2 : 1;
            if (verb == '%')
            {
                sb.Append('%'); // absorbs no operand, ignores width and precision
            }
            else if (!goodArgNum)
            {
                sb.Append("%!").Append(char.ConvertFromUtf32(verb)).Append("(BADINDEX)");
            }
            else if (argNum >= args.Count)
            {
                sb.Append("%!").Append(char.ConvertFromUtf32(verb)).Append("(MISSING)");
            }
            else
            {
                if (verb == 'v')
                {
                    // %#v is Go syntax and %+v adds struct field names: neither is a flag for numbers.
                    f.SharpV = f.Sharp;
                    f.Sharp = false;
                    f.Plus = false;
                }
                PrintArg(sb, args[argNum++], verb, f);
            }
        }
        // Extra operands are reported unless indexes reordered them.
        if (!reordered && argNum < args.Count)
        {
            sb.Append("%!(EXTRA ");
            for (int k = argNum; k < args.Count; k++)
            {
                if (k > argNum) sb.Append(", ");
                if (args[k] is null) sb.Append("<nil>");
                else
                {
                    sb.Append(TypeName(args[k])).Append('=');
                    PrintArg(sb, args[k], 'v', default);
                }
            }
            sb.Append(')');
        }
        return sb.ToString();
    }

    /// <summary>Go's <c>argNumber</c>: an explicit <c>[n]</c> index at <paramref name="i"/> selects operand n (1-based).</summary>
    private static bool ArgNumber(ref int argNum, string format, ref int i, int numArgs, ref bool goodArgNum, ref bool reordered)
    {
        if (i >= format.Length || format[i] != '[') return false;
        reordered = true;
        // parseArgNumber
        int index = 0, width = 1;
        bool ok = false;
        if (format.Length - i >= 3)
        {
            for (int j = i + 1; j < format.Length; j++)
            {
                if (format[j] != ']') continue;
                int k = i + 1;
                int n = ParseNum(format, ref k);
                width = j - i + 1;
                if (k == i + 1 || k != j) { ok = false; break; }
                index = n - 1;
                ok = true;
                break;
            }
        }
        i += width;
        if (ok && index >= 0 && index < numArgs)
        {
            argNum = index;
            return true;
        }
        goodArgNum = false;
        return ok;
    }

    /// <summary>Go's <c>intFromArg</c>: an int operand for <c>*</c> width or precision (|n| at most 1e6).</summary>
    private static (int Value, bool Ok) IntFromArg(IReadOnlyList<object?> args, ref int argNum)
    {
        if (argNum >= args.Count) return (0, false);
        object? a = args[argNum++];
        if (a is long n && n is >= -1_000_000 and <= 1_000_000) return ((int)n, true);
        return (0, false);
    }

    private static int ParseNum(string s, ref int i)
    {
        int n = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
        {
            if (n < 1_000_000) n = n * 10 + (s[i] - '0');
            i++;
        }
        return n;
    }

    private static void PrintArg(StringBuilder sb, object? arg, int verb, Flags f)
    {
        if (verb == 'T')
        {
            FormatString(sb, TypeName(arg), 's', f);
            return;
        }
        switch (arg)
        {
            case null:
                if (verb == 'v') Pad(sb, "<nil>", f);
                else BadVerb(sb, verb, null);
                return;
            case bool b:
                if (verb is 't' or 'v') Pad(sb, b ? "true" : "false", f);
                else BadVerb(sb, verb, arg);
                return;
            case long n:
                FormatInt(sb, n, verb, f);
                return;
            case double d:
                FormatFloat(sb, d, verb, f);
                return;
            case string s:
                FormatString(sb, s, verb, f);
                return;
            case LabelSet map when f.SharpV:
                // Go syntax: map[string]string{"a":"b", "c":"d"}
                sb.Append("map[string]string{");
                for (int k = 0; k < map.Count; k++)
                {
                    if (k > 0) sb.Append(", ");
                    sb.Append(Quote(map[k].Key, asciiOnly: false)).Append(':').Append(Quote(map[k].Value, asciiOnly: false));
                }
                sb.Append('}');
                return;
            case LabelSet map:
                sb.Append("map[");
                for (int k = 0; k < map.Count; k++)
                {
                    if (k > 0) sb.Append(' ');
                    PrintArg(sb, map[k].Key, verb, f);
                    sb.Append(':');
                    PrintArg(sb, map[k].Value, verb, f);
                }
                sb.Append(']');
                return;
            default:
                Pad(sb, arg.ToString() ?? "", f);
                return;
        }
    }

    private static void BadVerb(StringBuilder sb, int verb, object? arg)
    {
        sb.Append("%!").Append(char.ConvertFromUtf32(verb)).Append('(');
        if (arg is null) sb.Append("<nil>");
        else
        {
            sb.Append(TypeName(arg)).Append('=');
            PrintArg(sb, arg, 'v', default);
        }
        sb.Append(')');
    }

    /// <summary>Pads to the width with spaces (or zeros with the 0 flag), on the right with the - flag.</summary>
    private static void Pad(StringBuilder sb, string s, Flags f)
    {
        if (!f.WidPresent || f.Wid == 0)
        {
            sb.Append(s);
            return;
        }
        int width = f.Wid - RuneCount(s);
        if (width <= 0) { sb.Append(s); return; }
        if (f.Minus) sb.Append(s).Append(' ', width);
        else sb.Append(f.Zero ? '0' : ' ', width).Append(s);
    }

    private static int RuneCount(string s)
    {
        int n = 0;
        foreach (var _ in s.EnumerateRunes()) n++;
        return n;
    }

    private static void FormatString(StringBuilder sb, string s, int verb, Flags f)
    {
        switch (verb)
        {
            case 'v' when f.SharpV:
                Pad(sb, Quote(s, asciiOnly: false), f);
                return;
            case 'v':
            case 's':
                if (f.PrecPresent)
                {
                    int n = 0, idx = 0;
                    foreach (var r in s.EnumerateRunes())
                    {
                        if (n == f.Prec) break;
                        idx += r.Utf16SequenceLength;
                        n++;
                    }
                    s = s[..idx];
                }
                Pad(sb, s, f);
                return;
            case 'q':
                if (f.Sharp && s.IndexOfAny(['`', '\n', '\r', '\t']) < 0 && s.All(c => c >= ' ' && c != '\u007f'))
                    Pad(sb, "`" + s + "`", f);
                else
                    Pad(sb, Quote(s, f.Plus), f);
                return;
            case 'x':
            case 'X':
            {
                byte[] bytes = Encoding.UTF8.GetBytes(s);
                var hex = new StringBuilder();
                string digits = verb == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
                int length = f.PrecPresent ? Math.Min(f.Prec, bytes.Length) : bytes.Length;
                for (int k = 0; k < length; k++)
                {
                    if (f.Space && k > 0) hex.Append(' ');
                    if (f.Sharp && (f.Space || k == 0)) hex.Append(verb == 'x' ? "0x" : "0X");
                    hex.Append(digits[bytes[k] >> 4]).Append(digits[bytes[k] & 0xF]);
                }
                Pad(sb, hex.ToString(), f);
                return;
            }
            default:
                BadVerb(sb, verb, s);
                return;
        }
    }

    private static void FormatInt(StringBuilder sb, long n, int verb, Flags f)
    {
        switch (verb)
        {
            case 'v':
            case 'd':
                FormatInteger(sb, n, 10, verb, f, "0123456789abcdef");
                return;
            case 'b':
                FormatInteger(sb, n, 2, verb, f, "01");
                return;
            case 'o':
            case 'O':
                FormatInteger(sb, n, 8, verb, f, "01234567");
                return;
            case 'x':
                FormatInteger(sb, n, 16, verb, f, "0123456789abcdef");
                return;
            case 'X':
                FormatInteger(sb, n, 16, verb, f, "0123456789ABCDEF");
                return;
            case 'c':
                Pad(sb, IsValidRune(n) ? char.ConvertFromUtf32((int)n) : "\uFFFD", f);
                return;
            case 'q':
                Pad(sb, QuoteRune(n), f);
                return;
            case 'U':
            {
                string hex = ((ulong)n).ToString("X", CultureInfo.InvariantCulture);
                int prec = f.PrecPresent && f.Prec > 4 ? f.Prec : 4;
                string s = "U+" + hex.PadLeft(prec, '0');
                if (f.Sharp && IsValidRune(n) && !char.IsControl((char)Math.Min(n, 0xFFFF))) s += " '" + char.ConvertFromUtf32((int)n) + "'";
                var g = f;
                g.Zero = false;
                Pad(sb, s, g);
                return;
            }
            default:
                BadVerb(sb, verb, n);
                return;
        }
    }

    private static bool IsValidRune(long n) => n is >= 0 and <= 0x10FFFF and not (>= 0xD800 and <= 0xDFFF);

    private static void FormatInteger(StringBuilder sb, long n, int numBase, int verb, Flags f, string digits)
    {
        bool negative = n < 0;
        ulong u = negative ? (ulong)(-(n + 1)) + 1 : (ulong)n;
        int prec = 0;
        if (f.PrecPresent)
        {
            prec = f.Prec;
            if (prec == 0 && u == 0)
            {
                sb.Append(' ', f.WidPresent ? f.Wid : 0);
                return;
            }
        }
        else if (f.Zero && f.WidPresent)
        {
            prec = f.Wid;
            if (negative || f.Plus || f.Space) prec--;
        }
        var body = new StringBuilder();
        if (u == 0) body.Append('0');
        while (u > 0)
        {
            body.Insert(0, digits[(int)(u % (ulong)numBase)]);
            u /= (ulong)numBase;
        }
        while (body.Length < prec) body.Insert(0, '0');
        if (f.Sharp)
        {
            switch (numBase)
            {
                case 2: body.Insert(0, "0b"); break;
                case 8: if (body[0] != '0') body.Insert(0, '0'); break;
                case 16: body.Insert(0, verb == 'X' ? "0X" : "0x"); break;
            }
        }
        if (verb == 'O') body.Insert(0, "0o");
        if (negative) body.Insert(0, '-');
        else if (f.Plus) body.Insert(0, '+');
        else if (f.Space) body.Insert(0, ' ');
        var g = f;
        g.Zero = false;
        Pad(sb, body.ToString(), g);
    }

    private static void FormatFloat(StringBuilder sb, double v, int verb, Flags f)
    {
        char fmt;
        int prec;
        switch (verb)
        {
            case 'v': fmt = 'g'; prec = -1; break;
            case 'b' or 'g' or 'G' or 'x' or 'X': fmt = (char)verb; prec = -1; break;
            case 'f':
            case 'F': fmt = 'f'; prec = 6; break;
            case 'e':
            case 'E': fmt = (char)verb; prec = 6; break;
            default:
                BadVerb(sb, verb, v);
                return;
        }
        if (f.PrecPresent) prec = f.Prec;
        string num = fmt switch
        {
            'x' or 'X' => GoFloat.FormatHex(v, fmt == 'X', prec),
            'b' => GoFloat.FormatBinary(v),
            _ => GoFloat.Format(v, fmt, prec),
        };
        char sign = '+';
        if (num[0] is '-' or '+')
        {
            sign = num[0];
            num = num[1..];
        }
        if (f.Space && sign == '+' && !f.Plus) sign = ' ';
        if (num[0] is 'I' or 'N')
        {
            // Infinities and NaN are padded with spaces, never zeros; NaN has no sign unless asked for.
            var g = f;
            g.Zero = false;
            string text = num[0] == 'N' && !f.Space && !f.Plus ? num : sign + num;
            Pad(sb, text, g);
            return;
        }
        if (f.Sharp && fmt != 'b') num = Sharpen(num, fmt, prec);
        if (f.Plus || sign != '+')
        {
            if (f.Zero && f.WidPresent && f.Wid > num.Length + 1)
            {
                sb.Append(sign).Append('0', f.Wid - num.Length - 1).Append(num);
                return;
            }
            Pad(sb, sign + num, f);
            return;
        }
        Pad(sb, num, f);
    }

    /// <summary>The <c>#</c> flag on floats (Go's <c>fmt.fmtFloat</c>): always a decimal point; %g, %v and %x keep trailing zeros up to the precision (6 by default).</summary>
    private static string Sharpen(string num, char fmt, int prec)
    {
        int digits = fmt is 'g' or 'G' or 'x' ? (prec == -1 ? 6 : prec) : 0;
        string tail = "";
        bool hasPoint = false, sawNonzero = false;
        for (int i = 0; i < num.Length; i++)
        {
            char c = num[i];
            if (c == '.')
            {
                hasPoint = true;
                continue;
            }
            if (c is 'p' or 'P' || (c is 'e' or 'E' && fmt is not ('x' or 'X')))
            {
                tail = num[i..];
                num = num[..i];
                break;
            }
            if (c != '0') sawNonzero = true;
            if (sawNonzero) digits--;
        }
        var sb = new StringBuilder(num);
        if (!hasPoint)
        {
            if (num == "0") digits--;
            sb.Append('.');
        }
        if (digits > 0) sb.Append('0', digits);
        return sb.Append(tail).ToString();
    }

    /// <summary>Go's <c>strconv.Quote</c> (or <c>QuoteToASCII</c>).</summary>
    public static string Quote(string s, bool asciiOnly)
    {
        var sb = new StringBuilder("\"");
        foreach (var r in s.EnumerateRunes()) AppendEscapedRune(sb, r, '"', asciiOnly);
        return sb.Append('"').ToString();
    }

    private static string QuoteRune(long n)
    {
        var r = IsValidRune(n) ? new Rune((int)n) : Rune.ReplacementChar;
        var sb = new StringBuilder("'");
        AppendEscapedRune(sb, r, '\'', asciiOnly: false);
        return sb.Append('\'').ToString();
    }

    private static void AppendEscapedRune(StringBuilder sb, Rune r, char quote, bool asciiOnly)
    {
        int v = r.Value;
        if (v == quote || v == '\\')
        {
            sb.Append('\\').Append((char)v);
            return;
        }
        if (asciiOnly ? v < 0x80 && IsPrint(r) : IsPrint(r))
        {
            sb.Append(r.ToString());
            return;
        }
        switch (v)
        {
            case '\a': sb.Append("\\a"); return;
            case '\b': sb.Append("\\b"); return;
            case '\f': sb.Append("\\f"); return;
            case '\n': sb.Append("\\n"); return;
            case '\r': sb.Append("\\r"); return;
            case '\t': sb.Append("\\t"); return;
            case '\v': sb.Append("\\v"); return;
        }
        if (v < ' ' || v == 0x7f) sb.Append("\\x").Append(v.ToString("x2", CultureInfo.InvariantCulture));
        else if (v < 0x10000) sb.Append("\\u").Append(v.ToString("x4", CultureInfo.InvariantCulture));
        else sb.Append("\\U").Append(v.ToString("x8", CultureInfo.InvariantCulture));
    }

    /// <summary>Go's <c>unicode.IsPrint</c>: letters, marks, numbers, punctuation, symbols and the ASCII space.</summary>
    private static bool IsPrint(Rune r)
    {
        if (r.Value == ' ') return true;
        return Rune.GetUnicodeCategory(r) switch
        {
            UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
                or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
                or UnicodeCategory.SpaceSeparator => false,
            _ => true,
        };
    }
}
