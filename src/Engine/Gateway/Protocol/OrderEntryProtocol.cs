using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace ExchangeHealth.Engine.Gateway.Protocol;

/// <summary>Message types of the binary order-entry protocol (docs/order-entry-protocol.md). Values are on the wire.</summary>
public enum MessageType : byte
{
    /// <summary>Client: log on with an API key.</summary>
    Logon = 0x01,
    /// <summary>Client: place a new order.</summary>
    NewOrder = 0x02,
    /// <summary>Client: cancel an order.</summary>
    Cancel = 0x03,
    /// <summary>Client: amend an order's price and/or quantity.</summary>
    Amend = 0x04,
    /// <summary>Client: cancel every order of the account in a market (or all markets).</summary>
    CancelAll = 0x05,
    /// <summary>Client: heartbeat; echoed.</summary>
    Heartbeat = 0x06,
    /// <summary>Client: end the session.</summary>
    Logout = 0x07,
    /// <summary>Server: logon accepted.</summary>
    LogonAccepted = 0x81,
    /// <summary>Server: an execution report.</summary>
    ExecutionReport = 0x82,
    /// <summary>Server: a session-level error (see <see cref="ProtocolErrorCode"/>).</summary>
    SessionError = 0x83,
    /// <summary>Server: heartbeat echo.</summary>
    HeartbeatAck = 0x84,
    /// <summary>Server: logout accepted; the server closes next.</summary>
    LogoutAccepted = 0x85,
}

/// <summary>Session-level error codes sent in <see cref="MessageType.SessionError"/>. Values are on the wire.</summary>
public enum ProtocolErrorCode : ushort
{
    /// <summary>No error.</summary>
    None = 0,
    /// <summary>The frame's body does not have the length its type requires, or the length prefix is 0.</summary>
    MalformedFrame = 1,
    /// <summary>The length prefix exceeds <see cref="OrderEntryProtocol.MaxBodyLength"/>; the session is closed.</summary>
    FrameTooLarge = 2,
    /// <summary>The message type is not one a client may send.</summary>
    UnknownMessageType = 3,
    /// <summary>A command arrived before a successful logon.</summary>
    NotLoggedOn = 4,
    /// <summary>Unknown API key; the session is closed.</summary>
    AuthenticationFailed = 5,
    /// <summary>A second logon on a session.</summary>
    AlreadyLoggedOn = 6,
    /// <summary>The protocol version is not supported; the session is closed.</summary>
    UnsupportedVersion = 7,
    /// <summary>A field is out of its range; the text names the field.</summary>
    InvalidField = 8,
    /// <summary>Nothing was received for three heartbeat intervals; the session is closed.</summary>
    HeartbeatTimeout = 9,
    /// <summary>The engine is shutting down; the session is closed.</summary>
    ServerShuttingDown = 10,
    /// <summary>The client does not read its reports and the send buffer passed its bound; the session is closed.</summary>
    SlowConsumer = 11,
    /// <summary>The server already has its maximum number of sessions; the connection is closed right after this error.</summary>
    TooManySessions = 12,
}

/// <summary>A decoded <see cref="MessageType.Logon"/>.</summary>
/// <param name="ProtocolVersion">Must be <see cref="OrderEntryProtocol.Version"/>.</param>
/// <param name="HeartbeatIntervalSeconds">0 = no heartbeat supervision.</param>
/// <param name="ApiKey">ASCII API key, 1..64 characters.</param>
public readonly record struct LogonMessage(ushort ProtocolVersion, ushort HeartbeatIntervalSeconds, string ApiKey);

/// <summary>A decoded <see cref="MessageType.NewOrder"/>. Prices and quantities in fixed-point units.</summary>
public readonly record struct NewOrderMessage(ulong ClOrdId, ushort MarketId, Side Side, OrderType OrderType,
    TimeInForce TimeInForce, OrderFlags Flags, long Price, long Quantity);

/// <summary>A decoded <see cref="MessageType.Cancel"/>.</summary>
public readonly record struct CancelMessage(ulong ClOrdId, ushort MarketId, ulong OrigClOrdId);

