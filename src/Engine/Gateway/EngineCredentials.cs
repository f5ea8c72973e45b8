using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ExchangeHealth.Engine.Gateway.Protocol;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ExchangeHealth.Engine.Gateway;

/// <summary>One trading API key.</summary>
/// <param name="Key">The secret key (16..64 ASCII characters).</param>
/// <param name="AccountId">The account it trades for (1 .. 2^23-1).</param>
/// <param name="Name">A label for logs (never the key).</param>
public sealed record ApiKeyEntry(string Key, long AccountId, string Name);

/// <summary>
/// The engine's secrets: trading API keys (TCP logon, HTTP <c>X-API-Key</c>) and the admin token
/// (HTTP <c>Authorization: Bearer</c> on <c>/admin/*</c>). Kept in <c>credentials.yaml</c> in the
/// data directory, created with random values and mode 0600 on first start:
/// <code>
/// admin_token: "64 hex characters"
/// api_keys:
///   - name: trader-1
///     account: 1
///     key: "40 hex characters"
///   - name: canary
///     account: 1000000
///     key: "40 hex characters"
/// </code>
/// The key named <see cref="CanaryKeyName"/> belongs to the canary prober (<c>exh canary</c>): its
/// own account, so that its probe orders and client order ids never mix with a trader's, and
/// <c>exh load</c> leaves it out when it cycles over the keys.
/// </summary>
/// <remarks>
/// Comparisons do not leak timing: keys are looked up by their SHA-256 digest, and the admin token
/// is compared with <see cref="CryptographicOperations.FixedTimeEquals"/>.
/// </remarks>
public sealed class EngineCredentials
{
    /// <summary>File name inside a data directory.</summary>
    public const string FileName = "credentials.yaml";
    /// <summary>Shortest accepted secret.</summary>
    public const int MinSecretLength = 16;
    /// <summary>Name of the API key the canary prober logs on with (<c>exh canary</c>); <c>exh load</c> does not use it.</summary>
    public const string CanaryKeyName = "canary";
    /// <summary>The account <see cref="Generate"/> gives the canary key: far from the traders' accounts 1..n.</summary>
    public const long CanaryAccountId = 1_000_000;

    private readonly byte[] _adminTokenBytes;
    private readonly Dictionary<string, ApiKeyEntry> _byDigest = new(StringComparer.Ordinal);

    /// <summary>Creates credentials from values.</summary>
    /// <exception cref="ArgumentException">A secret is too short or too long, an account is out of range, or a key repeats.</exception>
    public EngineCredentials(string adminToken, IReadOnlyList<ApiKeyEntry> apiKeys)
    {
        ArgumentNullException.ThrowIfNull(adminToken);
        ArgumentNullException.ThrowIfNull(apiKeys);
        if (adminToken.Length is < MinSecretLength or > 256) throw new ArgumentException($"the admin token must have {MinSecretLength}..256 characters", nameof(adminToken));
        AdminToken = adminToken;
        _adminTokenBytes = Encoding.UTF8.GetBytes(adminToken);
        foreach (var k in apiKeys)
        {
            if (k.Key.Length is < MinSecretLength or > OrderEntryProtocol.MaxApiKeyLength || !Ascii.IsValid(k.Key))
                throw new ArgumentException($"API key '{k.Name}' must have {MinSecretLength}..{OrderEntryProtocol.MaxApiKeyLength} ASCII characters", nameof(apiKeys));
            if (k.AccountId is < 1 or > OrderEntryProtocol.MaxAccountId)
                throw new ArgumentException($"API key '{k.Name}': account must be 1..{OrderEntryProtocol.MaxAccountId}", nameof(apiKeys));
            if (!_byDigest.TryAdd(Digest(k.Key), k))
                throw new ArgumentException($"API key '{k.Name}' repeats another key", nameof(apiKeys));
        }
        ApiKeys = apiKeys;
    }

    /// <summary>The admin token.</summary>
    public string AdminToken { get; }

    /// <summary>The trading keys.</summary>
    public IReadOnlyList<ApiKeyEntry> ApiKeys { get; }

    /// <summary>Finds the account of an API key. False for an unknown key.</summary>
    public bool TryAuthenticate(string? apiKey, out ApiKeyEntry? entry)
    {
        entry = null;
        if (string.IsNullOrEmpty(apiKey) || apiKey.Length > 256) return false;
        return _byDigest.TryGetValue(Digest(apiKey), out entry);
    }

