using System.Numerics;
using System.Runtime.CompilerServices;

namespace ExchangeHealth.Engine.Diagnostics;

/// <summary>
/// A log-linear histogram of non-negative integer values (typically latencies in nanoseconds),
/// after the idea of HdrHistogram: exact below 256, and above that 128 equal-width sub-buckets per
/// power of two, so any recorded value is known to within 1/128 (0.78 %) of itself; percentiles
/// report the middle of their bucket (error at most 0.4 %). <see cref="Min"/>, <see cref="Max"/>,
/// <see cref="Count"/> and <see cref="Mean"/> are exact.
/// </summary>
/// <remarks>
/// Fixed size (7,296 buckets, about 57 KiB), allocated once in the constructor: <see cref="Record"/>
/// never allocates, takes no lock and is meant to be called on one thread (the matcher thread or a
/// benchmark loop). Merge per-thread histograms with <see cref="Add"/>. Values cover the whole
/// non-negative <see cref="long"/> range; a negative value is recorded as 0.
/// </remarks>
public sealed class LatencyHistogram
{
    /// <summary>Values below this are counted exactly (one bucket per value).</summary>
    private const int LinearLimit = 256;
    /// <summary>log2 of the number of sub-buckets per power of two.</summary>
    private const int SubBucketBits = 7;
    private const int SubBuckets = 1 << SubBucketBits;
    /// <summary>Bucket count: 256 exact buckets plus 128 for each octave 2^8..2^62.</summary>
    private const int BucketCount = (63 - SubBucketBits) * SubBuckets + SubBuckets;

    private readonly long[] _counts = new long[BucketCount];
    private long _count;
    private long _min = long.MaxValue;
    private long _max;
    private Int128 _sum;

    /// <summary>Number of values recorded.</summary>
    public long Count => _count;

    /// <summary>Smallest value recorded (exact), or 0 when empty.</summary>
    public long Min => _count == 0 ? 0 : _min;

    /// <summary>Largest value recorded (exact), or 0 when empty.</summary>
    public long Max => _max;

    /// <summary>Arithmetic mean of the recorded values (exact sum divided by count), or 0 when empty.</summary>
    public double Mean => _count == 0 ? 0 : (double)_sum / _count;

    /// <summary>The relative resolution of a bucket: a recorded value is known to within this fraction of itself (1/128).</summary>
    public static double RelativeResolution => 1.0 / SubBuckets;

    /// <summary>Records one value. Allocation-free and O(1).</summary>
    /// <param name="value">The value, e.g. a latency in nanoseconds; negative values count as 0.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Record(long value)
    {
        if (value < 0) value = 0;
        _counts[BucketOf(value)]++;
        _count++;
        _sum += value;
        if (value < _min) _min = value;
        if (value > _max) _max = value;
    }

    /// <summary>Adds every value of <paramref name="other"/> to this histogram.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="other"/> is null.</exception>
    public void Add(LatencyHistogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other._count == 0) return;
        for (int i = 0; i < BucketCount; i++) _counts[i] += other._counts[i];
        _count += other._count;
        _sum += other._sum;
        if (other._min < _min) _min = other._min;
        if (other._max > _max) _max = other._max;
    }

    /// <summary>Forgets every value.</summary>
    public void Reset()
    {
        Array.Clear(_counts);
        _count = 0;
        _sum = 0;
        _min = long.MaxValue;
        _max = 0;
    }

    /// <summary>
    /// The value at <paramref name="percentile"/>: the smallest bucket such that at least that share
    /// of the values is at or below it, reported as the bucket's middle and clamped to
    /// [<see cref="Min"/>, <see cref="Max"/>] (so percentile 100 is exactly <see cref="Max"/> and
    /// percentile 0 exactly <see cref="Min"/>). 0 when empty.
    /// </summary>
    /// <param name="percentile">0..100, e.g. 99.99.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="percentile"/> is outside 0..100 or NaN.</exception>
    public long ValueAtPercentile(double percentile)
    {
        if (!(percentile >= 0 && percentile <= 100)) throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "must be in 0..100");
        if (_count == 0) return 0;
        if (percentile == 0) return _min;
        if (percentile == 100) return _max;
        long rank = (long)Math.Ceiling(percentile / 100.0 * _count);
        if (rank < 1) rank = 1;
        long seen = 0;
        for (int i = 0; i < BucketCount; i++)
        {
            seen += _counts[i];
            if (seen >= rank) return Math.Clamp(MiddleOf(i), _min, _max);
        }
        return _max;
    }

    /// <summary>Number of recorded values greater than <paramref name="threshold"/> (exact below 256, else to bucket resolution).</summary>
    public long CountAbove(long threshold)
    {
        if (threshold < 0) return _count;
        long n = 0;
        for (int i = BucketOf(threshold) + 1; i < BucketCount; i++) n += _counts[i];
        return n;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int BucketOf(long value)
    {
        if (value < LinearLimit) return (int)value;
        int shift = BitOperations.Log2((ulong)value) - SubBucketBits;
        // value >> shift lies in [128, 255]: the leading bit plus 7 bits of mantissa.
        return (shift << SubBucketBits) + (int)(value >> shift);
    }

    /// <summary>Smallest value of bucket <paramref name="bucket"/>.</summary>
    internal static long LowestOf(int bucket)
    {
        if (bucket < LinearLimit) return bucket;
        int shift = (bucket >> SubBucketBits) - 1;
        long top = (bucket & (SubBuckets - 1)) + SubBuckets;
        return top << shift;
    }

    /// <summary>Largest value of bucket <paramref name="bucket"/>.</summary>
    internal static long HighestOf(int bucket)
    {
        if (bucket < LinearLimit) return bucket;
        int shift = (bucket >> SubBucketBits) - 1;
        long top = (bucket & (SubBuckets - 1)) + SubBuckets;
        // The last bucket ends at long.MaxValue; compute without overflowing.
        return top == 2 * SubBuckets - 1 && shift == 63 - SubBucketBits - 1 ? long.MaxValue : ((top + 1) << shift) - 1;
    }

    private static long MiddleOf(int bucket)
    {
        long low = LowestOf(bucket);
        return low + (HighestOf(bucket) - low) / 2;
    }
}