/// <summary>A decoded <see cref="MessageType.Amend"/>.</summary>
public readonly record struct AmendMessage(ulong ClOrdId, ushort MarketId, ulong OrigClOrdId, long NewPrice, long NewQuantity);

/// <summary>A decoded <see cref="MessageType.CancelAll"/>. Market 0 = every market.</summary>
public readonly record struct CancelAllMessage(ulong ClOrdId, ushort MarketId);

/// <summary>A decoded <see cref="MessageType.LogonAccepted"/>.</summary>
public readonly record struct LogonAcceptedMessage(long AccountId, ulong SessionId, long LastSequence, ushort HeartbeatIntervalSeconds);

/// <summary>A decoded <see cref="MessageType.SessionError"/>.</summary>
public readonly record struct SessionErrorMessage(ProtocolErrorCode Code, ulong RefClOrdId, string Text);

/// <summary>
/// Frame layout, sizes and the encoders/decoders of the binary order-entry protocol, version 1.
/// The contract is docs/order-entry-protocol.md. Decoders never throw on bad input: they return
/// false with a <see cref="ProtocolErrorCode"/>. Encoders write whole frames (length prefix
/// included) and return the number of bytes written.
/// </summary>
public static class OrderEntryProtocol
{
    /// <summary>The protocol version this codec speaks.</summary>
    public const ushort Version = 1;
    /// <summary>Size of the length prefix, bytes.</summary>
    public const int LengthPrefixSize = 4;
    /// <summary>Largest body (type byte included) either side may send, bytes.</summary>
    public const int MaxBodyLength = 256;
    /// <summary>Largest whole frame, bytes.</summary>
    public const int MaxFrameLength = LengthPrefixSize + MaxBodyLength;
    /// <summary>Longest API key, characters.</summary>
    public const int MaxApiKeyLength = 64;
    /// <summary>Longest session error text, bytes.</summary>
    public const int MaxErrorTextLength = 160;
    /// <summary>Client order ids are 1 .. 2^40-1.</summary>
    public const int ClOrdIdBits = 40;
    /// <summary>Largest client order id.</summary>
    public const ulong MaxClOrdId = (1UL << ClOrdIdBits) - 1;
    /// <summary>Largest account id that can own orders (2^23-1), so order ids stay positive 64-bit values.</summary>
    public const long MaxAccountId = (1L << (63 - ClOrdIdBits)) - 1;

    /// <summary>Body length of <see cref="MessageType.NewOrder"/>.</summary>
    public const int NewOrderBodyLength = 31;
    /// <summary>Body length of <see cref="MessageType.Cancel"/>.</summary>
    public const int CancelBodyLength = 19;
    /// <summary>Body length of <see cref="MessageType.Amend"/>.</summary>
    public const int AmendBodyLength = 35;
    /// <summary>Body length of <see cref="MessageType.CancelAll"/>.</summary>
    public const int CancelAllBodyLength = 11;
    /// <summary>Body length of <see cref="MessageType.Heartbeat"/> and <see cref="MessageType.HeartbeatAck"/>.</summary>
    public const int HeartbeatBodyLength = 9;
    /// <summary>Body length of <see cref="MessageType.Logout"/> and <see cref="MessageType.LogoutAccepted"/>.</summary>
    public const int EmptyBodyLength = 1;
    /// <summary>Body length of <see cref="MessageType.LogonAccepted"/>.</summary>
    public const int LogonAcceptedBodyLength = 27;
    /// <summary>Body length of <see cref="MessageType.ExecutionReport"/>.</summary>
    public const int ExecutionReportBodyLength = 90;
    /// <summary>Whole-frame length of an execution report.</summary>
    public const int ExecutionReportFrameLength = LengthPrefixSize + ExecutionReportBodyLength;

    /// <summary>The engine order id of client order id <paramref name="clOrdId"/> of <paramref name="accountId"/>: <c>account &lt;&lt; 40 | cl_ord_id</c>.</summary>
    public static long OrderIdOf(long accountId, ulong clOrdId) => (accountId << ClOrdIdBits) | (long)clOrdId;

