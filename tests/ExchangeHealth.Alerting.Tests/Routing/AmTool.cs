using System.Diagnostics;
using ExchangeHealth.TestKit.Prometheus;

namespace ExchangeHealth.Alerting.Tests.Routing;

/// <summary>Runs the real <c>amtool</c> (Debian package <c>prometheus-alertmanager</c>, 0.25).</summary>
public static class AmTool
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Runs amtool with <paramref name="arguments"/>; returns the exit code, standard output and standard error.</summary>
    public static (int ExitCode, string Stdout, string Stderr) Run(params string[] arguments)
    {
        var startInfo = new ProcessStartInfo(ExternalTool.Find("amtool", "prometheus-alertmanager"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in arguments) startInfo.ArgumentList.Add(a);
        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException("amtool did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"amtool {string.Join(' ', arguments)} did not finish within {Timeout.TotalSeconds} s");
        }
        process.WaitForExit();
        return (process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    /// <summary><c>amtool check-config FILE</c>: true when amtool accepts the file; the output says why not.</summary>
    public static (bool Valid, string Output) CheckConfig(string path)
    {
        var (code, stdout, stderr) = Run("check-config", path);
        return (code == 0, stdout + stderr);
    }

    /// <summary><c>amtool config routes test --config.file=F label=value ...</c>: the receivers amtool routes the label set to, in order.</summary>
    public static IReadOnlyList<string> RoutesTest(string configPath, IEnumerable<KeyValuePair<string, string>> labels)
    {
        var args = new List<string> { "config", "routes", "test", "--config.file=" + configPath };
        args.AddRange(labels.Select(l => $"{l.Key}={l.Value}"));
        var (code, stdout, stderr) = Run([.. args]);
        if (code != 0) throw new InvalidOperationException($"amtool failed ({code}): {stdout}{stderr}");
        return stdout.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries);
    }
}
