using System.Runtime.CompilerServices;

namespace ExchangeHealth.Engine.Matching;

/// <summary>
/// One side of an order book: the price levels that hold resting orders, sorted so that the best
/// level is last. Bids are keyed by price, asks by the negated price, so on both sides the
/// best level has the largest key and removing it is O(1); inserting near the touch (where most
/// activity is) moves few elements.
/// </summary>
internal sealed class PriceLadder
{
    private long[] _keys;
    private int[] _levels;
    private int _count;
    private readonly bool _isBid;

    public PriceLadder(bool isBid, int capacity = 256)
    {
        _isBid = isBid;
        _keys = new long[capacity];
        _levels = new int[capacity];
    }

    public int Count => _count;

    /// <summary>The level index of the best price. Only valid when <see cref="Count"/> &gt; 0.</summary>
    public int Best
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _levels[_count - 1];
    }

    /// <summary>The level index <paramref name="rank"/> places from the best (0 = best).</summary>
    public int LevelFromBest(int rank) => _levels[_count - 1 - rank];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long Key(long price) => _isBid ? price : -price;

    /// <summary>
    /// Finds the level with <paramref name="price"/>: its position, or the bitwise complement of the
    /// position where it would be inserted.
    /// </summary>
    public int Find(long price)
    {
        long key = Key(price);
        long[] keys = _keys;
        int lo = 0, hi = _count - 1;
        // Most lookups are at or next to the touch: check the best few positions first.
        if (hi >= 0)
        {
            long top = keys[hi];
            if (key == top) return hi;
            if (key > top) return ~_count;
        }
        while (lo <= hi)
        {
            int mid = (int)((uint)(lo + hi) >> 1);
            long k = keys[mid];
            if (k == key) return mid;
            if (k < key) lo = mid + 1;
            else hi = mid - 1;
        }
        return ~lo;
    }

    public int LevelAt(int position) => _levels[position];

    public void Insert(int position, long price, int level)
    {
        if (_count == _keys.Length)
        {
            Array.Resize(ref _keys, _count * 2);
            Array.Resize(ref _levels, _count * 2);
        }
        if (position < _count)
        {
            Array.Copy(_keys, position, _keys, position + 1, _count - position);
            Array.Copy(_levels, position, _levels, position + 1, _count - position);
        }
        _keys[position] = Key(price);
        _levels[position] = level;
        _count++;
    }

    public void RemoveAt(int position)
    {
        _count--;
        if (position < _count)
        {
            Array.Copy(_keys, position + 1, _keys, position, _count - position);
            Array.Copy(_levels, position + 1, _levels, position, _count - position);
        }
    }

    public void RemoveBest() => _count--;

    public void Clear() => _count = 0;
}
