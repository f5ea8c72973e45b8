namespace ExchangeHealth.Alerting.Tests.Rules;

/// <summary>A fresh directory under the system temp folder, deleted on dispose.</summary>
public sealed class RulesTempDirectory : IDisposable
{
    public RulesTempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "exh-rules-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>Writes <paramref name="text"/> to <paramref name="name"/> (creating subdirectories) and returns the full path.</summary>
    public string Write(string name, string text)
    {
        string file = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(file)!);
        File.WriteAllText(file, text);
        return file;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}