    /// <summary>The client order id inside an engine order id.</summary>
    public static ulong ClOrdIdOf(long orderId) => (ulong)orderId & MaxClOrdId;

    /// <summary>The account inside an engine order id made by <see cref="OrderIdOf"/>.</summary>
    public static long AccountOf(long orderId) => orderId >> ClOrdIdBits;

    /// <summary>True when <paramref name="clOrdId"/> is in 1 .. <see cref="MaxClOrdId"/>.</summary>
    public static bool IsValidClOrdId(ulong clOrdId) => clOrdId is > 0 and <= MaxClOrdId;

    // ---------------------------------------------------------------- framing

    /// <summary>
    /// Finds the next whole frame in <paramref name="buffer"/>. On success <paramref name="body"/>
    /// is the body (type byte first) and <paramref name="buffer"/> is advanced past the frame.
    /// </summary>
    /// <returns>
    /// <see cref="FrameStatus.Complete"/>, <see cref="FrameStatus.NeedMoreData"/> (nothing consumed),
    /// or <see cref="FrameStatus.Invalid"/> with <paramref name="error"/> set (the stream cannot be
    /// resynchronised: close the session).
    /// </returns>
    public static FrameStatus TryReadFrame(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> body, out ProtocolErrorCode error)
    {
        body = default;
        error = ProtocolErrorCode.None;
        if (buffer.Length < LengthPrefixSize) return FrameStatus.NeedMoreData;
        Span<byte> prefix = stackalloc byte[LengthPrefixSize];
        buffer.Slice(0, LengthPrefixSize).CopyTo(prefix);
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(prefix);
        if (length == 0) { error = ProtocolErrorCode.MalformedFrame; return FrameStatus.Invalid; }
        if (length > MaxBodyLength) { error = ProtocolErrorCode.FrameTooLarge; return FrameStatus.Invalid; }
        if (buffer.Length < LengthPrefixSize + length) return FrameStatus.NeedMoreData;
        body = buffer.Slice(LengthPrefixSize, length);
        buffer = buffer.Slice(LengthPrefixSize + length);
        return FrameStatus.Complete;
    }

    /// <summary>Span version of <see cref="TryReadFrame(ref ReadOnlySequence{byte}, out ReadOnlySequence{byte}, out ProtocolErrorCode)"/>: <paramref name="frameLength"/> is the whole frame's size.</summary>
    public static FrameStatus TryReadFrame(ReadOnlySpan<byte> buffer, out ReadOnlySpan<byte> body, out int frameLength, out ProtocolErrorCode error)
    {
        body = default;
        frameLength = 0;
        error = ProtocolErrorCode.None;
        if (buffer.Length < LengthPrefixSize) return FrameStatus.NeedMoreData;
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(buffer);
        if (length == 0) { error = ProtocolErrorCode.MalformedFrame; return FrameStatus.Invalid; }
        if (length > MaxBodyLength) { error = ProtocolErrorCode.FrameTooLarge; return FrameStatus.Invalid; }
        if (buffer.Length < LengthPrefixSize + (int)length) return FrameStatus.NeedMoreData;
        body = buffer.Slice(LengthPrefixSize, (int)length);
        frameLength = LengthPrefixSize + (int)length;
        return FrameStatus.Complete;
    }

    /// <summary>The message type of a body (its first byte).</summary>
    public static MessageType TypeOf(ReadOnlySpan<byte> body) => (MessageType)body[0];

    // ---------------------------------------------------------------- client -> server

