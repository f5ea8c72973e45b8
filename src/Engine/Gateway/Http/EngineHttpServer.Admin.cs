using System.Globalization;
using ExchangeHealth.Engine.Service;
using Microsoft.AspNetCore.Http;

namespace ExchangeHealth.Engine.Gateway.Http;

// The admin API: market states, fault injection and the event log (admin token only).
public sealed partial class EngineHttpServer
{
    private const int DefaultEventLimit = 100;

    private static readonly Dictionary<string, string> _marketStateFields = new()
    {
        ["state"] = "one of \"online\", \"post_only\", \"limit_only\", \"cancel_only\", \"halted\"",
    };

    private static readonly Dictionary<string, string> _injectFaultFields = new()
    {
        ["fault"] = "one of " + string.Join(", ", EngineFaults.All.Select(k => $"\"{EngineFaults.NameOf(k)}\"")),
        ["duration_seconds"] = $"a number of seconds in (0, {EngineFaults.MaxDuration.TotalSeconds.ToString(CultureInfo.InvariantCulture)}]",
        ["value"] = "a number",
    };

    private async Task SetMarketStateAsync(HttpContext context)
    {
        var market = HttpRequestReader.ResolveMarket(_engine.Markets, RouteValue(context, "market"), "market");
        byte[] body = await HttpRequestReader.ReadBodyAsync(context, _options.MaxRequestBodyBytes).ConfigureAwait(false);
        var request = HttpRequestReader.Deserialize(body, HttpJsonContext.Api.MarketStateRequest, _marketStateFields)!;
        if (request.State is null) throw HttpApiException.Missing("state");
        if (!Reasons.TryParseMarketState(request.State, out var state))
            throw HttpApiException.Invalid("state", $"state must be {_marketStateFields["state"]}");
        // An administrative command: account 0, no client order id.
        var command = Command.ChangeMarketState(market.Id, state);
        var receiver = new HttpCommandReceiver(_engine);
        var status = _engine.Submit(ref command, receiver, 0, 0);
        await AnswerAsync(context, status, receiver, 0, 0, market.Id, recordAck: false).ConfigureAwait(false);
        // Incident timelines read market state changes from the event log.
        foreach (var report in receiver.Reports)
        {
            if (report.Type != ReportType.MarketStateChanged) continue;
            _engine.Events.Write("market.state_changed", $"market {market.Symbol} is now {report.State.Name()}",
                new Dictionary<string, string>
                {
                    ["market"] = market.Symbol,
                    ["state"] = report.State.Name(),
                    ["sequence"] = report.Sequence.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
                });
        }
    }

    private Task ListFaultsAsync(HttpContext context)
    {
        var active = _engine.Faults.Active;
        var now = _engine.Options.TimeProvider.GetUtcNow();
        var faults = new FaultJson[active.Count];
        for (int i = 0; i < faults.Length; i++) faults[i] = ToJson(active[i], now);
        return WriteJsonAsync(context, StatusCodes.Status200OK, new FaultsResponse(faults), HttpJsonContext.Api.FaultsResponse);
    }

    private async Task InjectFaultAsync(HttpContext context)
    {
        byte[] body = await HttpRequestReader.ReadBodyAsync(context, _options.MaxRequestBodyBytes).ConfigureAwait(false);
        var request = HttpRequestReader.Deserialize(body, HttpJsonContext.Api.InjectFaultRequest, _injectFaultFields)!;
        if (request.Fault is null) throw HttpApiException.Missing("fault");
        if (!EngineFaults.TryParse(request.Fault, out var kind))
            throw HttpApiException.Invalid("fault", $"fault must be {_injectFaultFields["fault"]}");
        if (request.DurationSeconds is not { } seconds) throw HttpApiException.Missing("duration_seconds");
        if (seconds <= 0 || seconds > EngineFaults.MaxDuration.TotalSeconds)
            throw HttpApiException.Invalid("duration_seconds", $"duration_seconds must be {_injectFaultFields["duration_seconds"]}");
        double value = CheckFaultValue(kind, request.Value);
        FaultInfo info;
        try
        {
            info = _engine.Faults.Inject(kind, TimeSpan.FromSeconds(seconds), value);
        }
        catch (ArgumentOutOfRangeException e)
        {
            // The checks above mirror EngineFaults.Inject; this is a backstop, still the client's error.
            string field = e.ParamName == "duration" ? "duration_seconds" : "value";
            throw HttpApiException.Invalid(field, e.Message.Split(" (Parameter")[0]);
        }
        await WriteJsonAsync(context, StatusCodes.Status200OK, ToJson(info, info.StartedAt), HttpJsonContext.Api.FaultJson).ConfigureAwait(false);
    }

