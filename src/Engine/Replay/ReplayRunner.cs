using System.Diagnostics;

namespace ExchangeHealth.Engine.Replay;

/// <summary>
/// A seam for code that must see every replayed command: the journal (<see cref="JournalingReplayHook"/>) appends here before the
/// engine processes a command; tests compare the book after each input record.
/// </summary>
/// <remarks>Both methods run on the replay thread; they must not throw.</remarks>
public interface IReplayHook
{
    /// <summary>
    /// Called before <paramref name="command"/> is processed. May set <see cref="Command.Sequence"/>
    /// and <see cref="Command.Timestamp"/> (a sequencer/journal does); must not change anything else.
    /// </summary>
    void BeforeCommand(ref Command command) { }

    /// <summary>Called after every command of input record <paramref name="recordNumber"/> was processed (see <see cref="IOrderFlowSource.RecordNumber"/>).</summary>
    void AfterRecord(long recordNumber, MatchingEngine engine) { }
}

/// <summary>Where a replay is, for progress displays.</summary>
/// <param name="Records">Input records read.</param>
/// <param name="Commands">Commands processed.</param>
/// <param name="BytesRead">Bytes of the file read.</param>
/// <param name="TotalBytes">Size of the file (0 if unknown).</param>
/// <param name="Elapsed">Time since the replay started.</param>
public readonly record struct ReplayProgress(long Records, long Commands, long BytesRead, long TotalBytes, TimeSpan Elapsed)
{
    /// <summary>Fraction of the file read, 0..1 (0 when the size is unknown).</summary>
    public double Fraction => TotalBytes > 0 ? Math.Clamp((double)BytesRead / TotalBytes, 0, 1) : 0;
}

/// <summary>Options of a <see cref="ReplayRunner"/>.</summary>
public sealed record ReplayOptions
{
    /// <summary>Sees every command before it is processed and the engine after every record; null for none.</summary>
    public IReplayHook? Hook { get; init; }

    /// <summary>Called on the replay thread at most every <see cref="ProgressInterval"/>, and once at the end; null for none.</summary>
    public Action<ReplayProgress>? Progress { get; init; }

    /// <summary>Least time between two <see cref="Progress"/> calls (default 250 ms).</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Receives every execution report after it was counted; null to only count.</summary>
    public IExecutionReportSink? ReportSink { get; init; }
}

/// <summary>
/// Feeds an <see cref="IOrderFlowSource"/> to a fresh <see cref="MatchingEngine"/> built from the
/// source's markets, counts the execution reports, measures throughput and returns a
/// <see cref="ReplaySummary"/>.
/// </summary>
/// <remarks>
/// A malformed record stops the replay: everything before it stays applied and counted, and the
/// summary carries the error (<see cref="ReplaySummary.Error"/>); <see cref="Run"/> does not throw
/// for bad input. Cancellation likewise returns the summary so far.
/// </remarks>
public sealed class ReplayRunner
{
    private const int ProgressCheckEvery = 256;

    private readonly IOrderFlowSource _source;
    private readonly ReplayOptions _options;
    private readonly CountingReportSink _counts;

    /// <summary>Creates a runner and its engine.</summary>
    /// <exception cref="ArgumentException">The source's markets are invalid.</exception>
    public ReplayRunner(IOrderFlowSource source, ReplayOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        _source = source;
        _options = options ?? new ReplayOptions();
        _counts = new CountingReportSink(_options.ReportSink);
        Engine = new MatchingEngine(source.Markets, _counts);
    }

    /// <summary>The engine the commands are applied to (inspect it after <see cref="Run"/>).</summary>
    public MatchingEngine Engine { get; }

    /// <summary>The report counts so far.</summary>
    public CountingReportSink Counts => _counts;

    /// <summary>Replays the whole source (or up to a malformed record, or cancellation).</summary>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public ReplaySummary Run(CancellationToken cancellationToken = default)
    {
        var batch = new CommandBatch();
        IReplayHook? hook = _options.Hook;
        Action<ReplayProgress>? progress = _options.Progress;
        long progressEvery = Math.Max(1, (long)(_options.ProgressInterval.TotalSeconds * Stopwatch.Frequency));
        long records = 0;
        long commands = 0;
        long engineTicks = 0;
        ReplayFormatException? error = null;
        bool cancelled = false;
        long start = Stopwatch.GetTimestamp();
        long nextProgress = start + progressEvery;
        try
        {
            while (_source.ReadNext(batch))
            {
                for (int i = 0; i < batch.Count; i++)
                {
                    ref Command c = ref batch[i];
                    hook?.BeforeCommand(ref c);
                    long t0 = Stopwatch.GetTimestamp();
                    Engine.Process(ref c);
                    engineTicks += Stopwatch.GetTimestamp() - t0;
                }
                commands += batch.Count;
                records++;
                hook?.AfterRecord(_source.RecordNumber, Engine);
                if (records % ProgressCheckEvery == 0)
                {
                    if (cancellationToken.IsCancellationRequested)
                    {
                        cancelled = true;
                        break;
                    }
                    long now = Stopwatch.GetTimestamp();
                    if (progress is not null && now >= nextProgress)
                    {
                        nextProgress = now + progressEvery;
                        progress(new ReplayProgress(records, commands, _source.BytesRead, _source.TotalBytes, Stopwatch.GetElapsedTime(start, now)));
                    }
                }
            }
        }
        catch (ReplayFormatException e)
        {
            error = e;
        }
        TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
        progress?.Invoke(new ReplayProgress(records, commands, _source.BytesRead, _source.TotalBytes, elapsed));
        return ReplaySummary.Create(_source, Engine, _counts, records, commands, elapsed,
            TimeSpan.FromSeconds((double)engineTicks / Stopwatch.Frequency), error, cancelled);
    }
}
