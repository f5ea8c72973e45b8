namespace ExchangeHealth.Engine.Replay;

/// <summary>
/// An order-flow file is malformed at a known place. <see cref="Exception.Message"/> reads
/// <c>file:line: reason</c> or <c>file:line:column: reason</c>, like a compiler diagnostic.
/// </summary>
/// <remarks>
/// Sources throw it from <see cref="IOrderFlowSource.ReadNext"/> before emitting any command of the
/// bad record, so everything before the bad record has been replayed and stays counted.
/// </remarks>
public sealed class ReplayFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="file">The file as named by the user.</param>
    /// <param name="line">1-based line; 0 when the whole file is at fault.</param>
    /// <param name="column">1-based column (a CSV field number, or a character position in JSON); 0 when unknown.</param>
    /// <param name="reason">What is wrong, in the words of the format (e.g. <c>price: 'abc' is not a number</c>).</param>
    public ReplayFormatException(string file, long line, int column, string reason)
        : base(Describe(file, line, column, reason))
    {
        File = file;
        Line = line;
        Column = column;
        Reason = reason;
    }

    /// <summary>The file as named by the user.</summary>
    public string File { get; }

    /// <summary>1-based line, or 0 when the whole file is at fault.</summary>
    public long Line { get; }

    /// <summary>1-based column, or 0 when unknown.</summary>
    public int Column { get; }

    /// <summary>What is wrong.</summary>
    public string Reason { get; }

    private static string Describe(string file, long line, int column, string reason)
    {
        if (line <= 0) return $"{file}: {reason}";
        return column > 0 ? $"{file}:{line}:{column}: {reason}" : $"{file}:{line}: {reason}";
    }
}
