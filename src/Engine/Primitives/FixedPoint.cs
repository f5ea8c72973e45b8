using System.Globalization;

namespace ExchangeHealth.Engine.Primitives;

/// <summary>
/// Exact conversion between decimal text and fixed-point integers: a value <c>v</c> with scale
/// <c>s</c> is the integer <c>v * 10^s</c>. Never goes through <see cref="double"/>.
/// </summary>
public static class FixedPoint
{
    /// <summary>The largest scale accepted (10^18 still fits in <see cref="long"/>).</summary>
    public const int MaxScale = 18;

    private static readonly long[] Pow10 = BuildPowers();

    /// <summary>Returns <c>10^scale</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="scale"/> is outside 0..18.</exception>
    public static long PowerOfTen(int scale)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(scale);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(scale, MaxScale);
        return Pow10[scale];
    }

    /// <summary>
    /// Parses decimal text (optional sign, digits, optional fraction, optional exponent such as
    /// <c>1e-05</c>) into <c>value * 10^scale</c>.
    /// </summary>
    /// <param name="text">The text, without surrounding whitespace.</param>
    /// <param name="scale">Number of decimal places of the integer representation, 0..18.</param>
    /// <param name="units">The scaled integer.</param>
    /// <param name="error">Why parsing failed: malformed, too many decimals, or overflow.</param>
    /// <returns><see langword="true"/> when the text is a number exactly representable at <paramref name="scale"/>.</returns>
    public static bool TryParse(ReadOnlySpan<char> text, int scale, out long units, out FixedPointError error)
    {
        units = 0;
        error = FixedPointError.None;
        if ((uint)scale > MaxScale) { error = FixedPointError.Malformed; return false; }
        int i = 0;
        bool negative = false;
        if (i < text.Length && (text[i] == '-' || text[i] == '+')) { negative = text[i] == '-'; i++; }

        // Collect the significant digits into a 128-bit mantissa and track the decimal exponent.
        Int128 mantissa = 0;
        int exponent = 0;
        int digits = 0;
        bool seenPoint = false;
        bool mantissaOverflow = false;
        for (; i < text.Length; i++)
        {
            char c = text[i];
            if (c >= '0' && c <= '9')
            {
                digits++;
                if (mantissa > Int128.MaxValue / 100)
                {
                    // Further digits only matter if non-zero; they make the value inexact or huge.
                    if (c != '0') mantissaOverflow = true;
                    if (!seenPoint) exponent++;
                    continue;
                }
                mantissa = mantissa * 10 + (c - '0');
                if (seenPoint) exponent--;
            }
            else if (c == '.' && !seenPoint) seenPoint = true;
            else break;
        }
        if (digits == 0) { error = FixedPointError.Malformed; return false; }
        if (i < text.Length)
        {
            if (text[i] != 'e' && text[i] != 'E') { error = FixedPointError.Malformed; return false; }
            if (!int.TryParse(text[(i + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int e) || e > 400 || e < -400)
            {
                error = FixedPointError.Malformed;
                return false;
            }
            exponent += e;
        }
        if (mantissaOverflow) { error = FixedPointError.Overflow; return false; }

        int shift = exponent + scale;
        if (mantissa == 0) { units = 0; return true; }
        if (shift < 0)
        {
            // Drop trailing zeros; any non-zero digit below the scale is an inexact value.
            while (shift < 0)
            {
                var (q, r) = Int128.DivRem(mantissa, 10);
                if (r != 0) { error = FixedPointError.TooManyDecimals; return false; }
                mantissa = q;
                shift++;
            }
        }
        while (shift > 0)
        {
            if (mantissa > long.MaxValue) { error = FixedPointError.Overflow; return false; }
            mantissa *= 10;
            shift--;
        }
        if (mantissa > long.MaxValue) { error = FixedPointError.Overflow; return false; }
        units = negative ? -(long)mantissa : (long)mantissa;
        return true;
    }

    /// <summary>Parses like <see cref="TryParse(ReadOnlySpan{char}, int, out long, out FixedPointError)"/>.</summary>
    /// <exception cref="FormatException">The text is malformed, has more decimals than <paramref name="scale"/>, or overflows.</exception>
    public static long Parse(ReadOnlySpan<char> text, int scale)
    {
        if (TryParse(text, scale, out long units, out var error)) return units;
        throw new FormatException($"'{text.ToString()}' is not a decimal number with at most {scale} decimals ({Describe(error)}).");
    }

    /// <summary>Formats <paramref name="units"/> with <paramref name="scale"/> decimals, trailing zeros removed.</summary>
    public static string Format(long units, int scale)
    {
        if (scale == 0) return units.ToString(CultureInfo.InvariantCulture);
        long pow = PowerOfTen(scale);
        bool negative = units < 0;
        UInt128 abs = negative ? (UInt128)(-(Int128)units) : (UInt128)units;
        UInt128 whole = abs / (ulong)pow;
        UInt128 frac = abs % (ulong)pow;
        string s = whole.ToString(CultureInfo.InvariantCulture);
        if (frac != 0)
        {
            string f = frac.ToString(CultureInfo.InvariantCulture).PadLeft(scale, '0').TrimEnd('0');
            s = s + "." + f;
        }
        return negative ? "-" + s : s;
    }

    /// <summary>A short human description of <paramref name="error"/>.</summary>
    public static string Describe(FixedPointError error) => error switch
    {
        FixedPointError.None => "ok",
        FixedPointError.Malformed => "not a number",
        FixedPointError.TooManyDecimals => "more decimals than the market's precision",
        FixedPointError.Overflow => "too large",
        _ => error.ToString(),
    };

    private static long[] BuildPowers()
    {
        var p = new long[MaxScale + 1];
        p[0] = 1;
        for (int i = 1; i < p.Length; i++) p[i] = p[i - 1] * 10;
        return p;
    }
}

/// <summary>Why a decimal text could not be converted to a fixed-point integer.</summary>
public enum FixedPointError
{
    /// <summary>No error.</summary>
    None,
    /// <summary>Not a decimal number.</summary>
    Malformed,
    /// <summary>Non-zero digits below the requested scale.</summary>
    TooManyDecimals,
    /// <summary>The scaled value does not fit in a signed 64-bit integer.</summary>
    Overflow,
}
