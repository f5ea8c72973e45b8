namespace ExchangeHealth.Engine.Tests.Replay;

/// <summary>Paths of the shared real data (../shared/data beside the repository root) and of repository files.</summary>
internal static class ReplayTestData
{
    /// <summary>The directory that holds ExchangeHealth.sln.</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>../shared/data relative to the repository root.</summary>
    public static string DataDirectory => Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "data"));

    public static string Bitfinex => DataFile("bitfinex-tBTCUSD-R0-book.json");

    public static string LobsterMessages => DataFile("lobster-AAPL-2012-06-21-message-10.csv");

    public static string LobsterOrderbook => DataFile("lobster-AAPL-2012-06-21-orderbook-10.csv");

    public static string SampleCsv => Path.Combine(RepositoryRoot, "examples", "orderflow-sample.csv");

    private static string DataFile(string name)
    {
        string path = Path.Combine(DataDirectory, name);
        if (!File.Exists(path)) throw new FileNotFoundException($"shared test data missing: {path} (see ../shared/data/README.md)", path);
        return path;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ExchangeHealth.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"no ExchangeHealth.sln above {AppContext.BaseDirectory}");
    }
}
