using System.Globalization;
using System.Numerics;
using System.Text;

namespace ExchangeHealth.Alerting.Rules;

/// <summary>
/// Float formatting as Go's <c>strconv.FormatFloat</c> does it (formats <c>e</c>, <c>f</c>,
/// <c>g</c>, shortest or with a precision), which is what Prometheus's templates print through
/// <c>fmt</c>: <c>%v</c> of a float64 is <c>'g'</c> with the shortest precision (<c>1e+06</c>,
/// <c>0.5</c>, <c>1.2345678e+07</c>). Rounding is round-half-even on the exact binary value, as
/// Go does (.NET's own formatting rounds ties away from zero, so it is not used for that).
/// </summary>
internal static class GoFloat
{
    /// <summary>A finite non-negative value as decimal digits (no leading or trailing zeros) and the decimal point position.</summary>
    private readonly record struct Decimal(string Digits, int Dp);

    /// <summary>
    /// Formats <paramref name="v"/> like <c>strconv.FormatFloat(v, fmt, prec, 64)</c>:
    /// <paramref name="fmt"/> is one of <c>e E f F g G</c>; <paramref name="prec"/> -1 is the shortest
    /// representation that round-trips. NaN is <c>NaN</c>, infinities <c>+Inf</c>/<c>-Inf</c>.
    /// </summary>
    public static string Format(double v, char fmt, int prec)
    {
        if (double.IsNaN(v)) return "NaN";
        if (double.IsPositiveInfinity(v)) return "+Inf";
        if (double.IsNegativeInfinity(v)) return "-Inf";
        bool neg = double.IsNegative(v);
        double abs = Math.Abs(v);
        bool shortest = prec < 0;
        Decimal d;
        char lower = char.ToLowerInvariant(fmt);
        if (shortest)
        {
            d = Shortest(abs);
            prec = lower switch
            {
                'e' => Math.Max(d.Digits.Length - 1, 0),
                'f' => Math.Max(d.Digits.Length - d.Dp, 0),
                _ => d.Digits.Length,
            };
        }
        else
        {
            d = Exact(abs);
            switch (lower)
            {
                case 'e': d = Round(d, prec + 1); break;
                case 'f': d = Round(d, d.Dp + prec); break;
                default:
                    if (prec == 0) prec = 1;
                    d = Round(d, prec);
                    break;
            }
        }

        var sb = new StringBuilder();
        if (neg) sb.Append('-');
        switch (lower)
        {
            case 'e':
                AppendE(sb, d, prec, fmt);
                break;
            case 'f':
                AppendF(sb, d, prec);
                break;
            default:
                int eprec = prec;
                if (eprec > d.Digits.Length && d.Digits.Length >= d.Dp) eprec = d.Digits.Length;
                // %e is used if the exponent is below -4 or at least the precision; the shortest
                // form decides with precision 6 (as strconv does).
                if (shortest) eprec = 6;
                int exp = d.Dp - 1;
                if (exp < -4 || exp >= eprec)
                {
                    if (prec > d.Digits.Length) prec = d.Digits.Length;
                    AppendE(sb, d, prec - 1, fmt == 'G' ? 'E' : 'e');
                }
                else
                {
                    if (prec > d.Dp) prec = d.Digits.Length;
                    AppendF(sb, d, Math.Max(prec - d.Dp, 0));
                }
                break;
        }
        return sb.ToString();
    }

    /// <summary>
    /// <c>strconv.FormatFloat(v, 'x' or 'X', prec, 64)</c>: <c>-0x1.yyyyp±dd</c>, shortest when
    /// <paramref name="prec"/> is -1, else rounded to <paramref name="prec"/> hex digits (ties to even).
    /// </summary>
    public static string FormatHex(double v, bool upper, int prec)
    {
        if (double.IsNaN(v)) return "NaN";
        if (double.IsInfinity(v)) return v > 0 ? "+Inf" : "-Inf";
        var (neg, mant, exp) = Decompose(v);
        if (mant == 0) exp = 0;
        // Leading 1 (if any) at bit 60.
        mant <<= 60 - 52;
        while (mant != 0 && (mant & (1UL << 60)) == 0)
        {
            mant <<= 1;
            exp--;
        }
        if (prec is >= 0 and < 15)
        {
            int shift = prec * 4;
            ulong extra = (mant << shift) & ((1UL << 60) - 1);
            mant >>= 60 - shift;
            if ((extra | (mant & 1)) > 1UL << 59) mant++;
            mant <<= 60 - shift;
            if ((mant & (1UL << 61)) != 0)
            {
                mant >>= 1;
                exp++;
            }
        }
        string hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
        var sb = new StringBuilder();
        if (neg) sb.Append('-');
        sb.Append('0').Append(upper ? 'X' : 'x').Append((char)('0' + (int)((mant >> 60) & 1)));
        mant <<= 4;
        if (prec < 0 && mant != 0)
        {
            sb.Append('.');
            while (mant != 0)
            {
                sb.Append(hex[(int)((mant >> 60) & 15)]);
                mant <<= 4;
            }
        }
        else if (prec > 0)
        {
            sb.Append('.');
            for (int i = 0; i < prec; i++)
            {
                sb.Append(hex[(int)((mant >> 60) & 15)]);
                mant <<= 4;
            }
        }
        sb.Append(upper ? 'P' : 'p').Append(exp < 0 ? '-' : '+');
        exp = Math.Abs(exp);
        sb.Append(exp < 10 ? "0" + exp.ToString(CultureInfo.InvariantCulture) : exp.ToString(CultureInfo.InvariantCulture));
        return sb.ToString();
    }

