using System.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace ExchangeHealth.Monitor.Tests.Slo;

/// <summary>One rule read back from a rule file with YamlDotNet (independently of our writer).</summary>
internal sealed record ParsedRule(
    string Group, string? Interval, string? Record, string? Alert, string Expr, string? For,
    IReadOnlyDictionary<string, string> Labels, IReadOnlyDictionary<string, string> Annotations)
{
    public string Name => Record ?? Alert!;
}

internal static class SloTestSupport
{
    /// <summary>A path inside the repository (found by walking up to ExchangeHealth.sln).</summary>
    public static string Repo(params string[] parts)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ExchangeHealth.sln"))) dir = dir.Parent;
        return Path.Combine([dir!.FullName, .. parts]);
    }

    /// <summary>Runs <c>dotnet exh.dll ARGS</c> (the real CLI, beside the test assembly) in <paramref name="workingDirectory"/>.</summary>
    public static (int ExitCode, string Out, string Error) RunExh(string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "exh.dll"));
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill();
            throw new TimeoutException("exh " + string.Join(' ', args) + " did not finish in 60 s");
        }
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Reads a Prometheus rule file into flat rules.</summary>
    public static IReadOnlyList<ParsedRule> ParseRuleFile(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        var rules = new List<ParsedRule>();
        foreach (YamlMappingNode group in ((YamlSequenceNode)root["groups"]).Children.Cast<YamlMappingNode>())
        {
            string name = Str(group, "name")!;
            string? interval = Str(group, "interval");
            foreach (YamlMappingNode rule in ((YamlSequenceNode)group["rules"]).Children.Cast<YamlMappingNode>())
            {
                rules.Add(new ParsedRule(name, interval, Str(rule, "record"), Str(rule, "alert"), Str(rule, "expr")!, Str(rule, "for"),
                    Map(rule, "labels"), Map(rule, "annotations")));
            }
        }
        return rules;
    }

    private static string? Str(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var node) ? ((YamlScalarNode)node).Value : null;

    private static Dictionary<string, string> Map(YamlMappingNode map, string key)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (map.Children.TryGetValue(new YamlScalarNode(key), out var node))
            foreach (var (k, v) in ((YamlMappingNode)node).Children) result[((YamlScalarNode)k).Value!] = ((YamlScalarNode)v).Value!;
        return result;
    }
}

/// <summary>A fresh directory under the system temp folder, deleted on dispose.</summary>
internal sealed class SloTempDirectory : IDisposable
{
    public SloTempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "exh-slo-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public string Write(string relative, string text)
    {
        string file = Combine(relative);
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
