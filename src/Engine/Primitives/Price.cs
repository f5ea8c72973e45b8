using System.Globalization;

namespace ExchangeHealth.Engine.Primitives;

/// <summary>
/// A price as a fixed-point integer in the market's price units (<c>10^-price_scale</c> of the
/// quote currency). A valid order price is a positive multiple of the market's tick size.
/// </summary>
/// <param name="Units">The price in price units.</param>
public readonly record struct Price(long Units) : IComparable<Price>
{
    /// <summary>Absent price (market orders, cancels).</summary>
    public static Price None => default;

    /// <inheritdoc/>
    public int CompareTo(Price other) => Units.CompareTo(other.Units);

    /// <summary>Parses decimal text at <paramref name="scale"/> decimals.</summary>
    /// <returns><see langword="false"/> when the text is malformed, too precise or too large.</returns>
    public static bool TryParse(ReadOnlySpan<char> text, int scale, out Price price)
    {
        bool ok = FixedPoint.TryParse(text, scale, out long units, out _);
        price = new Price(units);
        return ok;
    }

    /// <summary>Formats the price as decimal text with <paramref name="scale"/> decimals.</summary>
    public string ToString(int scale) => FixedPoint.Format(Units, scale);

    /// <inheritdoc/>
    public override string ToString() => Units.ToString(CultureInfo.InvariantCulture);

    /// <summary>Compares two prices.</summary>
    public static bool operator <(Price a, Price b) => a.Units < b.Units;
    /// <summary>Compares two prices.</summary>
    public static bool operator >(Price a, Price b) => a.Units > b.Units;
    /// <summary>Compares two prices.</summary>
    public static bool operator <=(Price a, Price b) => a.Units <= b.Units;
    /// <summary>Compares two prices.</summary>
    public static bool operator >=(Price a, Price b) => a.Units >= b.Units;
}

/// <summary>
/// A quantity as a fixed-point integer in the market's quantity units (<c>10^-quantity_scale</c> of
/// the base asset). A valid order quantity is a positive multiple of the market's lot size.
/// </summary>
/// <param name="Units">The quantity in quantity units.</param>
public readonly record struct Quantity(long Units) : IComparable<Quantity>
{
    /// <summary>Zero.</summary>
    public static Quantity Zero => default;

    /// <inheritdoc/>
    public int CompareTo(Quantity other) => Units.CompareTo(other.Units);

    /// <summary>Parses decimal text at <paramref name="scale"/> decimals.</summary>
    /// <returns><see langword="false"/> when the text is malformed, too precise or too large.</returns>
    public static bool TryParse(ReadOnlySpan<char> text, int scale, out Quantity quantity)
    {
        bool ok = FixedPoint.TryParse(text, scale, out long units, out _);
        quantity = new Quantity(units);
        return ok;
    }

    /// <summary>Formats the quantity as decimal text with <paramref name="scale"/> decimals.</summary>
    public string ToString(int scale) => FixedPoint.Format(Units, scale);

    /// <inheritdoc/>
    public override string ToString() => Units.ToString(CultureInfo.InvariantCulture);

    /// <summary>Compares two quantities.</summary>
    public static bool operator <(Quantity a, Quantity b) => a.Units < b.Units;
    /// <summary>Compares two quantities.</summary>
    public static bool operator >(Quantity a, Quantity b) => a.Units > b.Units;
    /// <summary>Compares two quantities.</summary>
    public static bool operator <=(Quantity a, Quantity b) => a.Units <= b.Units;
    /// <summary>Compares two quantities.</summary>
    public static bool operator >=(Quantity a, Quantity b) => a.Units >= b.Units;
}

/// <summary>
/// The position of a command in the journal: 1 for the first command ever accepted, then
/// consecutive with no gaps. 0 means "before the first command".
/// </summary>
/// <param name="Value">The sequence number.</param>
public readonly record struct SequenceNumber(long Value) : IComparable<SequenceNumber>
{
    /// <summary>The sequence number before any command.</summary>
    public static SequenceNumber Zero => default;

    /// <summary>The next sequence number.</summary>
    public SequenceNumber Next => new(Value + 1);

    /// <inheritdoc/>
    public int CompareTo(SequenceNumber other) => Value.CompareTo(other.Value);

    /// <summary>Parses a non-negative decimal integer.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out SequenceNumber sequence)
    {
        bool ok = long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long v);
        sequence = new SequenceNumber(v);
        return ok;
    }

    /// <inheritdoc/>
    public override string ToString() => Value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Compares two sequence numbers.</summary>
    public static bool operator <(SequenceNumber a, SequenceNumber b) => a.Value < b.Value;
    /// <summary>Compares two sequence numbers.</summary>
    public static bool operator >(SequenceNumber a, SequenceNumber b) => a.Value > b.Value;
    /// <summary>Compares two sequence numbers.</summary>
    public static bool operator <=(SequenceNumber a, SequenceNumber b) => a.Value <= b.Value;
    /// <summary>Compares two sequence numbers.</summary>
    public static bool operator >=(SequenceNumber a, SequenceNumber b) => a.Value >= b.Value;
}