    /// <summary><c>strconv.FormatFloat(v, 'b', -1, 64)</c>: the mantissa and binary exponent, <c>-ddddp±ddd</c>.</summary>
    public static string FormatBinary(double v)
    {
        if (double.IsNaN(v)) return "NaN";
        if (double.IsInfinity(v)) return v > 0 ? "+Inf" : "-Inf";
        var (neg, mant, exp) = Decompose(v);
        int e = exp - 52;
        return (neg ? "-" : "") + mant.ToString(CultureInfo.InvariantCulture) + "p" + (e >= 0 ? "+" : "") + e.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Sign, 53-bit mantissa (implicit bit included) and unbiased exponent as strconv's <c>FormatFloat</c> computes them.</summary>
    private static (bool Neg, ulong Mant, int Exp) Decompose(double v)
    {
        ulong bits = BitConverter.DoubleToUInt64Bits(v);
        bool neg = bits >> 63 != 0;
        int exp = (int)(bits >> 52) & 0x7FF;
        ulong mant = bits & ((1UL << 52) - 1);
        if (exp == 0) exp++;
        else mant |= 1UL << 52;
        return (neg, mant, exp - 1023);
    }

    /// <summary>Go's <c>%v</c> of a float64 (<c>strconv.FormatFloat(v, 'g', -1, 64)</c>).</summary>
    public static string FormatV(double v) => Format(v, 'g', -1);

    private static void AppendE(StringBuilder sb, Decimal d, int prec, char fmt)
    {
        sb.Append(d.Digits.Length == 0 ? '0' : d.Digits[0]);
        if (prec > 0)
        {
            sb.Append('.');
            for (int i = 1; i <= prec; i++) sb.Append(i < d.Digits.Length ? d.Digits[i] : '0');
        }
        sb.Append(fmt is 'E' or 'G' ? 'E' : 'e');
        int exp = d.Digits.Length == 0 ? 0 : d.Dp - 1;
        sb.Append(exp < 0 ? '-' : '+');
        exp = Math.Abs(exp);
        if (exp < 10) sb.Append('0');
        sb.Append(exp.ToString(CultureInfo.InvariantCulture));
    }

    private static void AppendF(StringBuilder sb, Decimal d, int prec)
    {
        if (d.Dp > 0)
        {
            for (int i = 0; i < d.Dp; i++) sb.Append(i < d.Digits.Length ? d.Digits[i] : '0');
        }
        else
        {
            sb.Append('0');
        }
        if (prec > 0)
        {
            sb.Append('.');
            for (int i = 1; i <= prec; i++)
            {
                int j = d.Dp + i - 1;
                sb.Append(j >= 0 && j < d.Digits.Length ? d.Digits[j] : '0');
            }
        }
    }

    /// <summary>The shortest digits that read back as <paramref name="abs"/> (.NET's "R" is shortest-round-trip since .NET Core 3.0).</summary>
    private static Decimal Shortest(double abs)
    {
        if (abs == 0) return new Decimal("", 0);
        string s = abs.ToString("R", CultureInfo.InvariantCulture);
        int e = s.IndexOfAny(['E', 'e']);
        int exp10 = 0;
        string mantissa = s;
        if (e >= 0)
        {
            exp10 = int.Parse(s.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            mantissa = s[..e];
        }
        int dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        string intPart = dot >= 0 ? mantissa[..dot] : mantissa;
        string fracPart = dot >= 0 ? mantissa[(dot + 1)..] : "";
        string all = intPart + fracPart;
        int dp = intPart.Length + exp10;
        int lead = 0;
        while (lead < all.Length && all[lead] == '0') lead++;
        all = all[lead..];
        dp -= lead;
        return new Decimal(all.TrimEnd('0'), dp);
    }

    /// <summary>The exact decimal expansion of a finite non-negative double.</summary>
    private static Decimal Exact(double abs)
    {
        if (abs == 0) return new Decimal("", 0);
        long bits = BitConverter.DoubleToInt64Bits(abs);
        int rawExp = (int)((bits >> 52) & 0x7FF);
        long mant = bits & 0xFFFFFFFFFFFFFL;
        int exp2;
        if (rawExp == 0) exp2 = -1074;
        else { mant |= 1L << 52; exp2 = rawExp - 1075; }
        string digits;
        int dp;
        if (exp2 >= 0)
        {
            digits = (new BigInteger(mant) << exp2).ToString(CultureInfo.InvariantCulture);
            dp = digits.Length;
        }
        else
        {
            // mant * 2^exp2 = mant * 5^-exp2 / 10^-exp2
            digits = (new BigInteger(mant) * BigInteger.Pow(5, -exp2)).ToString(CultureInfo.InvariantCulture);
            dp = digits.Length + exp2;
        }
        return new Decimal(digits.TrimEnd('0'), dp);
    }

    /// <summary>Rounds an exact expansion to <paramref name="nd"/> leading digits, ties to even (Go's <c>decimal.Round</c>).</summary>
    private static Decimal Round(Decimal d, int nd)
    {
        if (nd < 0 || nd >= d.Digits.Length) return d;
        bool up;
        char next = d.Digits[nd];
        if (next == '5' && nd + 1 == d.Digits.Length)
            up = nd > 0 && (d.Digits[nd - 1] - '0') % 2 == 1;
        else
            up = next >= '5';
        if (!up) return new Decimal(d.Digits[..nd].TrimEnd('0'), d.Digits[..nd].TrimEnd('0').Length == 0 ? 0 : d.Dp);
        var chars = d.Digits[..nd].ToCharArray();
        int i = nd - 1;
        while (i >= 0 && chars[i] == '9') i--;
        if (i < 0) return new Decimal("1", d.Dp + 1);
        chars[i]++;
        return new Decimal(new string(chars, 0, i + 1), d.Dp);
    }
}