    /// <summary>Writes a Logon frame.</summary>
    /// <exception cref="ArgumentException">The key is empty, longer than <see cref="MaxApiKeyLength"/> or not ASCII.</exception>
    public static int WriteLogon(Span<byte> destination, string apiKey, ushort heartbeatIntervalSeconds = 0, ushort version = Version)
    {
        if (apiKey.Length is 0 or > MaxApiKeyLength || !Ascii.IsValid(apiKey))
            throw new ArgumentException($"API key must be 1..{MaxApiKeyLength} ASCII characters.", nameof(apiKey));
        var body = Begin(destination, 6 + apiKey.Length, MessageType.Logon);
        BinaryPrimitives.WriteUInt16LittleEndian(body[1..], version);
        BinaryPrimitives.WriteUInt16LittleEndian(body[3..], heartbeatIntervalSeconds);
        body[5] = (byte)apiKey.Length;
        Encoding.ASCII.GetBytes(apiKey, body[6..]);
        return LengthPrefixSize + 6 + apiKey.Length;
    }

    /// <summary>Decodes a Logon body.</summary>
    public static bool TryReadLogon(ReadOnlySpan<byte> body, out LogonMessage message, out ProtocolErrorCode error)
    {
        message = default;
        error = ProtocolErrorCode.MalformedFrame;
        if (body.Length < 7) return false;
        int keyLength = body[5];
        if (keyLength is 0 or > MaxApiKeyLength || body.Length != 6 + keyLength) return false;
        var key = body.Slice(6, keyLength);
        if (!Ascii.IsValid(key)) { error = ProtocolErrorCode.InvalidField; return false; }
        message = new LogonMessage(BinaryPrimitives.ReadUInt16LittleEndian(body[1..]), BinaryPrimitives.ReadUInt16LittleEndian(body[3..]),
            Encoding.ASCII.GetString(key));
        error = ProtocolErrorCode.None;
        return true;
    }

    /// <summary>Writes a NewOrder frame.</summary>
    public static int WriteNewOrder(Span<byte> destination, in NewOrderMessage m)
    {
        var body = Begin(destination, NewOrderBodyLength, MessageType.NewOrder);
        BinaryPrimitives.WriteUInt64LittleEndian(body[1..], m.ClOrdId);
        BinaryPrimitives.WriteUInt16LittleEndian(body[9..], m.MarketId);
        body[11] = (byte)m.Side;
        body[12] = (byte)m.OrderType;
        body[13] = (byte)m.TimeInForce;
        body[14] = (byte)m.Flags;
        BinaryPrimitives.WriteInt64LittleEndian(body[15..], m.Price);
        BinaryPrimitives.WriteInt64LittleEndian(body[23..], m.Quantity);
        return LengthPrefixSize + NewOrderBodyLength;
    }

    /// <summary>Decodes a NewOrder body. Enum values are not range-checked here: the matcher rejects undefined ones as <c>malformed_command</c>.</summary>
    public static bool TryReadNewOrder(ReadOnlySpan<byte> body, out NewOrderMessage message)
    {
        if (body.Length != NewOrderBodyLength) { message = default; return false; }
        message = new NewOrderMessage(
            BinaryPrimitives.ReadUInt64LittleEndian(body[1..]),
            BinaryPrimitives.ReadUInt16LittleEndian(body[9..]),
            (Side)body[11], (OrderType)body[12], (TimeInForce)body[13], (OrderFlags)body[14],
            BinaryPrimitives.ReadInt64LittleEndian(body[15..]),
            BinaryPrimitives.ReadInt64LittleEndian(body[23..]));
        return true;
    }

    /// <summary>Writes a Cancel frame.</summary>
    public static int WriteCancel(Span<byte> destination, in CancelMessage m)
    {
        var body = Begin(destination, CancelBodyLength, MessageType.Cancel);
        BinaryPrimitives.WriteUInt64LittleEndian(body[1..], m.ClOrdId);
        BinaryPrimitives.WriteUInt16LittleEndian(body[9..], m.MarketId);
        BinaryPrimitives.WriteUInt64LittleEndian(body[11..], m.OrigClOrdId);
        return LengthPrefixSize + CancelBodyLength;
    }

