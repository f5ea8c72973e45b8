namespace ExchangeHealth.Engine.Workload;

/// <summary>What a <see cref="WorkloadGenerator"/> has generated so far, and what the shadow engine made of it.</summary>
public sealed record WorkloadStats
{
    /// <summary>Commands emitted by <see cref="WorkloadGenerator.PreFill"/>.</summary>
    public long PreFillCommands { get; init; }

    /// <summary>Pre-fill commands the shadow engine rejected.</summary>
    public long PreFillRejects { get; init; }

    /// <summary>Steady-state commands emitted (<see cref="WorkloadGenerator.Next"/>).</summary>
    public long Commands { get; init; }

    /// <summary>Steady-state commands the shadow engine rejected.</summary>
    public long Rejects { get; init; }

    /// <summary>Steady-state commands by <see cref="WorkloadCommandKind"/> (index = kind value), as emitted.</summary>
    public IReadOnlyList<long> KindCounts { get; init; } = [];

    /// <summary>New GTC orders priced through the spread (part of the GTC count).</summary>
    public long CrossingGoodTillCancel { get; init; }

    /// <summary>Trades executed by the shadow engine, pre-fill included.</summary>
    public long Trades { get; init; }

    /// <summary>Execution reports produced by the shadow engine, pre-fill included.</summary>
    public long Reports { get; init; }

    /// <summary>Resting orders now, over all markets.</summary>
    public int RestingOrders { get; init; }

    /// <summary>The configured target of resting orders.</summary>
    public int TargetRestingOrders { get; init; }

    /// <summary>Fewest resting orders seen after any steady-state command.</summary>
    public int MinRestingOrders { get; init; }

    /// <summary>Most resting orders seen after any steady-state command.</summary>
    public int MaxRestingOrders { get; init; }

    /// <summary>Price levels (bid plus ask) now, over the generated markets.</summary>
    public int PriceLevels { get; init; }

    /// <summary>Share (0..1) of steady-state commands rejected.</summary>
    public double RejectShare => Commands == 0 ? 0 : (double)Rejects / Commands;

    /// <summary>Number of steady-state commands of <paramref name="kind"/>.</summary>
    public long CountOf(WorkloadCommandKind kind) => (int)kind < KindCounts.Count ? KindCounts[(int)kind] : 0;

    /// <summary>Share (0..1) of steady-state commands of <paramref name="kind"/>.</summary>
    public double ShareOf(WorkloadCommandKind kind) => Commands == 0 ? 0 : (double)CountOf(kind) / Commands;

    /// <summary>Trades per steady-state command (approximate: trades include the pre-fill's, normally none).</summary>
    public double TradesPerCommand => Commands == 0 ? 0 : (double)Trades / Commands;
}

/// <summary>
/// A generated workload ready to replay: the pre-fill, then the steady-state commands, plus what
/// the generator's shadow engine saw, to check a replay against.
/// </summary>
/// <param name="Markets">The markets the commands are for (create the replaying engine with these).</param>
/// <param name="PreFill">Commands that build the initial book; replay them first.</param>
/// <param name="Commands">The steady-state commands.</param>
/// <param name="Stats">Generation statistics.</param>
/// <param name="PreFillReports">Execution reports the shadow engine produced for the pre-fill.</param>
/// <param name="CommandReports">Execution reports the shadow engine produced for the steady-state commands.</param>
/// <param name="FinalStateHash">The shadow engine's <see cref="MatchingEngine.ComputeStateHash"/> after all commands.</param>
public sealed record Workload(
    IReadOnlyList<MarketDefinition> Markets,
    Command[] PreFill,
    Command[] Commands,
    WorkloadStats Stats,
    long PreFillReports,
    long CommandReports,
    string FinalStateHash)
{
    /// <summary>Generates a pre-fill and <paramref name="commands"/> steady-state commands.</summary>
    /// <param name="options">Generator options (default: the defaults of <see cref="WorkloadOptions"/>).</param>
    /// <param name="commands">Number of steady-state commands.</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="commands"/> is negative.</exception>
    public static Workload Create(WorkloadOptions? options, int commands)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(commands);
        var generator = new WorkloadGenerator(options);
        Command[] preFill = generator.PreFill();
        long afterPreFill = generator.LiveOrders.Reports;
        Command[] stream = generator.Generate(commands);
        return new Workload(generator.Markets, preFill, stream, generator.Stats, afterPreFill,
            generator.LiveOrders.Reports - afterPreFill, generator.ShadowEngine.ComputeStateHash());
    }
}
