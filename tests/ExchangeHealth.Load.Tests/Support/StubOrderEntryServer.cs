using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Gateway;
using ExchangeHealth.Engine.Gateway.Protocol;
using ExchangeHealth.Engine.Service;

namespace ExchangeHealth.Load.Tests.Support;

/// <summary>
/// A minimal order-entry TCP server for tests, in front of a real <see cref="EngineService"/>:
/// logon with the engine's credentials, new order / cancel / amend / cancel-all submitted to the
/// service, reports written back, heartbeats echoed, logout. It stands in for the gateway's
/// OrderEntryServer until that is merged; it checks little (no heartbeat supervision, no slow
/// consumer bound).
/// </summary>
public sealed class StubOrderEntryServer : IAsyncDisposable
{
    private readonly EngineService _service;
    private readonly EngineCredentials _credentials;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private readonly List<Session> _sessions = [];
    private long _nextSession;

    public StubOrderEntryServer(EngineService service, EngineCredentials credentials)
    {
        _service = service;
        _credentials = credentials;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>When set, new sessions close their socket right after this many commands (to test lost connections).</summary>
    public int? DropAfterCommands { get; set; }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token).ConfigureAwait(false);
                socket.NoDelay = true;
                var session = new Session(this, socket, (ulong)Interlocked.Increment(ref _nextSession));
                lock (_sessions) _sessions.Add(session);
                session.Start();
            }
        }
        catch (OperationCanceledException) { }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _acceptLoop.ConfigureAwait(false);
        Session[] sessions;
        lock (_sessions) sessions = [.. _sessions];
        foreach (var s in sessions) await s.CloseAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private sealed class Session(StubOrderEntryServer server, Socket socket, ulong id) : IReportReceiver
    {
        private readonly Channel<byte[]> _outbound = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
        private Task? _reader;
        private Task? _writer;
        private long _account;
        private int _commands;

        public void Start()
        {
            _reader = Task.Run(ReadLoopAsync);
            _writer = Task.Run(WriteLoopAsync);
        }

        public async Task CloseAsync()
        {
            _outbound.Writer.TryComplete();
            try { socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
            socket.Dispose();
            if (_reader is not null) await _reader.ConfigureAwait(false);
            if (_writer is not null) await _writer.ConfigureAwait(false);
        }

        public void OnReport(in ExecutionReport report, ulong requestClOrdId, long receivedTimestamp)
        {
            var frame = new byte[OrderEntryProtocol.ExecutionReportFrameLength];
            OrderEntryProtocol.WriteExecutionReport(frame, report, requestClOrdId);
            _outbound.Writer.TryWrite(frame);
        }

        private void Send(Func<byte[], int> write)
        {
            var buffer = new byte[OrderEntryProtocol.MaxFrameLength];
            int n = write(buffer);
            _outbound.Writer.TryWrite(buffer[..n]);
        }

        private async Task WriteLoopAsync()
        {
            try
            {
                await foreach (var frame in _outbound.Reader.ReadAllAsync().ConfigureAwait(false))
                {
                    if (frame.Length == 0) break; // close marker
                    await socket.SendAsync(frame, SocketFlags.None).ConfigureAwait(false);
                }
                socket.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException) { }
            catch (ObjectDisposedException) { }
        }

        private void Close() => _outbound.Writer.TryWrite([]);

        private async Task ReadLoopAsync()
        {
            var buffer = new byte[64 * 1024];
            int filled = 0;
            try
            {
                while (true)
                {
                    int n = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None).ConfigureAwait(false);
                    if (n == 0) break;
                    filled += n;
                    int consumed = 0;
                    while (true)
                    {
                        var status = OrderEntryProtocol.TryReadFrame(buffer.AsSpan(consumed, filled - consumed), out var body, out int length, out _);
                        if (status != FrameStatus.Complete) break;
                        bool keepOpen = Handle(body.ToArray());
                        consumed += length;
                        if (!keepOpen)
                        {
                            Close();
                            return;
                        }
                    }
                    filled -= consumed;
                    Buffer.BlockCopy(buffer, consumed, buffer, 0, filled);
                }
            }
            catch (SocketException) { }
            catch (ObjectDisposedException) { }
            finally
            {
                if (_account != 0) server._service.UnregisterAccount(_account, this);
                Close();
            }
        }

        private bool Handle(byte[] body)
        {
            var type = OrderEntryProtocol.TypeOf(body);
            if (type == MessageType.Logon)
            {
                if (!OrderEntryProtocol.TryReadLogon(body, out var logon, out _)
                    || !server._credentials.TryAuthenticate(logon.ApiKey, out var entry))
                {
                    Send(b => OrderEntryProtocol.WriteSessionError(b, ProtocolErrorCode.AuthenticationFailed, 0, "unknown API key"));
                    return false;
                }
                _account = entry!.AccountId;
                server._service.RegisterAccount(_account, this);
                Send(b => OrderEntryProtocol.WriteLogonAccepted(b, new LogonAcceptedMessage(_account, id, server._service.DurableSequence.Value, logon.HeartbeatIntervalSeconds)));
                return true;
            }
            if (_account == 0)
            {
                Send(b => OrderEntryProtocol.WriteSessionError(b, ProtocolErrorCode.NotLoggedOn, 0, "log on first"));
                return true;
            }
            if (server.DropAfterCommands is { } limit && ++_commands > limit) return false;
            Command command;
            ulong request;
            switch (type)
            {
                case MessageType.NewOrder:
                    OrderEntryProtocol.TryReadNewOrder(body, out var o);
                    command = new Command
                    {
                        Type = CommandType.NewOrder, MarketId = o.MarketId, AccountId = _account, OrderId = OrderEntryProtocol.OrderIdOf(_account, o.ClOrdId),
                        Side = o.Side, OrderType = o.OrderType, TimeInForce = o.TimeInForce, Flags = o.Flags,
                        Price = new Engine.Primitives.Price(o.Price), Quantity = new Engine.Primitives.Quantity(o.Quantity),
                    };
                    request = o.ClOrdId;
                    break;
                case MessageType.Cancel:
                    OrderEntryProtocol.TryReadCancel(body, out var c);
                    command = Command.CancelOrder(c.MarketId, _account, OrderEntryProtocol.OrderIdOf(_account, c.OrigClOrdId));
                    request = c.ClOrdId;
                    break;
                case MessageType.Amend:
                    OrderEntryProtocol.TryReadAmend(body, out var a);
                    command = Command.AmendOrder(a.MarketId, _account, OrderEntryProtocol.OrderIdOf(_account, a.OrigClOrdId), a.NewPrice, a.NewQuantity);
                    request = a.ClOrdId;
                    break;
                case MessageType.CancelAll:
                    OrderEntryProtocol.TryReadCancelAll(body, out var all);
                    command = Command.CancelAllOrders(_account, all.MarketId);
                    request = all.ClOrdId;
                    break;
                case MessageType.Heartbeat:
                    OrderEntryProtocol.TryReadHeartbeat(body, out ulong token);
                    Send(b => OrderEntryProtocol.WriteHeartbeat(b, token, ack: true));
                    return true;
                case MessageType.Logout:
                    Send(b => OrderEntryProtocol.WriteEmpty(b, MessageType.LogoutAccepted));
                    return false;
                default:
                    Send(b => OrderEntryProtocol.WriteSessionError(b, ProtocolErrorCode.UnknownMessageType, 0, "unknown type"));
                    return true;
            }
            if (!OrderEntryProtocol.IsValidClOrdId(request))
            {
                Send(b => OrderEntryProtocol.WriteSessionError(b, ProtocolErrorCode.InvalidField, request, "cl_ord_id"));
                return true;
            }
            var status = server._service.Submit(ref command, this, request, Stopwatch.GetTimestamp());
            if (status is SubmitStatus.Overload or SubmitStatus.NotReady)
            {
                var reject = new ExecutionReport
                {
                    Type = ReportType.Rejected, CommandType = command.Type, MarketId = command.MarketId, OrderId = command.OrderId,
                    AccountId = _account, RejectReason = status == SubmitStatus.Overload ? RejectReason.Overload : RejectReason.Internal,
                };
                OnReport(reject, request, 0);
            }
            else if (status == SubmitStatus.Stopping)
            {
                Send(b => OrderEntryProtocol.WriteSessionError(b, ProtocolErrorCode.ServerShuttingDown, 0, "stopping"));
                return false;
            }
            return true;
        }
    }
}