    /// <summary>Decodes a Cancel body.</summary>
    public static bool TryReadCancel(ReadOnlySpan<byte> body, out CancelMessage message)
    {
        if (body.Length != CancelBodyLength) { message = default; return false; }
        message = new CancelMessage(BinaryPrimitives.ReadUInt64LittleEndian(body[1..]),
            BinaryPrimitives.ReadUInt16LittleEndian(body[9..]), BinaryPrimitives.ReadUInt64LittleEndian(body[11..]));
        return true;
    }

    /// <summary>Writes an Amend frame.</summary>
    public static int WriteAmend(Span<byte> destination, in AmendMessage m)
    {
        var body = Begin(destination, AmendBodyLength, MessageType.Amend);
        BinaryPrimitives.WriteUInt64LittleEndian(body[1..], m.ClOrdId);
        BinaryPrimitives.WriteUInt16LittleEndian(body[9..], m.MarketId);
        BinaryPrimitives.WriteUInt64LittleEndian(body[11..], m.OrigClOrdId);
        BinaryPrimitives.WriteInt64LittleEndian(body[19..], m.NewPrice);
        BinaryPrimitives.WriteInt64LittleEndian(body[27..], m.NewQuantity);
        return LengthPrefixSize + AmendBodyLength;
    }

    /// <summary>Decodes an Amend body.</summary>
    public static bool TryReadAmend(ReadOnlySpan<byte> body, out AmendMessage message)
    {
        if (body.Length != AmendBodyLength) { message = default; return false; }
        message = new AmendMessage(BinaryPrimitives.ReadUInt64LittleEndian(body[1..]),
            BinaryPrimitives.ReadUInt16LittleEndian(body[9..]), BinaryPrimitives.ReadUInt64LittleEndian(body[11..]),
            BinaryPrimitives.ReadInt64LittleEndian(body[19..]), BinaryPrimitives.ReadInt64LittleEndian(body[27..]));
        return true;
    }

    /// <summary>Writes a CancelAll frame.</summary>
    public static int WriteCancelAll(Span<byte> destination, in CancelAllMessage m)
    {
        var body = Begin(destination, CancelAllBodyLength, MessageType.CancelAll);
        BinaryPrimitives.WriteUInt64LittleEndian(body[1..], m.ClOrdId);
        BinaryPrimitives.WriteUInt16LittleEndian(body[9..], m.MarketId);
        return LengthPrefixSize + CancelAllBodyLength;
    }

    /// <summary>Decodes a CancelAll body.</summary>
    public static bool TryReadCancelAll(ReadOnlySpan<byte> body, out CancelAllMessage message)
    {
        if (body.Length != CancelAllBodyLength) { message = default; return false; }
        message = new CancelAllMessage(BinaryPrimitives.ReadUInt64LittleEndian(body[1..]), BinaryPrimitives.ReadUInt16LittleEndian(body[9..]));
        return true;
    }

    /// <summary>Writes a Heartbeat (client) or HeartbeatAck (server) frame.</summary>
    public static int WriteHeartbeat(Span<byte> destination, ulong token, bool ack = false)
    {
        var body = Begin(destination, HeartbeatBodyLength, ack ? MessageType.HeartbeatAck : MessageType.Heartbeat);
        BinaryPrimitives.WriteUInt64LittleEndian(body[1..], token);
        return LengthPrefixSize + HeartbeatBodyLength;
    }

    /// <summary>Decodes a Heartbeat or HeartbeatAck body.</summary>
    public static bool TryReadHeartbeat(ReadOnlySpan<byte> body, out ulong token)
    {
        if (body.Length != HeartbeatBodyLength) { token = 0; return false; }
        token = BinaryPrimitives.ReadUInt64LittleEndian(body[1..]);
        return true;
    }

    /// <summary>Writes a Logout (client) or LogoutAccepted (server) frame.</summary>
    public static int WriteEmpty(Span<byte> destination, MessageType type)
    {
        Begin(destination, EmptyBodyLength, type);
        return LengthPrefixSize + EmptyBodyLength;
    }

    // ---------------------------------------------------------------- server -> client

