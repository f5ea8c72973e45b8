using System.Globalization;
using System.Text;
using ExchangeHealth.Engine;

namespace ExchangeHealth.TestKit;

/// <summary>Field-by-field comparison and full-text dumps of execution reports and commands.</summary>
public static class ReportComparison
{
    /// <summary>
    /// The first field in which <paramref name="expected"/> and <paramref name="actual"/> differ,
    /// as <c>Field: expected=.. actual=..</c>, or null when every field is equal.
    /// </summary>
    public static string? FirstDifference(in ExecutionReport expected, in ExecutionReport actual)
    {
        foreach (var (name, e, a) in Fields(expected, actual))
        {
            if (e != a) return $"{name}: expected={e} actual={a}";
        }
        return null;
    }

    /// <summary>
    /// Compares two report sequences field by field.
    /// </summary>
    /// <returns>null when equal, else a description of the first difference with both sequences.</returns>
    public static string? CompareSequences(IReadOnlyList<ExecutionReport> expected, IReadOnlyList<ExecutionReport> actual)
    {
        int n = Math.Max(expected.Count, actual.Count);
        for (int i = 0; i < n; i++)
        {
            string? diff = i >= expected.Count ? "unexpected extra report"
                : i >= actual.Count ? "missing report"
                : FirstDifference(expected[i], actual[i]);
            if (diff is null) continue;
            var sb = new StringBuilder();
            sb.Append(CultureInfo.InvariantCulture, $"report #{i}: {diff}").AppendLine();
            sb.AppendLine("expected (reference model):");
            foreach (var r in expected) sb.Append("  ").AppendLine(Describe(r));
            sb.AppendLine("actual (matching engine):");
            foreach (var r in actual) sb.Append("  ").AppendLine(Describe(r));
            return sb.ToString();
        }
        return null;
    }

    /// <summary>Every field of <paramref name="report"/> as text.</summary>
    public static string Describe(in ExecutionReport report)
    {
        var sb = new StringBuilder();
        foreach (var (name, value, _) in Fields(report, report))
        {
            if (sb.Length > 0) sb.Append(' ');
            sb.Append(name).Append('=').Append(value);
        }
        return sb.ToString();
    }

    /// <summary>A command as C# source that rebuilds it (for pasting a counterexample into a test).</summary>
    public static string ToSource(in Command c) => string.Create(CultureInfo.InvariantCulture,
        $"new Command {{ Sequence = new SequenceNumber({c.Sequence.Value}), Timestamp = {c.Timestamp}, Type = {EnumSource(c.Type)}, " +
        $"MarketId = {c.MarketId}, Side = {EnumSource(c.Side)}, OrderType = {EnumSource(c.OrderType)}, TimeInForce = {EnumSource(c.TimeInForce)}, " +
        $"Flags = {EnumSource(c.Flags)}, State = {EnumSource(c.State)}, AccountId = {c.AccountId}, OrderId = {c.OrderId}, " +
        $"Price = new Price({c.Price.Units}), Quantity = new Quantity({c.Quantity.Units}) }},");

    private static string EnumSource<T>(T value) where T : struct, Enum =>
        Enum.IsDefined(value)
            ? typeof(T).Name + "." + value
            : "(" + typeof(T).Name + ")" + Convert.ToInt64(value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture);

    private static IEnumerable<(string Name, string Expected, string Actual)> Fields(ExecutionReport e, ExecutionReport a)
    {
        yield return ("Type", e.Type.ToString(), a.Type.ToString());
        yield return ("Sequence", e.Sequence.ToString(), a.Sequence.ToString());
        yield return ("Timestamp", Num(e.Timestamp), Num(a.Timestamp));
        yield return ("MarketId", Num(e.MarketId), Num(a.MarketId));
        yield return ("OrderId", Num(e.OrderId), Num(a.OrderId));
        yield return ("AccountId", Num(e.AccountId), Num(a.AccountId));
        yield return ("Side", e.Side.ToString(), a.Side.ToString());
        yield return ("Price", e.Price.ToString(), a.Price.ToString());
        yield return ("Quantity", e.Quantity.ToString(), a.Quantity.ToString());
        yield return ("LeavesQuantity", e.LeavesQuantity.ToString(), a.LeavesQuantity.ToString());
        yield return ("TradeId", Num(e.TradeId), Num(a.TradeId));
        yield return ("CounterOrderId", Num(e.CounterOrderId), Num(a.CounterOrderId));
        yield return ("CounterAccountId", Num(e.CounterAccountId), Num(a.CounterAccountId));
        yield return ("Liquidity", e.Liquidity.ToString(), a.Liquidity.ToString());
        yield return ("RejectReason", e.RejectReason.ToString(), a.RejectReason.ToString());
        yield return ("CancelReason", e.CancelReason.ToString(), a.CancelReason.ToString());
        yield return ("State", e.State.ToString(), a.State.ToString());
        yield return ("CommandType", e.CommandType.ToString(), a.CommandType.ToString());
    }

    private static string Num(long value) => value.ToString(CultureInfo.InvariantCulture);
}
