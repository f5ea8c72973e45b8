using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Gateway.Protocol;

namespace ExchangeHealth.Load.Client;

/// <summary>
/// A request sent by an <see cref="OrderEntryClient"/> and not yet acknowledged: the whole request,
/// so that it can be sent again on a new session after a lost connection (<see cref="OrderEntryClient.Resend"/>).
/// </summary>
/// <param name="ClOrdId">The request's client order id (the key acknowledgements are matched by).</param>
/// <param name="Type">The message sent: <see cref="MessageType.NewOrder"/>, <see cref="MessageType.Cancel"/>, <see cref="MessageType.Amend"/> or <see cref="MessageType.CancelAll"/>.</param>
/// <param name="MarketId">The market named in the request (0 for a cancel-all over every market).</param>
/// <param name="OrigClOrdId">Cancel and amend: the client order id of the order they act on; otherwise 0.</param>
/// <param name="Side">New order: the side.</param>
/// <param name="OrderType">New order: limit or market.</param>
/// <param name="TimeInForce">New order: GTC, IOC or FOK.</param>
/// <param name="Flags">New order: flags (post-only).</param>
/// <param name="Price">New order: the limit price; amend: the new price (fixed-point units).</param>
/// <param name="Quantity">New order: the quantity; amend: the new open quantity (fixed-point units).</param>
/// <param name="SentTimestamp">When the request was handed to the client (<see cref="TimeProvider.GetTimestamp"/> of the client's clock).</param>
/// <param name="Tag">A value the caller attached (the load driver stores the command's intended send time here).</param>
public readonly record struct OutstandingRequest(ulong ClOrdId, MessageType Type, ushort MarketId, ulong OrigClOrdId,
    Side Side, OrderType OrderType, TimeInForce TimeInForce, OrderFlags Flags, long Price, long Quantity, long SentTimestamp, long Tag);

/// <summary>Called on the receive loop for the acknowledgement of an outstanding request (see <see cref="OrderEntryProtocol.IsAcknowledgement"/>).</summary>
/// <param name="client">The client that received it.</param>
/// <param name="request">The request, as registered when it was sent; it is no longer outstanding.</param>
/// <param name="acknowledgement">The report (accepted, rejected, amended, cancelled by request, cancel-all done); valid only during the call.</param>
/// <param name="receivedTimestamp">When the bytes holding the report were read (<see cref="TimeProvider.GetTimestamp"/> ticks).</param>
public delegate void AcknowledgementHandler(OrderEntryClient client, in OutstandingRequest request, in ExecutionReport acknowledgement, long receivedTimestamp);

/// <summary>Called on the receive loop for every execution report, acknowledgements included, before <see cref="OrderEntryClient.Acknowledged"/>.</summary>
/// <param name="client">The client that received it.</param>
/// <param name="report">The report; valid only during the call.</param>
/// <param name="clOrdId">The client order id of the order the report is about (a maker fill names the maker's own id).</param>
/// <param name="requestClOrdId">The client order id of the request the report answers (0 for unsolicited reports such as maker fills).</param>
/// <param name="receivedTimestamp">When the bytes holding the report were read (<see cref="TimeProvider.GetTimestamp"/> ticks).</param>
public delegate void ExecutionReportHandler(OrderEntryClient client, in ExecutionReport report, ulong clOrdId, ulong requestClOrdId, long receivedTimestamp);

/// <summary>Called on the receive loop when a session error names an outstanding request: the request will not be acknowledged and is no longer outstanding.</summary>
/// <param name="client">The client.</param>
/// <param name="request">The request.</param>
/// <param name="error">The session error that refused it.</param>
public delegate void RequestFailedHandler(OrderEntryClient client, in OutstandingRequest request, SessionErrorMessage error);

/// <summary>Called on the receive loop for every <see cref="MessageType.SessionError"/> after logon.</summary>
/// <param name="client">The client.</param>
/// <param name="error">The error.</param>
public delegate void SessionErrorHandler(OrderEntryClient client, SessionErrorMessage error);

/// <summary>Called once when the session ends, whoever ended it.</summary>
/// <param name="client">The client.</param>
/// <param name="error">Why, or null after a clean logout or <see cref="OrderEntryClient.DisposeAsync"/>.</param>
public delegate void DisconnectedHandler(OrderEntryClient client, Exception? error);

/// <summary>The life of an <see cref="OrderEntryClient"/>: created, connecting, logged on, closed. It never goes back.</summary>
public enum OrderEntryClientState
{
    /// <summary>Not connected yet.</summary>
    Created,
    /// <summary>Connecting or waiting for <c>LogonAccepted</c>.</summary>
    Connecting,
    /// <summary>Logged on: requests may be sent.</summary>
    LoggedOn,
    /// <summary>The session ended (logout, error, or disposal).</summary>
    Closed,
}

/// <summary>The order-entry session failed: cannot connect, logon refused, connection lost, or a request refused by a session error.</summary>
public sealed class OrderEntryException : Exception
{
    /// <summary>Creates an exception without details.</summary>
    public OrderEntryException() : this("order-entry session error") { }

    /// <summary>Creates an exception with a message.</summary>
    public OrderEntryException(string message) : base(message) { }

    /// <summary>Creates an exception with a message and its cause.</summary>
    public OrderEntryException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates an exception for a session error sent by the server.</summary>
    public OrderEntryException(string message, ProtocolErrorCode code) : base(message) => Code = code;

    /// <summary>The server's session error code, or <see cref="ProtocolErrorCode.None"/> when the failure is local (socket, timeout).</summary>
    public ProtocolErrorCode Code { get; }
}

/// <summary>Names of protocol values, as used in reports and logs.</summary>
public static class ProtocolNames
{
    /// <summary>snake_case name of a session error code as in docs/order-entry-protocol.md, e.g. <c>invalid_field</c>.</summary>
    public static string Name(this ProtocolErrorCode code) => code switch
    {
        ProtocolErrorCode.None => "none",
        ProtocolErrorCode.MalformedFrame => "malformed_frame",
        ProtocolErrorCode.FrameTooLarge => "frame_too_large",
        ProtocolErrorCode.UnknownMessageType => "unknown_message_type",
        ProtocolErrorCode.NotLoggedOn => "not_logged_on",
        ProtocolErrorCode.AuthenticationFailed => "authentication_failed",
        ProtocolErrorCode.AlreadyLoggedOn => "already_logged_on",
        ProtocolErrorCode.UnsupportedVersion => "unsupported_version",
        ProtocolErrorCode.InvalidField => "invalid_field",
        ProtocolErrorCode.HeartbeatTimeout => "heartbeat_timeout",
        ProtocolErrorCode.ServerShuttingDown => "server_shutting_down",
        ProtocolErrorCode.SlowConsumer => "slow_consumer",
        ProtocolErrorCode.TooManySessions => "too_many_sessions",
        _ => "unknown_" + ((ushort)code).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
