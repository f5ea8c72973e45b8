using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using ExchangeHealth.Engine.Primitives;

namespace ExchangeHealth.Engine.Journal;

/// <summary>
/// Snapshots of engine state at a sequence number, one file each:
/// <c>snapshot-{sequence, 20 digits}.snap</c>. Integers little-endian:
/// <code>
/// "EXHSNAP1"                  8-byte magic
/// uint32 version (1)
/// int64  last sequence number, int64 last trade id
/// int32  market count, then per market:
///        uint16 id, uint16 symbol length, symbol (UTF-8), uint8 state,
///        int64 reference price, int64 last trade price, int32 order count,
///        orders in canonical order, 34 bytes each (side, flags, order id, account, price, quantity)
/// uint32 CRC-32C of every byte before it
/// </code>
/// A snapshot is written to a temporary file, flushed, renamed into place and the directory
/// flushed, so a crash leaves either the old set of snapshots or the new one, never a torn file
/// under a valid name. Take a snapshot only when the journal is durable up to its sequence number.
/// </summary>
public static class SnapshotStore
{
    private const uint Version = 1;
    private static ReadOnlySpan<byte> Magic => "EXHSNAP1"u8;

    /// <summary>File name of the snapshot at <paramref name="sequence"/>.</summary>
    public static string FileName(SequenceNumber sequence) =>
        "snapshot-" + sequence.Value.ToString("D20", CultureInfo.InvariantCulture) + ".snap";

    /// <summary>The snapshot files of <paramref name="directory"/>, newest (highest sequence) first.</summary>
    public static IReadOnlyList<(string Path, SequenceNumber Sequence)> List(string directory)
    {
        var list = new List<(string, SequenceNumber)>();
        if (!Directory.Exists(directory)) return list;
        foreach (string path in Directory.EnumerateFiles(directory, "snapshot-*.snap"))
        {
            string name = Path.GetFileName(path);
            if (name.Length == 34 && SequenceNumber.TryParse(name.AsSpan(9, 20), out var seq)) list.Add((path, seq));
        }
        list.Sort((a, b) => b.Item2.CompareTo(a.Item2));
        return list;
    }

