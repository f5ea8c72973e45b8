using Microsoft.AspNetCore.Http;

namespace ExchangeHealth.Engine.Gateway.Http;

/// <summary>
/// An answer other than 2xx, thrown by request parsing and engine waits and written by the
/// server's error middleware as an <see cref="ErrorResponse"/>. Never escapes the server.
/// </summary>
internal sealed class HttpApiException : Exception
{
    public HttpApiException(int statusCode, ErrorResponse body)
        : base(body.Message)
    {
        StatusCode = statusCode;
        Body = body;
    }

    /// <summary>The HTTP status code.</summary>
    public int StatusCode { get; }

    /// <summary>The JSON body.</summary>
    public ErrorResponse Body { get; }

    /// <summary>Value of a <c>Retry-After</c> header (seconds), if any.</summary>
    public string? RetryAfter { get; init; }

    /// <summary>Value of a <c>WWW-Authenticate</c> header, if any.</summary>
    public string? WwwAuthenticate { get; init; }

    /// <summary>400 naming the request field at fault.</summary>
    public static HttpApiException Field(string field, string error, string message) =>
        new(StatusCodes.Status400BadRequest, new ErrorResponse(error, message) { Field = field });

    /// <summary>400 for a required field that is absent or null.</summary>
    public static HttpApiException Missing(string field) =>
        Field(field, "missing_field", $"{field} is required");

    /// <summary>400 for a field whose value is not one of the accepted ones.</summary>
    public static HttpApiException Invalid(string field, string message) =>
        Field(field, "invalid_field", message);
}
