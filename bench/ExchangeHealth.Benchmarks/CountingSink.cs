using ExchangeHealth.Engine;

namespace ExchangeHealth.Benchmarks;

/// <summary>
/// The benchmark's report sink: counts reports and nothing else, so the measurement is of the
/// matcher (the interface call per report is part of the engine's contract and stays in).
/// </summary>
public sealed class CountingSink : IExecutionReportSink
{
    /// <summary>Reports received since creation or the last <see cref="Reset"/>.</summary>
    public long Count { get; private set; }

    /// <inheritdoc/>
    public void OnReport(in ExecutionReport report) => Count++;

    /// <summary>Sets <see cref="Count"/> to 0.</summary>
    public void Reset() => Count = 0;
}
