namespace ExchangeHealth.Engine.Workload;

/// <summary>
/// Relative weights of the command kinds in the steady-state stream (after the pre-fill). Weights
/// are non-negative and need not sum to 1; each is divided by their sum.
/// </summary>
/// <remarks>
/// The default follows the mix exchange-core publishes for its single-symbol benchmark (its
/// <c>TestOrdersGenerator</c>: about 9 % GTC, 3 % IOC, 6 % cancel, 82 % move), with a little of the
/// IOC share given to FOK and of the move share to quantity reductions, which our engine supports
/// as amends too.
/// </remarks>
public sealed record CommandMix
{
    /// <summary>New GTC limit orders. A share <see cref="WorkloadOptions.CrossingGtcShare"/> of them is priced through the spread.</summary>
    public double GoodTillCancel { get; init; } = 0.09;

    /// <summary>New IOC limit orders priced at or a few ticks through the best opposite price.</summary>
    public double ImmediateOrCancel { get; init; } = 0.025;

    /// <summary>New FOK limit orders priced at or a few ticks through the best opposite price; some are killed.</summary>
    public double FillOrKill { get; init; } = 0.005;

    /// <summary>New market orders (IOC); default none.</summary>
    public double Market { get; init; }

    /// <summary>Cancels of a live order picked uniformly at random.</summary>
    public double Cancel { get; init; } = 0.06;

    /// <summary>Moves: amends of a live order's price (same quantity), drifting it toward the mid; some cross and trade.</summary>
    public double Move { get; init; } = 0.80;

    /// <summary>
    /// Reductions: amends of a live order to a smaller quantity at the same price (keeps time
    /// priority). A picked order of the minimum size cannot be reduced and is moved instead, so
    /// the emitted share is below this weight (about 1.1 % for the default 2 %).
    /// </summary>
    public double Reduce { get; init; } = 0.02;

    /// <summary>The default mix (see the remarks of <see cref="CommandMix"/>).</summary>
    public static CommandMix Default { get; } = new();

    /// <summary>Sum of the weights.</summary>
    public double Total => GoodTillCancel + ImmediateOrCancel + FillOrKill + Market + Cancel + Move + Reduce;

    /// <summary>The weight of <paramref name="kind"/>.</summary>
    public double WeightOf(WorkloadCommandKind kind) => kind switch
    {
        WorkloadCommandKind.GoodTillCancel => GoodTillCancel,
        WorkloadCommandKind.ImmediateOrCancel => ImmediateOrCancel,
        WorkloadCommandKind.FillOrKill => FillOrKill,
        WorkloadCommandKind.Market => Market,
        WorkloadCommandKind.Cancel => Cancel,
        WorkloadCommandKind.Move => Move,
        WorkloadCommandKind.Reduce => Reduce,
        _ => 0,
    };

    /// <summary>Checks the weights.</summary>
    /// <returns>null when valid, else the problem.</returns>
    public string? Validate()
    {
        foreach (var kind in WorkloadCommandKinds.All)
        {
            double w = WeightOf(kind);
            if (!(w >= 0) || double.IsInfinity(w)) return $"mix: weight of {kind} must be a finite non-negative number";
        }
        return Total > 0 ? null : "mix: at least one weight must be positive";
    }
}

/// <summary>What a generated command is, in the workload's own terms (finer than <see cref="CommandType"/>).</summary>
public enum WorkloadCommandKind : byte
{
    /// <summary>A new GTC limit order (passive or crossing).</summary>
    GoodTillCancel = 0,
    /// <summary>A new IOC limit order.</summary>
    ImmediateOrCancel = 1,
    /// <summary>A new FOK limit order.</summary>
    FillOrKill = 2,
    /// <summary>A new market order (IOC).</summary>
    Market = 3,
    /// <summary>A cancel of a live order.</summary>
    Cancel = 4,
    /// <summary>An amend changing a live order's price.</summary>
    Move = 5,
    /// <summary>An amend lowering a live order's quantity at the same price.</summary>
    Reduce = 6,
}

/// <summary>Helpers for <see cref="WorkloadCommandKind"/>.</summary>
public static class WorkloadCommandKinds
{
    /// <summary>Every kind, in value order.</summary>
    public static IReadOnlyList<WorkloadCommandKind> All { get; } =
    [
        WorkloadCommandKind.GoodTillCancel, WorkloadCommandKind.ImmediateOrCancel, WorkloadCommandKind.FillOrKill,
        WorkloadCommandKind.Market, WorkloadCommandKind.Cancel, WorkloadCommandKind.Move, WorkloadCommandKind.Reduce,
    ];

    /// <summary>Number of kinds.</summary>
    public const int Count = 7;

    /// <summary>snake_case name: <c>gtc</c>, <c>ioc</c>, <c>fok</c>, <c>market</c>, <c>cancel</c>, <c>move</c>, <c>reduce</c>.</summary>
    public static string Name(this WorkloadCommandKind kind) => kind switch
    {
        WorkloadCommandKind.GoodTillCancel => "gtc",
        WorkloadCommandKind.ImmediateOrCancel => "ioc",
        WorkloadCommandKind.FillOrKill => "fok",
        WorkloadCommandKind.Market => "market",
        WorkloadCommandKind.Cancel => "cancel",
        WorkloadCommandKind.Move => "move",
        WorkloadCommandKind.Reduce => "reduce",
        _ => "unknown",
    };
}

