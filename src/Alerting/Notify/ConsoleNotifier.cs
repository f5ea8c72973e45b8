using System.Text;
using ExchangeHealth.Alerting.Model;

namespace ExchangeHealth.Alerting.Notify;

/// <summary>
/// Writes each notification as one block of readable lines to a <see cref="TextWriter"/> (standard
/// output in the host). Used for receivers when no Slack token is configured: notifications still
/// pass through the outbox (ARCHITECTURE.md). Always <see cref="DeliveryResult.Delivered"/>, unless
/// writing throws (then the outbox retries). Thread-safe: blocks never interleave.
/// </summary>
/// <remarks>
/// Example:
/// <code>
/// [2026-11-21 03:00:30 UTC] FIRING (1) EngineDown  receiver=oncall kind=new seq=1
///   what:  Engine engine-1 is down
///   where: instance=engine-1, job=exh-engine
///   - firing {alertname="EngineDown", instance="engine-1", job="exh-engine"} since 2026-11-21 02:59:00 UTC value=0
///   runbook: https://runbooks/engine-down
///   group: {}:{alertname="EngineDown"}  dedup: oncall|{}:{alertname="EngineDown"}|1
/// </code>
/// </remarks>
public sealed class ConsoleNotifier : INotifier
{
    private readonly TextWriter _writer;
    private readonly Lock _lock = new();

    /// <summary>Writes to <paramref name="writer"/> (e.g. <see cref="Console.Out"/>); flushed after each block.</summary>
    public ConsoleNotifier(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        _writer = writer;
    }

    /// <inheritdoc/>
    public Task<DeliveryResult> DeliverAsync(Notification notification, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notification);
        string block = Format(notification);
        lock (_lock)
        {
            _writer.Write(block);
            _writer.Flush();
        }
        return Task.FromResult<DeliveryResult>(DeliveryResult.Delivered.Instance);
    }

    /// <summary>The block written for <paramref name="n"/> (lines end with <c>\n</c>).</summary>
    public static string Format(Notification n)
    {
        ArgumentNullException.ThrowIfNull(n);
        var sb = new StringBuilder();
        int firing = NotificationText.FiringCount(n), resolved = NotificationText.ResolvedCount(n);
        string count = n.Status == AlertStatus.Firing ? firing.ToString(System.Globalization.CultureInfo.InvariantCulture) : resolved.ToString(System.Globalization.CultureInfo.InvariantCulture);
        sb.Append('[').Append(NotificationText.Utc(n.CreatedAt)).Append("] ")
          .Append(NotificationText.StatusWord(n)).Append(" (").Append(count).Append(") ").Append(OneLine(NotificationText.AlertName(n)))
          .Append("  receiver=").Append(n.Receiver).Append(" kind=").Append(NotificationJson.KindName(n.Kind))
          .Append(" seq=").Append(n.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
        string what = NotificationText.What(n);
        if (what.Length > 0) sb.Append("  what:  ").Append(OneLine(what)).Append('\n');
        string where = NotificationText.Where(n);
        if (where.Length > 0) sb.Append("  where: ").Append(OneLine(where)).Append('\n');
        foreach (var a in n.Alerts)
        {
            bool isFiring = a.StatusAt(n.CreatedAt) == AlertStatus.Firing;
            sb.Append("  - ").Append(isFiring ? "firing " : "resolved ").Append(OneLine(a.Labels.ToString()))
              .Append(" since ").Append(NotificationText.Utc(a.StartsAt));
            if (!isFiring && a.EndsAt is { } end) sb.Append(" until ").Append(NotificationText.Utc(end));
            if (!double.IsNaN(a.Value)) sb.Append(" value=").Append(NotificationText.Humanize(a.Value));
            sb.Append('\n');
        }
        foreach (string link in (string[])["runbook_url", "dashboard_url"])
        {
            string url = NotificationText.Annotation(n, link);
            if (url.Length > 0) sb.Append("  ").Append(link[..^4]).Append(": ").Append(OneLine(url)).Append('\n');
        }
        sb.Append("  group: ").Append(OneLine(n.GroupKey)).Append("  dedup: ").Append(OneLine(n.DedupKey)).Append('\n');
        return sb.ToString();
    }

    private static string OneLine(string s) => s.Replace('\r', ' ').Replace('\n', ' ');
}
