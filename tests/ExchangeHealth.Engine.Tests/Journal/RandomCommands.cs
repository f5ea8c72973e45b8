namespace ExchangeHealth.Engine.Tests.Journal;

/// <summary>
/// Seeded random command streams over the default markets: mostly valid orders near the
/// reference prices so books fill and trade, plus cancels, amends, cancel-alls, state changes
/// and some invalid commands.
/// </summary>
internal static class RandomCommands
{
    public static Command[] Generate(int seed, int count)
    {
        var random = new Random(seed);
        var markets = MarketsFile.Default();
        var commands = new Command[count];
        var live = new List<(ushort Market, long Account, long Order)>();
        long nextOrder = 1;
        for (int i = 0; i < count; i++)
        {
            var market = markets[random.Next(markets.Count)];
            long account = random.Next(1, 8);
            int roll = random.Next(100);
            Command c;
            if (roll < 55 || live.Count == 0)
            {
                long offsetTicks = random.Next(-20, 21);
                long price = market.ReferencePrice + offsetTicks * market.TickSize;
                long quantity = market.LotSize * random.Next(1, 50);
                var side = random.Next(2) == 0 ? Side.Buy : Side.Sell;
                int kind = random.Next(10);
                long id = nextOrder++;
                c = kind switch
                {
                    0 => Command.Limit(market.Id, account, id, side, price, quantity, TimeInForce.ImmediateOrCancel),
                    1 => Command.Limit(market.Id, account, id, side, price, quantity, TimeInForce.FillOrKill),
                    2 => Command.Limit(market.Id, account, id, side, price, quantity, flags: OrderFlags.PostOnly),
                    3 => Command.MarketOrder(market.Id, account, id, side, quantity),
                    _ => Command.Limit(market.Id, account, id, side, price, quantity),
                };
                live.Add((market.Id, account, id));
            }
            else if (roll < 75)
            {
                var (m, a, o) = live[random.Next(live.Count)];
                c = Command.CancelOrder(m, a, o);
            }
            else if (roll < 92)
            {
                var (m, a, o) = live[random.Next(live.Count)];
                var def = markets.First(x => x.Id == m);
                long price = def.ReferencePrice + random.Next(-20, 21) * def.TickSize;
                c = Command.AmendOrder(m, a, o, price, def.LotSize * random.Next(1, 50));
            }
            else if (roll < 95)
            {
                c = Command.CancelAllOrders(account, random.Next(2) == 0 ? (ushort)0 : market.Id);
            }
            else if (roll < 97)
            {
                var states = Reasons.AllMarketStates;
                c = Command.ChangeMarketState(market.Id, random.Next(3) == 0 ? states[random.Next(states.Count)] : MarketState.Online);
            }
            else
            {
                // Invalid input: off-grid, zero quantity, unknown market.
                c = Command.Limit((ushort)random.Next(0, 6), account, nextOrder++, Side.Buy, market.ReferencePrice + 1, 0);
            }
            c.Timestamp = 1_700_000_000_000_000_000 + i * 1000L;
            commands[i] = c;
        }
        return commands;
    }
}
