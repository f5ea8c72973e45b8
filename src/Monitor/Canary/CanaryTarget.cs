using System.Net;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Gateway;

namespace ExchangeHealth.Monitor.Canary;

/// <summary>Where and as whom the canary probes: resolved again before every (re)connection.</summary>
/// <param name="OrderEntry">The engine's order-entry TCP endpoint (binary protocol, docs/order-entry-protocol.md).</param>
/// <param name="ApiKey">The canary account's API key (a secret: never logged).</param>
/// <param name="Http">
/// The engine's HTTP base address, for <c>GET /api/v1/markets</c> (each market's live collar
/// reference price and state, read once per probe round); null to price from the markets file only.
/// </param>
public sealed record CanaryTarget(EndPoint OrderEntry, string ApiKey, Uri? Http)
{
    /// <summary>The target without the key, for logs: <c>tcp 127.0.0.1:7001, http http://127.0.0.1:7080/</c>.</summary>
    public override string ToString() => $"tcp {OrderEntry}" + (Http is null ? "" : $", http {Http}");
}

/// <summary>The canary cannot find its target (no <c>engine.json</c>, no canary key, unreadable credentials).</summary>
public sealed class CanaryTargetException : Exception
{
    /// <summary>Creates the exception without a message.</summary>
    public CanaryTargetException() : this("the canary's target cannot be resolved") { }

    /// <summary>Creates the exception.</summary>
    public CanaryTargetException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public CanaryTargetException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>
/// The two ways <c>exh canary</c> finds the engine: through a running engine's data directory
/// (re-read at every reconnection, so an engine restarted on other ports is found again, as
/// <c>exh load --engine-data</c> finds it once), or a fixed address and credentials file.
/// </summary>
public static class CanaryTargets
{
    /// <summary>
    /// A resolver reading <c>engine.json</c> (<see cref="EngineEndpoints"/>) of
    /// <paramref name="engineDataDirectory"/> and the credentials file it names, and taking the key
    /// named <paramref name="keyName"/>; every call reads both files again.
    /// </summary>
    /// <param name="engineDataDirectory">The engine's data directory (<c>exh engine --data</c>).</param>
    /// <param name="keyName">The API key's name in the credentials file (default <see cref="EngineCredentials.CanaryKeyName"/>).</param>
    /// <returns>The resolver; it throws <see cref="CanaryTargetException"/> while the engine is not running (no <c>engine.json</c>) or the key is missing.</returns>
    public static Func<CancellationToken, ValueTask<CanaryTarget>> FromEngineData(string engineDataDirectory, string keyName = EngineCredentials.CanaryKeyName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(engineDataDirectory);
        ArgumentException.ThrowIfNullOrWhiteSpace(keyName);
        return _ =>
        {
            if (!EngineEndpoints.TryRead(engineDataDirectory, out var endpoints, out string? problem))
                throw new CanaryTargetException($"engine not found: {problem}");
            string key = KeyOf(endpoints!.Credentials, keyName);
            return ValueTask.FromResult(new CanaryTarget(endpoints.Tcp, key, endpoints.Http));
        };
    }

    /// <summary>
    /// A resolver for a fixed address: <paramref name="orderEntry"/>, the key named
    /// <paramref name="keyName"/> of <paramref name="credentialsPath"/> (read at every call, so a
    /// key added later is picked up), and <paramref name="http"/>.
    /// </summary>
    /// <param name="orderEntry">The order-entry TCP endpoint.</param>
    /// <param name="credentialsPath">The engine's <c>credentials.yaml</c>.</param>
    /// <param name="http">The engine's HTTP base address, or null.</param>
    /// <param name="keyName">The API key's name (default <see cref="EngineCredentials.CanaryKeyName"/>).</param>
    /// <returns>The resolver; it throws <see cref="CanaryTargetException"/> when the file or key is missing.</returns>
    public static Func<CancellationToken, ValueTask<CanaryTarget>> Fixed(EndPoint orderEntry, string credentialsPath, Uri? http, string keyName = EngineCredentials.CanaryKeyName)
    {
        ArgumentNullException.ThrowIfNull(orderEntry);
        ArgumentException.ThrowIfNullOrWhiteSpace(credentialsPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(keyName);
        return _ => ValueTask.FromResult(new CanaryTarget(orderEntry, KeyOf(credentialsPath, keyName), http));
    }

    /// <summary>The key named <paramref name="keyName"/> in the credentials file <paramref name="credentialsPath"/>.</summary>
    /// <exception cref="CanaryTargetException">The file is missing or invalid, or has no such key (the message says how to add one).</exception>
    public static string KeyOf(string credentialsPath, string keyName)
    {
        EngineCredentials credentials;
        try { credentials = EngineCredentials.Load(credentialsPath); }
        catch (ConfigException e) { throw new CanaryTargetException(e.Message, e); }
        return credentials.FindByName(keyName)?.Key ?? throw new CanaryTargetException(
            $"{credentialsPath}: no API key named '{keyName}'; add one with its own account (api_keys: - name: {keyName}, account: {EngineCredentials.CanaryAccountId}, key: 40 random hex characters) and restart the engine");
    }
}
