using System.Globalization;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Workload;

namespace ExchangeHealth.Load.Workloads;

/// <summary>
/// The exchange-core style <see cref="WorkloadGenerator"/> as a load workload. The generator gets
/// one account per connection (generator account <c>a</c> trades on connection <c>a - 1</c>), so
/// self-trade prevention in its shadow engine matches the real engine's; its order ids become
/// client order ids of the connection's account.
/// </summary>
/// <remarks>
/// The generator's shadow engine sees the commands in the order they were generated. With several
/// connections, commands on different connections can reach the engine in another order (TCP
/// sessions are independent), so now and then a cancel or amend arrives for an order the real
/// engine has already filled and is rejected <c>unknown_order</c>; dropped sends have the same
/// effect. Such rejects are counted by reason like any other.
/// </remarks>
internal sealed class GeneratorWorkload : LoadWorkload
{
    private const int PruneEvery = 1 << 16;
    private readonly WorkloadGenerator _generator;
    private long _commands;

    public GeneratorWorkload(LoadOptions options, IReadOnlyList<MarketDefinition> markets, AccountIds[] ids)
        : base(new CommandTranslator(ids, account => (int)((account - 1) % ids.Length)))
    {
        _generator = new WorkloadGenerator(new WorkloadOptions
        {
            Seed = options.Seed,
            Markets = markets,
            MarketIds = options.GeneratorMarketIds,
            Accounts = ids.Length,
            FirstAccountId = 1,
            TargetRestingOrders = options.TargetRestingOrders,
        });
        Description = string.Create(CultureInfo.InvariantCulture,
            $"generator (exchange-core style mix; seed {options.Seed}, markets {string.Join(",", options.GeneratorMarketIds)}, {options.TargetRestingOrders:N0} resting orders target)");
    }

    public override string Description { get; }

    public override IReadOnlyList<OutboundCommand> PreFill()
    {
        var list = new List<OutboundCommand>();
        foreach (var c in _generator.PreFill())
        {
            if (Translator.TryTranslate(c, out var o)) list.Add(o);
        }
        return list;
    }

    public override bool TryNext(out OutboundCommand command)
    {
        while (true)
        {
            _generator.Next(out Command c);
            if (++_commands % PruneEvery == 0)
                Translator.Prune((market, orderId) => _generator.LiveOrders.TryGet(market, orderId, out _));
            if (Translator.TryTranslate(c, out command)) return true;
        }
    }
}
