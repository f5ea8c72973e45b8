namespace ExchangeHealth.Engine.Journal;

/// <summary>
/// The conventions of an engine data directory: <c>journal/</c>, <c>snapshots/</c> and
/// <c>markets.yaml</c>, the markets the journal was written with, so that the directory can be
/// recovered without knowing where its markets came from.
/// </summary>
public static class EngineDataDirectory
{
    /// <summary>Name of the copy of the markets file inside a data directory.</summary>
    public const string MarketsFileName = "markets.yaml";

    /// <summary>Path of the markets file inside <paramref name="dataDirectory"/>.</summary>
    public static string MarketsPath(string dataDirectory) => Path.Combine(dataDirectory, MarketsFileName);

    /// <summary>Whether <paramref name="dataDirectory"/> holds journal segments or snapshots.</summary>
    public static bool HasState(string dataDirectory) =>
        JournalReader.ListSegments(EngineRecovery.JournalDirectory(dataDirectory)).Count > 0
        || SnapshotStore.List(EngineRecovery.SnapshotDirectory(dataDirectory)).Count > 0;

    /// <summary>
    /// Prepares a data directory for a new journal of <paramref name="markets"/>: creates it and
    /// writes <c>markets.yaml</c>.
    /// </summary>
    /// <param name="dataDirectory">The directory (created when missing).</param>
    /// <param name="markets">The markets the journal will be written with.</param>
    /// <param name="reset">Delete an existing journal, snapshots and markets file first.</param>
    /// <exception cref="InvalidOperationException">The directory already holds a journal or snapshots and <paramref name="reset"/> is false.</exception>
    /// <exception cref="IOException">The directory cannot be written.</exception>
    public static void Create(string dataDirectory, IReadOnlyList<MarketDefinition> markets, bool reset)
    {
        if (HasState(dataDirectory))
        {
            if (!reset)
                throw new InvalidOperationException($"{dataDirectory} already holds a journal or snapshots; use another directory, or reset it (this deletes them)");
            Directory.Delete(EngineRecovery.JournalDirectory(dataDirectory), recursive: true);
            if (Directory.Exists(EngineRecovery.SnapshotDirectory(dataDirectory)))
                Directory.Delete(EngineRecovery.SnapshotDirectory(dataDirectory), recursive: true);
        }
        Directory.CreateDirectory(EngineRecovery.JournalDirectory(dataDirectory));
        Directory.CreateDirectory(EngineRecovery.SnapshotDirectory(dataDirectory));
        string path = MarketsPath(dataDirectory);
        File.WriteAllText(path + ".tmp", MarketsFile.ToYaml(markets));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>The markets of <paramref name="dataDirectory"/> (its <c>markets.yaml</c>), or null when it has none.</summary>
    /// <exception cref="ConfigException">The file is invalid.</exception>
    public static IReadOnlyList<MarketDefinition>? LoadMarkets(string dataDirectory)
    {
        string path = MarketsPath(dataDirectory);
        return File.Exists(path) ? MarketsFile.Load(path) : null;
    }
}