    /// <summary>Writes a LogonAccepted frame.</summary>
    public static int WriteLogonAccepted(Span<byte> destination, in LogonAcceptedMessage m)
    {
        var body = Begin(destination, LogonAcceptedBodyLength, MessageType.LogonAccepted);
        BinaryPrimitives.WriteInt64LittleEndian(body[1..], m.AccountId);
        BinaryPrimitives.WriteUInt64LittleEndian(body[9..], m.SessionId);
        BinaryPrimitives.WriteInt64LittleEndian(body[17..], m.LastSequence);
        BinaryPrimitives.WriteUInt16LittleEndian(body[25..], m.HeartbeatIntervalSeconds);
        return LengthPrefixSize + LogonAcceptedBodyLength;
    }

    /// <summary>Decodes a LogonAccepted body.</summary>
    public static bool TryReadLogonAccepted(ReadOnlySpan<byte> body, out LogonAcceptedMessage message)
    {
        if (body.Length != LogonAcceptedBodyLength) { message = default; return false; }
        message = new LogonAcceptedMessage(BinaryPrimitives.ReadInt64LittleEndian(body[1..]), BinaryPrimitives.ReadUInt64LittleEndian(body[9..]),
            BinaryPrimitives.ReadInt64LittleEndian(body[17..]), BinaryPrimitives.ReadUInt16LittleEndian(body[25..]));
        return true;
    }

    /// <summary>Writes a SessionError frame; the text is cut to <see cref="MaxErrorTextLength"/> bytes and non-ASCII replaced by '?'.</summary>
    public static int WriteSessionError(Span<byte> destination, ProtocolErrorCode code, ulong refClOrdId, string text)
    {
        int n = Math.Min(text.Length, MaxErrorTextLength);
        var body = Begin(destination, 12 + n, MessageType.SessionError);
        BinaryPrimitives.WriteUInt16LittleEndian(body[1..], (ushort)code);
        BinaryPrimitives.WriteUInt64LittleEndian(body[3..], refClOrdId);
        body[11] = (byte)n;
        for (int i = 0; i < n; i++) body[12 + i] = text[i] < 128 ? (byte)text[i] : (byte)'?';
        return LengthPrefixSize + 12 + n;
    }

    /// <summary>Decodes a SessionError body.</summary>
    public static bool TryReadSessionError(ReadOnlySpan<byte> body, out SessionErrorMessage message)
    {
        message = default;
        if (body.Length < 12) return false;
        int n = body[11];
        if (body.Length != 12 + n) return false;
        message = new SessionErrorMessage((ProtocolErrorCode)BinaryPrimitives.ReadUInt16LittleEndian(body[1..]),
            BinaryPrimitives.ReadUInt64LittleEndian(body[3..]), Encoding.ASCII.GetString(body.Slice(12, n)));
        return true;
    }

    /// <summary>
    /// Writes an ExecutionReport frame (<see cref="ExecutionReportFrameLength"/> bytes).
    /// <paramref name="requestClOrdId"/> is the client order id of the request the report answers
    /// (0 for unsolicited reports such as maker fills).
    /// </summary>
    public static int WriteExecutionReport(Span<byte> destination, in ExecutionReport r, ulong requestClOrdId)
    {
        var body = Begin(destination, ExecutionReportBodyLength, MessageType.ExecutionReport);
        body[1] = (byte)r.Type;
        body[2] = (byte)r.CommandType;
        body[3] = (byte)r.RejectReason;
        body[4] = (byte)r.CancelReason;
        body[5] = (byte)r.Side;
        body[6] = (byte)r.Liquidity;
        body[7] = (byte)r.State;
        BinaryPrimitives.WriteUInt16LittleEndian(body[8..], r.MarketId);
        BinaryPrimitives.WriteUInt64LittleEndian(body[10..], r.OrderId > 0 ? ClOrdIdOf(r.OrderId) : 0);
        BinaryPrimitives.WriteUInt64LittleEndian(body[18..], requestClOrdId);
        BinaryPrimitives.WriteInt64LittleEndian(body[26..], r.OrderId);
        BinaryPrimitives.WriteInt64LittleEndian(body[34..], r.Sequence.Value);
        BinaryPrimitives.WriteInt64LittleEndian(body[42..], r.Timestamp);
        BinaryPrimitives.WriteInt64LittleEndian(body[50..], r.Price.Units);
        BinaryPrimitives.WriteInt64LittleEndian(body[58..], r.Quantity.Units);
        BinaryPrimitives.WriteInt64LittleEndian(body[66..], r.LeavesQuantity.Units);
        BinaryPrimitives.WriteInt64LittleEndian(body[74..], r.TradeId);
        BinaryPrimitives.WriteInt64LittleEndian(body[82..], r.CounterOrderId);
        return ExecutionReportFrameLength;
    }