    /// <summary>Whether <paramref name="token"/> is the admin token (constant time).</summary>
    public bool IsAdminToken(string? token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 256) return false;
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), _adminTokenBytes);
    }

    /// <summary>The key named <paramref name="name"/> (names are compared exactly), or null.</summary>
    public ApiKeyEntry? FindByName(string name)
    {
        foreach (var k in ApiKeys)
            if (string.Equals(k.Name, name, StringComparison.Ordinal)) return k;
        return null;
    }

    /// <summary>
    /// New random credentials: an admin token, <paramref name="traders"/> keys for accounts 1..n
    /// named <c>trader-1</c> ..., then the <see cref="CanaryKeyName"/> key for account <see cref="CanaryAccountId"/>.
    /// </summary>
    public static EngineCredentials Generate(int traders = 4)
    {
        var keys = new List<ApiKeyEntry>();
        for (int i = 1; i <= traders; i++)
            keys.Add(new ApiKeyEntry(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20)), i, $"trader-{i}"));
        keys.Add(new ApiKeyEntry(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20)), CanaryAccountId, CanaryKeyName));
        return new EngineCredentials(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)), keys);
    }

    /// <summary>Loads <paramref name="path"/>, or creates it with <see cref="Generate"/> (mode 0600) when it does not exist.</summary>
    /// <exception cref="ConfigException">The file is invalid (file and line named).</exception>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public static EngineCredentials LoadOrCreate(string path)
    {
        if (File.Exists(path)) return Load(path);
        var created = Generate();
        created.Save(path);
        return created;
    }

    /// <summary>Writes the credentials to <paramref name="path"/> with mode 0600 (owner read/write only).</summary>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public void Save(string path)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# ExchangeHealth engine credentials. Secret: keep this file mode 0600.");
        sb.AppendLine(CultureInfo.InvariantCulture, $"admin_token: \"{AdminToken}\"");
        sb.AppendLine("api_keys:");
        foreach (var k in ApiKeys)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  - name: \"{k.Name}\"");
            sb.AppendLine(CultureInfo.InvariantCulture, $"    account: {k.AccountId}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"    key: \"{k.Key}\"");
        }
        string tmp = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(tmp, options))
        using (var writer = new StreamWriter(stream))
            writer.Write(sb.ToString());
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Loads a credentials file.</summary>
    /// <exception cref="ConfigException">The file is missing or invalid (file and line named).</exception>
    public static EngineCredentials Load(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new ConfigException(path, 0, $"cannot read the credentials file: {e.Message}"); }
        return Parse(text, path);
    }

    /// <summary>Parses credentials YAML; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="ConfigException">The text is invalid (source and line named).</exception>
    public static EngineCredentials Parse(string text, string source)
    {
        var yaml = new YamlStream();
        try { yaml.Load(new StringReader(text)); }
        catch (YamlException e) { throw new ConfigException(source, (int)e.Start.Line, $"not valid YAML: {e.Message}"); }
        if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is not YamlMappingNode root)
            throw new ConfigException(source, 1, "expected a mapping with admin_token and api_keys");
        string? admin = null;
        int adminLine = 1;
        var keys = new List<ApiKeyEntry>();
        foreach (var (keyNode, valueNode) in root.Children)
        {
            int line = (int)keyNode.Start.Line;
            switch (((YamlScalarNode)keyNode).Value)
            {
                case "admin_token":
                    admin = (valueNode as YamlScalarNode)?.Value ?? throw new ConfigException(source, line, "admin_token must be a string");
                    adminLine = line;
                    break;
                case "api_keys":
                    if (valueNode is not YamlSequenceNode seq) throw new ConfigException(source, line, "api_keys must be a list");
                    foreach (var item in seq)
                        keys.Add(ParseKey(item, source));
                    break;
                default:
                    throw new ConfigException(source, line, $"unknown field '{((YamlScalarNode)keyNode).Value}' (expected admin_token, api_keys)");
            }
        }
        if (admin is null) throw new ConfigException(source, 1, "admin_token is missing");
        try { return new EngineCredentials(admin, keys); }
        catch (ArgumentException e) { throw new ConfigException(source, adminLine, e.Message.Split(" (Parameter")[0]); }
    }

    private static ApiKeyEntry ParseKey(YamlNode node, string source)
    {
        int line = (int)node.Start.Line;
        if (node is not YamlMappingNode map) throw new ConfigException(source, line, "each api_keys entry must be a mapping with name, account, key");
        string? name = null, key = null;
        long account = 0;
        foreach (var (k, v) in map.Children)
        {
            int l = (int)k.Start.Line;
            string value = (v as YamlScalarNode)?.Value ?? throw new ConfigException(source, l, "expected a scalar value");
            switch (((YamlScalarNode)k).Value)
            {
                case "name": name = value; break;
                case "key": key = value; break;
                case "account":
                    if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out account) || account < 1 || account > OrderEntryProtocol.MaxAccountId)
                        throw new ConfigException(source, l, $"account must be an integer 1..{OrderEntryProtocol.MaxAccountId}, not '{value}'");
                    break;
                default: throw new ConfigException(source, l, $"unknown field '{((YamlScalarNode)k).Value}' (expected name, account, key)");
            }
        }
        if (key is null) throw new ConfigException(source, line, "key is missing");
        if (account == 0) throw new ConfigException(source, line, "account is missing");
        if (key.Length is < MinSecretLength or > OrderEntryProtocol.MaxApiKeyLength || !Ascii.IsValid(key))
            throw new ConfigException(source, line, $"key must have {MinSecretLength}..{OrderEntryProtocol.MaxApiKeyLength} ASCII characters");
        return new ApiKeyEntry(key, account, name ?? $"account-{account}");
    }

    private static string Digest(string key) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
