using System.Buffers.Binary;
using System.Globalization;
using ExchangeHealth.Engine.Primitives;

namespace ExchangeHealth.Engine.Journal;

/// <summary>
/// The binary journal format (version 1). All integers little-endian.
/// </summary>
/// <remarks>
/// <para>A journal is a directory of segment files <c>journal-{first sequence, 20 digits}.log</c>.
/// Each segment starts with a 16-byte header: the ASCII magic <c>EXHJRNL1</c> and the first
/// sequence number (int64). Then records, each padded to a multiple of 8 bytes:</para>
/// <code>
/// offset size field
///      0    4 payload length in bytes (uint32, 1..4096)
///      4    4 CRC-32C over bytes 8..(24 + length), then over the 4 length bytes
///      8    8 sequence number (int64; consecutive across the whole journal, first is 1)
///     16    8 timestamp, Unix nanoseconds (int64)
///     24    n payload: the command (40 bytes in version 1, see <see cref="EncodeCommand"/>)
/// </code>
/// <para>A record is durable once the batch that holds it was flushed with fsync (group commit).
/// On recovery a torn or corrupt record at the end of the last segment is truncated; a corrupt
/// record followed by valid ones is never truncated: that is corruption, not a torn write.</para>
/// </remarks>
public static class JournalFormat
{
    /// <summary>Segment header size in bytes.</summary>
    public const int SegmentHeaderSize = 16;

    /// <summary>Record header size in bytes (length, CRC, sequence, timestamp).</summary>
    public const int RecordHeaderSize = 24;

    /// <summary>Payload size of a command record in version 1.</summary>
    public const int CommandPayloadSize = 40;

    /// <summary>Size of a command record on disk (header + payload, padded to 8).</summary>
    public const int CommandRecordSize = RecordHeaderSize + CommandPayloadSize;

    /// <summary>Largest payload a reader accepts; anything larger is corruption.</summary>
    public const int MaxPayloadSize = 4096;

    /// <summary>The segment magic, ASCII <c>EXHJRNL1</c>.</summary>
    public static ReadOnlySpan<byte> SegmentMagic => "EXHJRNL1"u8;

    /// <summary>File name of the segment whose first record has <paramref name="firstSequence"/>.</summary>
    public static string SegmentFileName(SequenceNumber firstSequence) =>
        "journal-" + firstSequence.Value.ToString("D20", CultureInfo.InvariantCulture) + ".log";

    /// <summary>Parses a segment file name; false for any other file.</summary>
    public static bool TryParseSegmentFileName(string fileName, out SequenceNumber firstSequence)
    {
        firstSequence = default;
        if (!fileName.StartsWith("journal-", StringComparison.Ordinal) || !fileName.EndsWith(".log", StringComparison.Ordinal)) return false;
        var digits = fileName.AsSpan(8, fileName.Length - 12);
        return digits.Length == 20 && SequenceNumber.TryParse(digits, out firstSequence) && firstSequence.Value > 0;
    }

    /// <summary>Size of a record with <paramref name="payloadLength"/> bytes of payload, padded to 8.</summary>
    public static int RecordSize(int payloadLength) => (RecordHeaderSize + payloadLength + 7) & ~7;

    /// <summary>
    /// Writes one command record into <paramref name="destination"/> (at least
    /// <see cref="CommandRecordSize"/> bytes) using the command's sequence and timestamp.
    /// </summary>
    public static void WriteCommandRecord(Span<byte> destination, in Command command)
    {
        Span<byte> record = destination[..CommandRecordSize];
        BinaryPrimitives.WriteUInt32LittleEndian(record, CommandPayloadSize);
        BinaryPrimitives.WriteInt64LittleEndian(record[8..], command.Sequence.Value);
        BinaryPrimitives.WriteInt64LittleEndian(record[16..], command.Timestamp);
        EncodeCommand(record.Slice(RecordHeaderSize, CommandPayloadSize), command);
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], RecordCrc(record, CommandPayloadSize));
    }

    /// <summary>The CRC stored at offset 4 of a record whose payload has <paramref name="payloadLength"/> bytes.</summary>
    public static uint RecordCrc(ReadOnlySpan<byte> record, int payloadLength)
    {
        uint crc = Crc32C.Append(0xFFFFFFFFu, record.Slice(8, 16 + payloadLength));
        return ~Crc32C.Append(crc, record[..4]);
    }

    /// <summary>
    /// Encodes a command into its 40-byte payload: type, side, order type, time in force, flags,
    /// state (1 byte each), market id (uint16), account id, order id, price units, quantity units (int64 each).
    /// </summary>
    public static void EncodeCommand(Span<byte> payload, in Command c)
    {
        payload[0] = (byte)c.Type;
        payload[1] = (byte)c.Side;
        payload[2] = (byte)c.OrderType;
        payload[3] = (byte)c.TimeInForce;
        payload[4] = (byte)c.Flags;
        payload[5] = (byte)c.State;
        BinaryPrimitives.WriteUInt16LittleEndian(payload[6..], c.MarketId);
        BinaryPrimitives.WriteInt64LittleEndian(payload[8..], c.AccountId);
        BinaryPrimitives.WriteInt64LittleEndian(payload[16..], c.OrderId);
        BinaryPrimitives.WriteInt64LittleEndian(payload[24..], c.Price.Units);
        BinaryPrimitives.WriteInt64LittleEndian(payload[32..], c.Quantity.Units);
    }

    /// <summary>Decodes a payload written by <see cref="EncodeCommand"/>; sequence and timestamp come from the record header.</summary>
    public static void DecodeCommand(ReadOnlySpan<byte> payload, SequenceNumber sequence, long timestamp, ref Command c)
    {
        c.Sequence = sequence;
        c.Timestamp = timestamp;
        c.Type = (CommandType)payload[0];
        c.Side = (Side)payload[1];
        c.OrderType = (OrderType)payload[2];
        c.TimeInForce = (TimeInForce)payload[3];
        c.Flags = (OrderFlags)payload[4];
        c.State = (MarketState)payload[5];
        c.MarketId = BinaryPrimitives.ReadUInt16LittleEndian(payload[6..]);
        c.AccountId = BinaryPrimitives.ReadInt64LittleEndian(payload[8..]);
        c.OrderId = BinaryPrimitives.ReadInt64LittleEndian(payload[16..]);
        c.Price = new Price(BinaryPrimitives.ReadInt64LittleEndian(payload[24..]));
        c.Quantity = new Quantity(BinaryPrimitives.ReadInt64LittleEndian(payload[32..]));
    }
}

/// <summary>The journal cannot be read safely: a corrupt record is followed by valid data, a segment is missing, or sequences have a gap.</summary>
/// <remarks>Nothing was truncated. An operator must look at the named file and offset.</remarks>
public sealed class JournalCorruptException : Exception
{
    /// <summary>Creates the exception.</summary>
    public JournalCorruptException(string message, string? file = null, long offset = -1) : base(message)
    {
        File = file;
        Offset = offset;
    }

    /// <summary>The segment file at fault, if one.</summary>
    public string? File { get; }

    /// <summary>Byte offset in <see cref="File"/>, or -1.</summary>
    public long Offset { get; }
}
