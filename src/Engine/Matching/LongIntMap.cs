using System.Numerics;
using System.Runtime.CompilerServices;

namespace ExchangeHealth.Engine.Matching;

/// <summary>
/// An open-addressing hash map from <see cref="long"/> keys to non-negative <see cref="int"/>
/// values (node indices), with linear probing and backward-shift deletion, so it has no
/// tombstones and never allocates except when it grows past half full.
/// </summary>
/// <remarks>Fibonacci hashing spreads sequential ids (the common case) over the table.</remarks>
internal sealed class LongIntMap
{
    private const int Empty = -1;
    private long[] _keys;
    private int[] _values;
    private int _mask;
    private int _shift;
    private int _count;

    public LongIntMap(int capacity = 1024)
    {
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, capacity * 2));
        _keys = new long[size];
        _values = new int[size];
        Array.Fill(_values, Empty);
        _mask = size - 1;
        _shift = 64 - BitOperations.Log2((uint)size);
    }

    public int Count => _count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Slot(long key) => (int)(((ulong)key * 0x9E3779B97F4A7C15UL) >> _shift);

    /// <summary>The value for <paramref name="key"/>, or -1 when absent.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Get(long key)
    {
        int i = Slot(key);
        while (true)
        {
            int v = _values[i];
            if (v == Empty) return Empty;
            if (_keys[i] == key) return v;
            i = (i + 1) & _mask;
        }
    }

    /// <summary>Adds or replaces the value for <paramref name="key"/>.</summary>
    public void Set(long key, int value)
    {
        if ((_count + 1) * 2 > _values.Length) Grow();
        int i = Slot(key);
        while (true)
        {
            if (_values[i] == Empty)
            {
                _keys[i] = key;
                _values[i] = value;
                _count++;
                return;
            }
            if (_keys[i] == key)
            {
                _values[i] = value;
                return;
            }
            i = (i + 1) & _mask;
        }
    }

    /// <summary>Removes <paramref name="key"/>; returns whether it was present.</summary>
    public bool Remove(long key)
    {
        int i = Slot(key);
        while (true)
        {
            if (_values[i] == Empty) return false;
            if (_keys[i] == key) break;
            i = (i + 1) & _mask;
        }
        // Backward-shift: move later members of the probe run into the hole when their home slot
        // does not lie cyclically in (hole, current].
        int hole = i;
        int j = i;
        while (true)
        {
            j = (j + 1) & _mask;
            if (_values[j] == Empty) break;
            int home = Slot(_keys[j]);
            bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
            if (movable)
            {
                _keys[hole] = _keys[j];
                _values[hole] = _values[j];
                hole = j;
            }
        }
        _values[hole] = Empty;
        _count--;
        return true;
    }

    public void Clear()
    {
        Array.Fill(_values, Empty);
        _count = 0;
    }

    private void Grow()
    {
        long[] oldKeys = _keys;
        int[] oldValues = _values;
        int size = oldValues.Length * 2;
        _keys = new long[size];
        _values = new int[size];
        Array.Fill(_values, Empty);
        _mask = size - 1;
        _shift = 64 - BitOperations.Log2((uint)size);
        _count = 0;
        for (int k = 0; k < oldValues.Length; k++)
        {
            if (oldValues[k] != Empty) Set(oldKeys[k], oldValues[k]);
        }
    }
}
