using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ExchangeHealth.Chaos.Platform;

namespace ExchangeHealth.Cli;

/// <summary>
/// <c>exh up --demo</c>: a short game day on the running platform, narrated with timestamps:
/// steady state; a <c>matcher_stall</c> fault through the engine admin API (MatcherStalled:
/// heartbeat older than 5 s for 10 s, severity critical, so the page route of
/// config/alertmanager.yml pages at once); pending, firing, the page in the outbox, the incident;
/// acknowledge through the API; clear the fault; the alert resolves, the incident becomes
/// mitigated; resolve it through the API; the post-incident report's paths. Every step has a
/// budget, and the whole demo at most 3 minutes; a step that does not happen in time aborts the demo
/// (exit code 1) with what was seen.
/// </summary>
internal sealed class UpDemo(UpSession session, TextWriter output)
{
    private const string Alert = "MatcherStalled";
    private const string By = "exh-up-demo";
    private static readonly TimeSpan _overall = TimeSpan.FromMinutes(3);
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await RunStepsAsync(cancellationToken).ConfigureAwait(false);
            Say($"demo done in {_clock.Elapsed.TotalSeconds:0} s: stopping everything");
            return 0;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Say("demo interrupted");
            return 1;
        }
        catch (DemoStepFailed e)
        {
            Console.Error.WriteLine($"exh up --demo: {e.Message}");
            Say($"demo aborted: {e.Message}. Logs: {session.Platform.Endpoints.LogDirectory}");
            return 1;
        }
    }

    private async Task RunStepsAsync(CancellationToken ct)
    {
        var p = session.Platform;
        Say("demo: a game day in about two minutes (at most about three). Steady state first: order flow, canary green, every target up.");
        await WaitAsync("steady state (3 targets up, canary probes succeeding, orders flowing)", TimeSpan.FromSeconds(45), async () =>
        {
            var up = await session.QueryAsync("up", ct).ConfigureAwait(false);
            var canary = await session.QueryAsync("min(exh_probe_success{job=\"exh-canary\"})", ct).ConfigureAwait(false);
            var rate = await session.QueryAsync("sum(rate(exh_orders_received_total{job=\"exh-engine\"}[10s]))", ct).ConfigureAwait(false);
            bool flow = p.Components.Contains(ComponentNames.Load) ? rate.FirstOrDefault() > 0 : true;
            return up.Count >= 3 && up.All(v => v == 1) && canary.Count == 1 && canary[0] == 1 && flow
                ? string.Create(CultureInfo.InvariantCulture, $"{up.Count} targets up, canary green, {rate.FirstOrDefault():0.#} orders/s") : null;
        }, ct).ConfigureAwait(false);
        Say("holding the steady state for 15 s");
        await Task.Delay(TimeSpan.FromSeconds(15), ct).ConfigureAwait(false);

        var injectedAt = DateTimeOffset.UtcNow;
        await Guard("inject the fault", () => session.EngineAdminAsync(HttpMethod.Post, "admin/faults", new Dictionary<string, object> { ["fault"] = "matcher_stall", ["duration_seconds"] = 25 }, ct)).ConfigureAwait(false);
        Say("FAULT: matcher_stall for 25 s injected through POST /admin/faults: the matcher thread stops, its heartbeat too. "
            + $"{Alert} (heartbeat older than 5 s, for 10 s, severity critical) should page in about 15 s");

        await WaitAsync($"{Alert} pending", TimeSpan.FromSeconds(30), async () =>
        {
            var (pending, firing) = await session.AlertCountsAsync(Alert, ct).ConfigureAwait(false);
            return pending + firing > 0 ? $"{Alert} is pending (its 'for: 10s' runs)" : null;
        }, ct).ConfigureAwait(false);
        await WaitAsync($"{Alert} firing", TimeSpan.FromSeconds(30), async () =>
        {
            var (_, firing) = await session.AlertCountsAsync(Alert, ct).ConfigureAwait(false);
            return firing > 0 ? $"{Alert} is firing" : null;
        }, ct).ConfigureAwait(false);
        await WaitAsync("the page (outbox, receiver exchange-oncall)", TimeSpan.FromSeconds(20), async () =>
        {
            using var outbox = await session.MonitorAsync(HttpMethod.Get, "api/v1/outbox?limit=1000", null, ct).ConfigureAwait(false);
            var page = outbox.RootElement.EnumerateArray().FirstOrDefault(e => e.GetProperty("receiver").GetString() == "exchange-oncall"
                && e.GetProperty("groupKey").GetString()!.Contains(Alert, StringComparison.Ordinal) && e.GetProperty("createdAt").GetDateTimeOffset() >= injectedAt);
            return page.ValueKind == JsonValueKind.Object
                ? $"PAGE: {page.GetProperty("kind").GetString()} to exchange-oncall, {page.GetProperty("state").GetString()} (console receiver: see {p.LogOf(ComponentNames.Monitor)})"
                : null;
        }, ct).ConfigureAwait(false);

        long id = 0;
        await WaitAsync("the incident", TimeSpan.FromSeconds(20), async () =>
        {
            using var list = await session.MonitorAsync(HttpMethod.Get, "api/v1/incidents?status=open", null, ct).ConfigureAwait(false);
            // The incident of the MatcherStalled group (its group key names the alert); the SLO burn
            // pages the stall also causes open their own incidents, listed as well.
            var fresh = list.RootElement.GetProperty("incidents").EnumerateArray()
                .Where(i => i.GetProperty("createdAt").GetDateTimeOffset() >= injectedAt.AddSeconds(-1)).ToList();
            var stalled = fresh.FirstOrDefault(i => (i.GetProperty("groupKey").GetString() ?? "").Contains(Alert, StringComparison.Ordinal)
                || (i.GetProperty("title").GetString() ?? "").StartsWith(Alert, StringComparison.Ordinal));
            if (stalled.ValueKind != JsonValueKind.Object) return null;
            id = stalled.GetProperty("id").GetInt64();
            string others = string.Join("; ", fresh.Where(i => i.GetProperty("id").GetInt64() != id)
                .Select(i => $"#{i.GetProperty("id").GetInt64()} {i.GetProperty("title").GetString()}"));
            return $"INCIDENT #{id} opened: {stalled.GetProperty("title").GetString()} ({stalled.GetProperty("severity").GetString()}, {stalled.GetProperty("status").GetString()})"
                + (others.Length == 0 ? "" : $"\n           the stall's other pages opened incidents too: {others}");
        }, ct).ConfigureAwait(false);

        await Guard("acknowledge", async () =>
        {
            using var ack = await session.MonitorAsync(HttpMethod.Post, $"api/v1/incidents/{id}/acknowledge", new { by = By }, ct).ConfigureAwait(false);
        }).ConfigureAwait(false);
        Say($"ACK: incident #{id} acknowledged by {By} (POST /api/v1/incidents/{id}/acknowledge)");

        try
        {
            await session.EngineAdminAsync(HttpMethod.Delete, "admin/faults/matcher_stall", null, ct).ConfigureAwait(false);
            Say("RECOVERY: fault cleared (DELETE /admin/faults/matcher_stall); the matcher runs again");
        }
        catch (HttpRequestException e)
        {
            Say($"clearing the fault failed ({e.Message}); it ends by itself 25 s after the injection");
        }

        await WaitAsync($"{Alert} resolved", TimeSpan.FromSeconds(40), async () =>
        {
            var (pending, firing) = await session.AlertCountsAsync(Alert, ct).ConfigureAwait(false);
            return pending + firing == 0 ? $"{Alert} resolved" : null;
        }, ct).ConfigureAwait(false);
        await WaitAsync($"incident #{id} mitigated", TimeSpan.FromSeconds(60), async () =>
        {
            using var doc = await session.MonitorAsync(HttpMethod.Get, $"api/v1/incidents/{id}", null, ct).ConfigureAwait(false);
            string? status = doc.RootElement.GetProperty("incident").GetProperty("status").GetString();
            return status == "mitigated" ? $"incident #{id} is mitigated (every alert of its group resolved)" : null;
        }, ct).ConfigureAwait(false);

        await Guard("resolve", async () =>
        {
            using var resolve = await session.MonitorAsync(HttpMethod.Post, $"api/v1/incidents/{id}/resolve", new { by = By }, ct).ConfigureAwait(false);
        }).ConfigureAwait(false);
        Say($"RESOLVED: incident #{id} resolved by {By}; the report job writes the post-incident report");

        string dir = Path.Combine(p.Endpoints.DataDirectory, "reports", "incidents");
        string md = Path.Combine(dir, $"incident-{id}.md"), html = Path.Combine(dir, $"incident-{id}.html");
        await WaitAsync("the post-incident report", TimeSpan.FromSeconds(30),
            () => Task.FromResult(File.Exists(md) && File.Exists(html) ? $"REPORT: {md}\n           {html}" : null), ct).ConfigureAwait(false);
        Say($"timeline: ./exh incidents timeline {id} --data {p.Endpoints.Monitors[0].DataDirectory} (while the platform runs)");
    }

    private async Task WaitAsync(string what, TimeSpan budget, Func<Task<string?>> check, CancellationToken ct)
    {
        var started = Stopwatch.StartNew();
        string? lastProblem = null;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                if (await check().ConfigureAwait(false) is { } seen)
                {
                    Say(seen);
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException or InvalidOperationException or IOException)
            {
                if (ct.IsCancellationRequested) throw new OperationCanceledException(ct);
                lastProblem = e.Message;
            }
            if (started.Elapsed > budget)
                throw new DemoStepFailed($"step '{what}' did not happen within {budget.TotalSeconds:0} s" + (lastProblem is null ? "" : $" (last error: {lastProblem})"));
            if (_clock.Elapsed > _overall)
                throw new DemoStepFailed($"the demo ran over its {_overall.TotalMinutes:0} minutes while waiting for '{what}'" + (lastProblem is null ? "" : $" (last error: {lastProblem})"));
            await Task.Delay(250, ct).ConfigureAwait(false);
        }
    }

    private static async Task Guard(string what, Func<Task> action)
    {
        try { await action().ConfigureAwait(false); }
        catch (Exception e) when (e is HttpRequestException or IOException or JsonException)
        {
            throw new DemoStepFailed($"step '{what}' failed: {e.Message}");
        }
    }

    private void Say(string line)
    {
        output.WriteLine($"{UpCommand.Now()} +{_clock.Elapsed.TotalSeconds,5:0.0}s  {line}");
        output.Flush();
    }

    private sealed class DemoStepFailed(string message) : Exception(message);
}
