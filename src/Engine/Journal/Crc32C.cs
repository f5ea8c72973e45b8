using System.Buffers.Binary;
using System.Numerics;

namespace ExchangeHealth.Engine.Journal;

/// <summary>
/// CRC-32C (Castagnoli, RFC 3720) over byte spans, using the hardware instruction through
/// <see cref="BitOperations.Crc32C(uint, ulong)"/>. Standard parameters: initial value and final
/// XOR 0xFFFFFFFF, so <c>Compute("123456789") == 0xE3069283</c>.
/// </summary>
public static class Crc32C
{
    /// <summary>The CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Append(0xFFFFFFFFu, data);

    /// <summary>
    /// Continues a running (not finalised) CRC: start with <c>0xFFFFFFFF</c>, append spans, and
    /// finish with bitwise NOT.
    /// </summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (byte b in data) crc = BitOperations.Crc32C(crc, b);
        return crc;
    }
}
