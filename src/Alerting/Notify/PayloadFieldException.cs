namespace ExchangeHealth.Alerting.Notify;

/// <summary>
/// A JSON (or form) payload is malformed; <see cref="Field"/> names the offending field as a path
/// (<c>alerts[2].startsAt</c>), and the message is <c>"{field}: {reason}"</c>. Thrown by
/// <see cref="AlertmanagerWebhookPayload.Parse(string)"/>, <see cref="NotificationJson.Deserialize"/>
/// and <c>SlackInteraction.Parse</c>; an HTTP endpoint answers it with 400 and the message.
/// </summary>
public sealed class PayloadFieldException : FormatException
{
    /// <summary>Creates the exception for <paramref name="field"/>.</summary>
    /// <param name="field">Path of the field, e.g. <c>alerts[0].labels.job</c>; <c>$</c> for the whole document.</param>
    /// <param name="reason">What is wrong with it, e.g. <c>missing</c>, <c>expected a string</c>.</param>
    /// <param name="inner">The parser's exception, if any.</param>
    public PayloadFieldException(string field, string reason, Exception? inner = null)
        : base($"{field}: {reason}", inner)
    {
        Field = field;
        Reason = reason;
    }

    /// <summary>Creates the exception with a message only (field <c>$</c>).</summary>
    public PayloadFieldException() : this("$", "malformed payload") { }

    /// <summary>Creates the exception with a message only (field <c>$</c>).</summary>
    public PayloadFieldException(string message) : this("$", message) { }

    /// <summary>Creates the exception with a message only (field <c>$</c>).</summary>
    public PayloadFieldException(string message, Exception innerException) : this("$", message, innerException) { }

    /// <summary>Path of the offending field.</summary>
    public string Field { get; }

    /// <summary>What is wrong with it.</summary>
    public string Reason { get; }
}
