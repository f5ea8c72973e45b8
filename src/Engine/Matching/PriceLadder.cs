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

    /// <summary>
    /// Changes the price of the level at <paramref name="oldPrice"/> to <paramref name="newPrice"/>,
    /// keeping the ladder sorted, when no level has <paramref name="newPrice"/>: only the entries
    /// between the old and the new position shift, by one. The result is the same ladder as
    /// <see cref="RemoveAt"/> then <see cref="Insert"/> of the same level index, at a fraction of
    /// the cost for the common small price move.
    /// </summary>
    /// <returns>false, with nothing changed, when a level at <paramref name="newPrice"/> exists.</returns>
    public bool TryReprice(long oldPrice, long newPrice)
    {
        int from = Find(oldPrice);
        long key = Key(newPrice);
        long[] keys = _keys;
        int[] levels = _levels;
        int level = levels[from];
        int count = _count;
        if (key > keys[from])
        {
            // Moving toward the best end: find the first position after `from` whose key is >= key.
            int p = from + 1;
            int stop = Math.Min(count, from + 1 + LinearProbe);
            while (p < stop && keys[p] < key) p++;
            if (p == stop && p < count)
            {
                p = Array.BinarySearch(keys, p, count - p, key);
                if (p >= 0) return false;
                p = ~p;
            }
            if (p < count && keys[p] == key) return false;
            int to = p - 1;
            if (to > from)
            {
                Array.Copy(keys, from + 1, keys, from, to - from);
                Array.Copy(levels, from + 1, levels, from, to - from);
            }
            keys[to] = key;
            levels[to] = level;
        }
        else
        {
            // Moving away from the best end: find the first position before `from` whose key is >= key.
            int p = from;
            int stop = Math.Max(0, from - LinearProbe);
            while (p > stop && keys[p - 1] > key) p--;
            if (p == stop && p > 0 && keys[p - 1] > key)
            {
                p = Array.BinarySearch(keys, 0, p, key);
                if (p >= 0) return false;
                p = ~p;
            }
            if (p > 0 && keys[p - 1] == key) return false;
            if (p < from)
            {
                Array.Copy(keys, p, keys, p + 1, from - p);
                Array.Copy(levels, p, levels, p + 1, from - p);
            }
            keys[p] = key;
            levels[p] = level;
        }
        return true;
    }

    /// <summary>Positions <see cref="TryReprice"/> walks before it switches to a binary search.</summary>
    private const int LinearProbe = 8;

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
