using System.Buffers.Binary;
using System.Text;

namespace ExchangeHealth.TestKit.Prometheus;

/// <summary>One series for <see cref="PrometheusServer.RemoteWriteAsync"/>: labels (with <c>__name__</c>) and samples.</summary>
/// <param name="Labels">The series labels, <c>__name__</c> included.</param>
/// <param name="Samples">Samples as (Unix milliseconds, value), ascending in time.</param>
public sealed record RemoteWriteSeries(IReadOnlyDictionary<string, string> Labels, IReadOnlyList<(long TimestampMs, double Value)> Samples);

/// <summary>
/// Encodes a Prometheus remote-write 1.0 request: a <c>prometheus.WriteRequest</c> protobuf message
/// (field 1 repeated <c>TimeSeries</c>: field 1 repeated <c>Label</c> {1 name, 2 value}, field 2
/// repeated <c>Sample</c> {1 double value, 2 int64 timestamp}) compressed with the snappy block
/// format, as the remote-write specification requires. The snappy output uses literal elements only
/// (valid snappy that any decoder reads; the test kit needs no compression ratio).
/// </summary>
public static class PrometheusRemoteWrite
{
    /// <summary>Prometheus's staleness marker (a NaN with this exact bit pattern), which ends a series as a vanished alert does.</summary>
    public static double StaleNaN { get; } = BitConverter.Int64BitsToDouble(0x7ff0000000000002);

    /// <summary>The snappy-compressed protobuf body of a write request.</summary>
    /// <param name="series">The series; labels are sent sorted by name as the protocol requires.</param>
    /// <returns>The request body.</returns>
    public static byte[] Encode(IEnumerable<RemoteWriteSeries> series)
    {
        ArgumentNullException.ThrowIfNull(series);
        using var message = new MemoryStream();
        var fixed64 = new byte[8];
        foreach (var s in series)
        {
            using var ts = new MemoryStream();
            foreach (var (name, value) in s.Labels.OrderBy(l => l.Key, StringComparer.Ordinal))
            {
                using var label = new MemoryStream();
                WriteString(label, 1, name);
                WriteString(label, 2, value);
                WriteBytes(ts, 1, label.ToArray());
            }
            foreach (var (timestamp, value) in s.Samples)
            {
                using var sample = new MemoryStream();
                sample.WriteByte((1 << 3) | 1); // field 1, 64-bit
                BinaryPrimitives.WriteInt64LittleEndian(fixed64, BitConverter.DoubleToInt64Bits(value));
                sample.Write(fixed64);
                sample.WriteByte(2 << 3); // field 2, varint
                WriteVarint(sample, (ulong)timestamp);
                WriteBytes(ts, 2, sample.ToArray());
            }
            WriteBytes(message, 1, ts.ToArray());
        }
        return SnappyLiteral(message.ToArray());
    }

    /// <summary>Snappy block format with literal elements only: varint length, then literals of at most 64 KiB.</summary>
    internal static byte[] SnappyLiteral(byte[] data)
    {
        using var output = new MemoryStream();
        WriteVarint(output, (ulong)data.Length);
        for (int offset = 0; offset < data.Length; offset += 65536)
        {
            int length = Math.Min(65536, data.Length - offset);
            int n = length - 1;
            if (n < 60)
            {
                output.WriteByte((byte)(n << 2));
            }
            else if (n < 256)
            {
                output.WriteByte(60 << 2);
                output.WriteByte((byte)n);
            }
            else
            {
                output.WriteByte(61 << 2);
                output.WriteByte((byte)(n & 0xff));
                output.WriteByte((byte)(n >> 8));
            }
            output.Write(data, offset, length);
        }
        return output.ToArray();
    }

    private static void WriteString(Stream stream, int field, string value) => WriteBytes(stream, field, Encoding.UTF8.GetBytes(value));

    private static void WriteBytes(Stream stream, int field, byte[] value)
    {
        WriteVarint(stream, (ulong)((field << 3) | 2));
        WriteVarint(stream, (ulong)value.Length);
        stream.Write(value);
    }

    private static void WriteVarint(Stream stream, ulong value)
    {
        while (value >= 0x80)
        {
            stream.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        stream.WriteByte((byte)value);
    }
}