    /// <summary>The fault's value in its unit, checked against the range <see cref="EngineFaults"/> accepts.</summary>
    /// <exception cref="HttpApiException">400 naming <c>value</c>.</exception>
    private static double CheckFaultValue(FaultKind kind, double? value)
    {
        string name = EngineFaults.NameOf(kind);
        (double Max, string Meaning)? range = kind switch
        {
            FaultKind.MatcherLatency => (EngineFaults.MaxMatcherLatencyMicroseconds, "microseconds of busy time added to every command"),
            FaultKind.SlowFsync => (EngineFaults.MaxSlowFsyncMilliseconds, "milliseconds added to every journal fsync"),
            FaultKind.InternalRejects => (1, "the share of commands rejected internal"),
            _ => null,
        };
        if (range is not { } r)
        {
            if (value is { } v && v != 0) throw HttpApiException.Invalid("value", $"{name} takes no value");
            return 0;
        }
        string limits = r.Max.ToString(CultureInfo.InvariantCulture);
        if (value is null) throw HttpApiException.Field("value", "missing_field", $"{name} needs value: {r.Meaning}, in (0, {limits}]");
        if (value <= 0 || value > r.Max)
            throw HttpApiException.Invalid("value", $"value of {name} ({r.Meaning}) must be in (0, {limits}]");
        return value.Value;
    }

    private async Task ClearFaultAsync(HttpContext context)
    {
        string name = RouteValue(context, "fault") ?? "";
        if (!EngineFaults.TryParse(name, out var kind))
            throw HttpApiException.Invalid("fault", $"fault must be {_injectFaultFields["fault"]}");
        bool cleared = _engine.Faults.Clear(kind);
        await WriteJsonAsync(context, StatusCodes.Status200OK, new FaultClearedResponse(EngineFaults.NameOf(kind), cleared),
            HttpJsonContext.Api.FaultClearedResponse).ConfigureAwait(false);
    }

    private Task ClearAllFaultsAsync(HttpContext context)
    {
        var cleared = new List<string>();
        foreach (var kind in EngineFaults.All)
            if (_engine.Faults.Clear(kind)) cleared.Add(EngineFaults.NameOf(kind));
        return WriteJsonAsync(context, StatusCodes.Status200OK, new FaultsClearedResponse([.. cleared]), HttpJsonContext.Api.FaultsClearedResponse);
    }

    private Task EventsAsync(HttpContext context)
    {
        int limit = HttpRequestReader.QueryInt(context, "limit", DefaultEventLimit, MaxQueryLimit);
        var recent = _engine.Events.Recent(limit);
        var events = new EventJson[recent.Count];
        for (int i = 0; i < events.Length; i++)
            events[i] = new EventJson(recent[i].Timestamp, recent[i].Kind, recent[i].Message, recent[i].Fields);
        return WriteJsonAsync(context, StatusCodes.Status200OK, new EventsResponse(events), HttpJsonContext.Api.EventsResponse);
    }

    /// <summary>
    /// <c>GET /admin/state</c>: the last processed sequence, the trade count and the SHA-256 state
    /// hash, read together on the matcher thread (the crash test compares it with a full replay).
    /// </summary>
    private async Task StateAsync(HttpContext context)
    {
        var state = await _engine.QueryAsync(e => new StateResponse(e.LastSequence.Value, 0, e.LastTradeId, e.ComputeStateHash()), context.RequestAborted)
            .WaitAsync(_options.RequestTimeout, context.RequestAborted).ConfigureAwait(false);
        state = state with { DurableSequence = _engine.DurableSequence.Value };
        await WriteJsonAsync(context, StatusCodes.Status200OK, state, HttpJsonContext.Api.StateResponse).ConfigureAwait(false);
    }

    private static FaultJson ToJson(FaultInfo fault, DateTimeOffset now) =>
        new(fault.Name, fault.Value, fault.StartedAt, fault.ExpiresAt, Math.Max(0, (fault.ExpiresAt - now).TotalSeconds));
}