    /// <summary>Decodes an ExecutionReport body. Account ids are not on the wire: <see cref="ExecutionReport.AccountId"/> is derived from the order id.</summary>
    public static bool TryReadExecutionReport(ReadOnlySpan<byte> body, out ExecutionReport report, out ulong clOrdId, out ulong requestClOrdId)
    {
        report = default;
        clOrdId = requestClOrdId = 0;
        if (body.Length != ExecutionReportBodyLength) return false;
        report.Type = (ReportType)body[1];
        report.CommandType = (CommandType)body[2];
        report.RejectReason = (RejectReason)body[3];
        report.CancelReason = (CancelReason)body[4];
        report.Side = (Side)body[5];
        report.Liquidity = (Liquidity)body[6];
        report.State = (MarketState)body[7];
        report.MarketId = BinaryPrimitives.ReadUInt16LittleEndian(body[8..]);
        clOrdId = BinaryPrimitives.ReadUInt64LittleEndian(body[10..]);
        requestClOrdId = BinaryPrimitives.ReadUInt64LittleEndian(body[18..]);
        report.OrderId = BinaryPrimitives.ReadInt64LittleEndian(body[26..]);
        report.AccountId = report.OrderId > 0 ? AccountOf(report.OrderId) : 0;
        report.Sequence = new Primitives.SequenceNumber(BinaryPrimitives.ReadInt64LittleEndian(body[34..]));
        report.Timestamp = BinaryPrimitives.ReadInt64LittleEndian(body[42..]);
        report.Price = new Primitives.Price(BinaryPrimitives.ReadInt64LittleEndian(body[50..]));
        report.Quantity = new Primitives.Quantity(BinaryPrimitives.ReadInt64LittleEndian(body[58..]));
        report.LeavesQuantity = new Primitives.Quantity(BinaryPrimitives.ReadInt64LittleEndian(body[66..]));
        report.TradeId = BinaryPrimitives.ReadInt64LittleEndian(body[74..]);
        report.CounterOrderId = BinaryPrimitives.ReadInt64LittleEndian(body[82..]);
        return true;
    }

    /// <summary>
    /// True for the report that acknowledges a request: accepted, rejected, amended, cancel-all
    /// done, market state changed, or cancelled with reason <c>requested</c>.
    /// </summary>
    public static bool IsAcknowledgement(in ExecutionReport r) => r.Type switch
    {
        ReportType.Accepted or ReportType.Rejected or ReportType.Amended or ReportType.CancelAllDone or ReportType.MarketStateChanged => true,
        ReportType.Cancelled => r.CommandType == CommandType.Cancel,
        _ => false,
    };

    private static Span<byte> Begin(Span<byte> destination, int bodyLength, MessageType type)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)bodyLength);
        var body = destination.Slice(LengthPrefixSize, bodyLength);
        body[0] = (byte)type;
        return body;
    }
}

/// <summary>Outcome of <see cref="OrderEntryProtocol.TryReadFrame(ref ReadOnlySequence{byte}, out ReadOnlySequence{byte}, out ProtocolErrorCode)"/>.</summary>
public enum FrameStatus
{
    /// <summary>A whole frame was read.</summary>
    Complete,
    /// <summary>The buffer holds only part of a frame.</summary>
    NeedMoreData,
    /// <summary>The length prefix is invalid; the stream cannot continue.</summary>
    Invalid,
}