/// <summary>
/// Configuration of a <see cref="WorkloadGenerator"/>. All prices and quantities the generator
/// emits respect each market's tick, lot, minimum/maximum quantity, maximum price and collar.
/// </summary>
public sealed record WorkloadOptions
{
    /// <summary>Seed of the pseudo-random stream: the same options give the same commands, always.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>The configured markets (default: the embedded <see cref="MarketsFile.Default"/>).</summary>
    public IReadOnlyList<MarketDefinition>? Markets { get; init; }

    /// <summary>Ids of the markets that receive orders (default: market 1, BTC/USD). Each must be in <see cref="Markets"/>.</summary>
    public IReadOnlyList<ushort> MarketIds { get; init; } = [1];

    /// <summary>Number of trading accounts, ids <see cref="FirstAccountId"/> .. <see cref="FirstAccountId"/> + n - 1 (default 1,000, as exchange-core).</summary>
    public int Accounts { get; init; } = 1_000;

    /// <summary>Id of the first account.</summary>
    public long FirstAccountId { get; init; } = 1;

    /// <summary>Id of the first order; ids then increase by one per new order and are never reused.</summary>
    public long FirstOrderId { get; init; } = 1;

    /// <summary>
    /// Resting orders to build up in the pre-fill and to keep in steady state, over all markets
    /// (split evenly). Default 1,000, as exchange-core's benchmark.
    /// </summary>
    public int TargetRestingOrders { get; init; } = 1_000;

    /// <summary>
    /// Relative band around <see cref="TargetRestingOrders"/> inside which the mix is left alone;
    /// outside it cancels turn into passive GTC orders (too few) or passive GTC orders into cancels (too many).
    /// Default 0.05 (±5 %).
    /// </summary>
    public double RestingOrdersTolerance { get; init; } = 0.05;

    /// <summary>
    /// How far from the mid, in ticks, passive orders are placed: distance <c>1 + floor(spread * u^2)</c>
    /// with <c>u</c> uniform in [0, 1), so orders cluster near the touch with a long tail over many levels.
    /// Capped per market at a quarter of the collar width. Default 1,500 ticks.
    /// </summary>
    public int PriceSpreadTicks { get; init; } = 1_500;

    /// <summary>Share of the new GTC orders that are priced through the spread (they trade, then rest any remainder). Default 0.2.</summary>
    public double CrossingGtcShare { get; init; } = 0.2;

    /// <summary>Largest number of ticks an aggressive order is priced beyond the best opposite price. Default 3.</summary>
    public int AggressionTicks { get; init; } = 3;

    /// <summary>
    /// Fraction of the distance to the mid that a move covers (plus a jitter of up to
    /// <see cref="MoveJitterTicks"/> ticks either way). Default 0.01, as exchange-core's moves.
    /// </summary>
    public double MoveTowardMid { get; init; } = 0.01;

    /// <summary>Random extra ticks, either way, added to each move. Default 3.</summary>
    public int MoveJitterTicks { get; init; } = 3;

    /// <summary>
    /// Order size in lots is <c>1 + a*b*c</c> with <c>a, b, c</c> uniform in 0..<see cref="MaxSizeFactor"/>:
    /// mostly small with a few large orders (exchange-core's sizes; default 5 gives 1..126 lots).
    /// </summary>
    public int MaxSizeFactor { get; init; } = 5;

    /// <summary>
    /// When the last trade price has moved more than this fraction away from the market's reference
    /// price, aggressive orders lean (3:1) toward the side that brings it back. Default 0.01 (1 %).
    /// </summary>
    public double PriceDriftBand { get; init; } = 0.01;

    /// <summary>The command mix of the steady-state stream.</summary>
    public CommandMix Mix { get; init; } = CommandMix.Default;

    /// <summary>Checks the options.</summary>
    /// <returns>null when valid, else the first problem, naming the option.</returns>
    public string? Validate()
    {
        if (Accounts < 1) return "accounts: must be at least 1";
        if (TargetRestingOrders < 0) return "target_resting_orders: must not be negative";
        if (MarketIds.Count == 0) return "market_ids: at least one market is needed";
        if (!(RestingOrdersTolerance >= 0)) return "resting_orders_tolerance: must not be negative";
        if (PriceSpreadTicks < 1) return "price_spread_ticks: must be at least 1";
        if (!(CrossingGtcShare >= 0 && CrossingGtcShare <= 1)) return "crossing_gtc_share: must be in [0, 1]";
        if (AggressionTicks < 0) return "aggression_ticks: must not be negative";
        if (!(MoveTowardMid >= 0 && MoveTowardMid <= 1)) return "move_toward_mid: must be in [0, 1]";
        if (MoveJitterTicks < 0) return "move_jitter_ticks: must not be negative";
        if (MaxSizeFactor < 0 || MaxSizeFactor > 1_000) return "max_size_factor: must be in 0..1000";
        if (!(PriceDriftBand >= 0)) return "price_drift_band: must not be negative";
        if (FirstOrderId < 1) return "first_order_id: must be positive";
        return Mix.Validate();
    }
}