    /// <summary>Writes a snapshot of <paramref name="engine"/> at its <see cref="MatchingEngine.LastSequence"/>.</summary>
    /// <returns>The snapshot's path.</returns>
    /// <exception cref="IOException">Writing, flushing or renaming failed (no partial snapshot is left under a valid name).</exception>
    public static string Write(string directory, MatchingEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, FileName(engine.LastSequence));
        string temp = path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            var writer = new CrcWriter(file);
            Span<byte> buf = stackalloc byte[64];
            writer.Write(Magic);
            BinaryPrimitives.WriteUInt32LittleEndian(buf, Version);
            BinaryPrimitives.WriteInt64LittleEndian(buf[4..], engine.LastSequence.Value);
            BinaryPrimitives.WriteInt64LittleEndian(buf[12..], engine.LastTradeId);
            BinaryPrimitives.WriteInt32LittleEndian(buf[20..], engine.Books.Count);
            writer.Write(buf[..24]);
            foreach (var book in engine.Books)
            {
                byte[] symbol = Encoding.UTF8.GetBytes(book.Market.Symbol);
                BinaryPrimitives.WriteUInt16LittleEndian(buf, book.Market.Id);
                BinaryPrimitives.WriteUInt16LittleEndian(buf[2..], (ushort)symbol.Length);
                writer.Write(buf[..4]);
                writer.Write(symbol);
                buf[0] = (byte)book.State;
                BinaryPrimitives.WriteInt64LittleEndian(buf[1..], book.ReferencePrice);
                BinaryPrimitives.WriteInt64LittleEndian(buf[9..], book.LastTradePrice);
                BinaryPrimitives.WriteInt32LittleEndian(buf[17..], book.OrderCount);
                writer.Write(buf[..21]);
                foreach (var order in book.RestingOrders())
                {
                    MatchingEngine.WriteOrder(buf, order);
                    writer.Write(buf[..MatchingEngine.OrderRecordSize]);
                }
            }
            BinaryPrimitives.WriteUInt32LittleEndian(buf, writer.Crc);
            file.Write(buf[..4]);
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
        DirectorySync.Flush(directory);
        return path;
    }

    /// <summary>
    /// Loads a snapshot into a new engine for <paramref name="markets"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is truncated, corrupt (CRC), of another version, or names a market that is not configured the same way.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static MatchingEngine Read(string path, IReadOnlyList<MarketDefinition> markets, IExecutionReportSink? reportSink = null)
    {
        byte[] data = File.ReadAllBytes(path);
        if (data.Length < Magic.Length + 28 + 4) throw new InvalidDataException($"{path}: truncated snapshot ({data.Length} bytes)");
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(data.Length - 4));
        if (stored != Crc32C.Compute(data.AsSpan(0, data.Length - 4))) throw new InvalidDataException($"{path}: CRC mismatch (corrupt or truncated snapshot)");
        var span = new ReadOnlySpan<byte>(data, 0, data.Length - 4);
        if (!span[..8].SequenceEqual(Magic)) throw new InvalidDataException($"{path}: not a snapshot (bad magic)");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(span[8..]);
        if (version != Version) throw new InvalidDataException($"{path}: snapshot version {version} is not supported (expected {Version})");
        var sequence = new SequenceNumber(BinaryPrimitives.ReadInt64LittleEndian(span[12..]));
        long lastTradeId = BinaryPrimitives.ReadInt64LittleEndian(span[20..]);
        int marketCount = BinaryPrimitives.ReadInt32LittleEndian(span[28..]);
        int pos = 32;

        var engine = new MatchingEngine(markets, reportSink);
        try
        {
            for (int m = 0; m < marketCount; m++)
            {
                ushort id = BinaryPrimitives.ReadUInt16LittleEndian(span[pos..]);
                int symbolLength = BinaryPrimitives.ReadUInt16LittleEndian(span[(pos + 2)..]);
                string symbol = Encoding.UTF8.GetString(span.Slice(pos + 4, symbolLength));
                pos += 4 + symbolLength;
                var state = (MarketState)span[pos];
                long reference = BinaryPrimitives.ReadInt64LittleEndian(span[(pos + 1)..]);
                long lastTrade = BinaryPrimitives.ReadInt64LittleEndian(span[(pos + 9)..]);
                int orders = BinaryPrimitives.ReadInt32LittleEndian(span[(pos + 17)..]);
                pos += 21;
                OrderBook book = engine.FindBook(id)
                    ?? throw new InvalidDataException($"{path}: market {id} ({symbol}) is in the snapshot but not in the markets file");
                if (!string.Equals(book.Market.Symbol, symbol, StringComparison.Ordinal))
                    throw new InvalidDataException($"{path}: market {id} is '{symbol}' in the snapshot but '{book.Market.Symbol}' in the markets file");
                if (!Enum.IsDefined(state)) throw new InvalidDataException($"{path}: market {symbol} has an invalid state {(byte)state}");
                book.RestoreState(state, reference, lastTrade);
                for (int i = 0; i < orders; i++)
                {
                    book.Restore(MatchingEngine.ReadOrder(span.Slice(pos, MatchingEngine.OrderRecordSize)));
                    pos += MatchingEngine.OrderRecordSize;
                }
            }
        }
        catch (ArgumentOutOfRangeException)
        {
            throw new InvalidDataException($"{path}: snapshot ends early");
        }
        if (pos != span.Length) throw new InvalidDataException($"{path}: {span.Length - pos} unexpected trailing bytes");
        engine.RestoreCounters(sequence, lastTradeId);
        return engine;
    }

    /// <summary>Deletes all but the newest <paramref name="keep"/> snapshots; returns how many were deleted.</summary>
    public static int Prune(string directory, int keep)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        var all = List(directory);
        int deleted = 0;
        for (int i = keep; i < all.Count; i++)
        {
            File.Delete(all[i].Path);
            deleted++;
        }
        if (deleted > 0) DirectorySync.Flush(directory);
        return deleted;
    }

    /// <summary>Writes through to a stream while computing CRC-32C of everything written.</summary>
    private sealed class CrcWriter(Stream stream)
    {
        private uint _crc = 0xFFFFFFFFu;

        public uint Crc => ~_crc;

        public void Write(ReadOnlySpan<byte> data)
        {
            _crc = Crc32C.Append(_crc, data);
            stream.Write(data);
        }
    }
}
