using ExchangeHealth.Engine.Matching;

namespace ExchangeHealth.Engine.Tests.Core;

public sealed class LongIntMapTests
{
    [Fact]
    public void RandomOperations_AgreeWithDictionary()
    {
        // Small key space so probe runs wrap, collide and get backward-shifted a lot.
        var random = new Random(11);
        var map = new LongIntMap(4);
        var model = new Dictionary<long, int>();
        for (int i = 0; i < 200_000; i++)
        {
            long key = random.Next(0, 3) == 0 ? random.NextInt64() : random.Next(-500, 500);
            switch (random.Next(3))
            {
                case 0:
                    int value = random.Next(0, int.MaxValue);
                    map.Set(key, value);
                    model[key] = value;
                    break;
                case 1:
                    Assert.Equal(model.Remove(key), map.Remove(key));
                    break;
                default:
                    Assert.Equal(model.TryGetValue(key, out int v) ? v : -1, map.Get(key));
                    break;
            }
            Assert.Equal(model.Count, map.Count);
        }
        foreach (var (k, v) in model) Assert.Equal(v, map.Get(k));
    }
}
