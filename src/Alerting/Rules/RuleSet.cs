using System.Security.Cryptography;
using System.Text;
using ExchangeHealth.Engine;

namespace ExchangeHealth.Alerting.Rules;

/// <summary>The outcome of <see cref="RuleSet.LoadDirectory"/>: the rules now in force and the files refused.</summary>
/// <param name="RuleSet">The new rule set (with the previous version of each refused file's groups).</param>
/// <param name="Errors">One error per refused file (file, line, reason); empty when every file loaded.</param>
public sealed record RuleSetLoadResult(RuleSet RuleSet, IReadOnlyList<ConfigException> Errors)
{
    /// <summary>SHA-256 of each file's content as read by this load (good and refused files): what <see cref="RuleDirectoryWatcher"/> compares against.</summary>
    internal IReadOnlyDictionary<string, string> ContentHashes { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// The rule groups of all rule files of one directory (<c>*.yml</c> and <c>*.yaml</c> in the directory
/// itself, not its subdirectories: <c>alert-rules/tests/</c> holds promtool unit tests). A group
/// is identified by (file, name). Files are ordered by path (ordinal), groups by position in their file.
/// Immutable: a reload produces a new instance.
/// </summary>
public sealed class RuleSet
{
    private readonly SortedDictionary<string, IReadOnlyList<RuleGroup>> _byFile;

    private RuleSet(string? directory, SortedDictionary<string, IReadOnlyList<RuleGroup>> byFile)
    {
        Directory = directory;
        _byFile = byFile;
        Groups = [.. byFile.Values.SelectMany(g => g)];
    }

    /// <summary>A rule set without groups.</summary>
    public static RuleSet Empty { get; } = new(null, new SortedDictionary<string, IReadOnlyList<RuleGroup>>(StringComparer.Ordinal));

    /// <summary>The directory the rules were loaded from (a full path), or null for <see cref="Empty"/>.</summary>
    public string? Directory { get; }

    /// <summary>All groups, by file path then file order.</summary>
    public IReadOnlyList<RuleGroup> Groups { get; }

    /// <summary>The files (full paths) whose groups are in force, in path order.</summary>
    public IReadOnlyList<string> Files => [.. _byFile.Keys];

    /// <summary>All alerting rules, in group order.</summary>
    public IEnumerable<AlertingRule> AlertingRules => Groups.SelectMany(g => g.AlertingRules);

    /// <summary>All recording rules, in group order.</summary>
    public IEnumerable<RecordingRule> RecordingRules => Groups.SelectMany(g => g.RecordingRules);

    /// <summary>The groups in force from <paramref name="file"/> (a full path), empty when none.</summary>
    public IReadOnlyList<RuleGroup> GroupsOf(string file) => _byFile.TryGetValue(file, out var groups) ? groups : [];

    /// <summary>The group identified by (<paramref name="file"/>, <paramref name="name"/>), or null.</summary>
    public RuleGroup? Find(string file, string name) =>
        GroupsOf(file).FirstOrDefault(g => string.Equals(g.Name, name, StringComparison.Ordinal));

    /// <summary>
    /// Loads every <c>*.yml</c> and <c>*.yaml</c> file directly in <paramref name="dir"/>. A file that
    /// fails to read or parse is refused with a <see cref="ConfigException"/> (file, line, reason), and the
    /// groups <paramref name="previous"/> had from it stay in force; good files are (re)loaded; files
    /// that no longer exist drop their groups. Never throws for bad files.
    /// </summary>
    /// <param name="dir">The rules directory.</param>
    /// <param name="previous">The rule set in force (its groups of refused files are kept), or null.</param>
    /// <returns>The new rule set and the errors. A missing directory is one error, and <paramref name="previous"/> stays in force.</returns>
    public static RuleSetLoadResult LoadDirectory(string dir, RuleSet? previous)
    {
        ArgumentNullException.ThrowIfNull(dir);
        string full = Path.GetFullPath(dir);
        var errors = new List<ConfigException>();
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        List<string> files;
        try
        {
            files = ListRuleFiles(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errors.Add(new ConfigException(full, 0, $"cannot list the rules directory: {e.Message}"));
            return new RuleSetLoadResult(previous ?? Empty, errors);
        }

        var byFile = new SortedDictionary<string, IReadOnlyList<RuleGroup>>(StringComparer.Ordinal);
        foreach (string file in files)
        {
            byte[] content;
            try
            {
                content = File.ReadAllBytes(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                errors.Add(new ConfigException(file, 0, $"cannot read the rule file: {e.Message}"));
                KeepPrevious(file);
                continue;
            }
            hashes[file] = Hash(content);
            try
            {
                byFile[file] = RuleFileLoader.Parse(Decode(content), file);
            }
            catch (ConfigException e)
            {
                errors.Add(e);
                KeepPrevious(file);
            }
        }
        return new RuleSetLoadResult(new RuleSet(full, byFile), errors) { ContentHashes = hashes };

        void KeepPrevious(string file)
        {
            if (previous is not null && previous._byFile.TryGetValue(file, out var groups)) byFile[file] = groups;
        }
    }

    /// <summary>The rule files directly in <paramref name="fullDir"/>, in ordinal order.</summary>
    internal static List<string> ListRuleFiles(string fullDir)
    {
        if (!System.IO.Directory.Exists(fullDir)) throw new DirectoryNotFoundException($"the rules directory '{fullDir}' does not exist");
        var files = System.IO.Directory.EnumerateFiles(fullDir, "*", SearchOption.TopDirectoryOnly)
            .Where(IsRuleFile)
            .ToList();
        files.Sort(StringComparer.Ordinal);
        return files;
    }

    /// <summary>True for a <c>.yml</c> or <c>.yaml</c> file name.</summary>
    internal static bool IsRuleFile(string path) =>
        path.EndsWith(".yml", StringComparison.Ordinal) || path.EndsWith(".yaml", StringComparison.Ordinal);

    internal static string Hash(byte[] content) => Convert.ToHexString(SHA256.HashData(content));

    private static string Decode(byte[] content)
    {
        // UTF-8 with or without a byte order mark.
        var span = content.AsSpan();
        if (span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) span = span[3..];
        return Encoding.UTF8.GetString(span);
    }
}
