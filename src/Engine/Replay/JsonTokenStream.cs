using System.Text;
using System.Text.Json;

namespace ExchangeHealth.Engine.Replay;

/// <summary>
/// Reads JSON tokens from a stream without loading it whole: a <see cref="Utf8JsonReader"/> over a
/// refilled buffer (the buffer grows only if one token is larger than it). Tracks the line and
/// column of each token for error messages and keeps the raw bytes of number tokens, so numbers can
/// be converted exactly (never through <see cref="double"/>).
/// </summary>
internal sealed class JsonTokenStream : IDisposable
{
    private readonly Stream _stream;
    private readonly string _fileName;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;
    private bool _eof;
    private JsonReaderState _state;
    private long _bufferOffset;       // absolute file offset of _buffer[0]
    private long _line = 1;           // line of the byte at _scanned
    private long _lineStart;          // absolute offset where _line starts
    private long _scanned;            // absolute offset up to which newlines were counted
    private byte[] _value = new byte[64];
    private bool _peeked;

    public JsonTokenStream(Stream stream, string fileName)
    {
        _stream = stream;
        _fileName = fileName;
        _state = new JsonReaderState(new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
    }

    /// <summary>The current token type.</summary>
    public JsonTokenType TokenType { get; private set; }

    /// <summary>Raw bytes of the current token's value (number text, or string content without quotes, unescaped only if it had no escapes).</summary>
    public ReadOnlySpan<byte> ValueSpan => _value.AsSpan(0, ValueLength);

    private int ValueLength { get; set; }

    /// <summary>1-based line of the current token.</summary>
    public long Line { get; private set; }

    /// <summary>1-based column (byte position in the line) of the current token.</summary>
    public int Column { get; private set; }

    /// <summary>Bytes consumed from the stream so far (including read-ahead in the buffer).</summary>
    public long BytesBuffered => _bufferOffset + _end;

    /// <summary>Makes the next <see cref="Read"/> return the current token again.</summary>
    public void PushBack() => _peeked = true;

    /// <summary>Advances to the next token.</summary>
    /// <returns><see langword="false"/> at the end of the input.</returns>
    /// <exception cref="ReplayFormatException">The text is not valid JSON.</exception>
    public bool Read()
    {
        if (_peeked)
        {
            _peeked = false;
            return true;
        }
        while (true)
        {
            bool got;
            long tokenStart;
            int consumed;
            JsonTokenType type;
            try
            {
                var reader = new Utf8JsonReader(_buffer.AsSpan(_start, _end - _start), _eof, _state);
                got = reader.Read();
                consumed = (int)reader.BytesConsumed;
                tokenStart = _bufferOffset + _start + reader.TokenStartIndex;
                type = reader.TokenType;
                if (got)
                {
                    ReadOnlySpan<byte> raw = reader.ValueSpan;
                    if (raw.Length > _value.Length) _value = new byte[Math.Max(raw.Length, _value.Length * 2)];
                    raw.CopyTo(_value);
                    ValueLength = raw.Length;
                    _state = reader.CurrentState;
                }
            }
            catch (JsonException e)
            {
                // The reader state carries line and byte-in-line from the start of the stream.
                var (line, column) = Position(_bufferOffset + _start);
                if (e.LineNumber is long l && e.BytePositionInLine is long b)
                {
                    line = l + 1;
                    column = (int)Math.Min(int.MaxValue, b + 1);
                }
                throw new ReplayFormatException(_fileName, line, column, "not valid JSON: " + FirstSentence(e.Message));
            }
            if (got)
            {
                _start += consumed;
                TokenType = type;
                (Line, long col) = Position(tokenStart);
                Column = (int)col;
                return true;
            }
            if (_eof) return false;
            Refill();
        }
    }

    /// <summary>The current token's value as text (for messages and string comparison).</summary>
    public string ValueText() => Encoding.UTF8.GetString(ValueSpan);

    /// <summary>Whether the current token is a string equal to <paramref name="ascii"/>.</summary>
    public bool IsString(ReadOnlySpan<byte> ascii) => TokenType == JsonTokenType.String && ValueSpan.SequenceEqual(ascii);

    /// <summary>An error at the current token.</summary>
    public ReplayFormatException Error(string reason) => new(_fileName, Line, Column, reason);

    /// <summary>Skips the value that starts at the current token (a scalar, or a whole object/array).</summary>
    public void SkipValue()
    {
        if (TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray)) return;
        int depth = 1;
        while (depth > 0)
        {
            if (!Read()) throw Error("unexpected end of the file inside an object or array");
            if (TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray) depth++;
            else if (TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray) depth--;
        }
    }

    private void Refill()
    {
        if (_start > 0)
        {
            CountLines(_bufferOffset + _start);
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _bufferOffset += _start;
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
        int n = _stream.Read(_buffer, _end, _buffer.Length - _end);
        if (n == 0) _eof = true;
        _end += n;
        if (_bufferOffset == 0 && _start == 0 && _end >= 3 && _buffer[0] == 0xEF && _buffer[1] == 0xBB && _buffer[2] == 0xBF)
        {
            // A UTF-8 byte order mark, which Utf8JsonReader does not accept.
            _start = 3;
            _scanned = 3;
            _lineStart = 3;
        }
    }

    /// <summary>Counts newlines in the buffer up to absolute offset <paramref name="upTo"/>.</summary>
    private void CountLines(long upTo)
    {
        if (upTo <= _scanned) return;
        int from = (int)(_scanned - _bufferOffset);
        var span = _buffer.AsSpan(from, (int)(upTo - _scanned));
        int i;
        int baseIndex = 0;
        while ((i = span[baseIndex..].IndexOf((byte)'\n')) >= 0)
        {
            baseIndex += i + 1;
            _line++;
            _lineStart = _scanned + baseIndex;
        }
        _scanned = upTo;
    }

    private (long Line, int Column) Position(long absolute)
    {
        CountLines(Math.Min(absolute, _bufferOffset + _end));
        return (_line, (int)Math.Min(int.MaxValue, absolute - _lineStart + 1));
    }

    private static string FirstSentence(string message)
    {
        int cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).TrimEnd();
    }

    public void Dispose() => _stream.Dispose();
}
