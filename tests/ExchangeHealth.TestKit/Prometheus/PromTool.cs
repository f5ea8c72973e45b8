using System.Diagnostics;

namespace ExchangeHealth.TestKit.Prometheus;

/// <summary>Runs the real <c>promtool</c> (Debian package <c>prometheus</c>).</summary>
public static class PromTool
{
    private static readonly TimeSpan _timeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Runs <c>promtool check metrics</c> with <paramref name="exposition"/> on standard input: it
    /// parses the Prometheus text format and lints names, types, units and help texts.
    /// </summary>
    /// <param name="exposition">A scrape body in the Prometheus text format.</param>
    /// <returns>
    /// The exit code (0 clean, 1 unparsable, 3 lint problems) and standard output and error together;
    /// promtool prints one line per problem, for example
    /// <c>foo_count non-histogram and non-summary metrics should not have "_count" suffix</c>.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="exposition"/> is null.</exception>
    /// <exception cref="FileNotFoundException">promtool is not installed.</exception>
    /// <exception cref="TimeoutException">promtool ran for more than 30 s (it is killed).</exception>
    public static (int ExitCode, string Output) CheckMetrics(string exposition)
    {
        ArgumentNullException.ThrowIfNull(exposition);
        return Run(["check", "metrics"], exposition);
    }

    /// <summary>Runs promtool with the given arguments and optional standard input.</summary>
    /// <param name="arguments">For example <c>["check", "rules", "x.yml"]</c>.</param>
    /// <param name="standardInput">Written to promtool's standard input, which is then closed; null for none.</param>
    /// <returns>The exit code and standard output and error together.</returns>
    /// <exception cref="FileNotFoundException">promtool is not installed.</exception>
    /// <exception cref="TimeoutException">promtool ran for more than 30 s (it is killed).</exception>
    public static (int ExitCode, string Output) Run(IEnumerable<string> arguments, string? standardInput = null)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var startInfo = new ProcessStartInfo(ExternalTool.Find("promtool", "prometheus"))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
            startInfo.ArgumentList.Add(argument);

        using var process = Process.Start(startInfo)
            ?? throw new InvalidOperationException("promtool did not start.");
        // Read both pipes concurrently so that neither can fill up and block promtool.
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            if (standardInput is not null)
                process.StandardInput.Write(standardInput);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // promtool exited before reading all of its input; its exit code and output tell why.
        }

        if (!process.WaitForExit(_timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"promtool {string.Join(' ', startInfo.ArgumentList)} did not finish within {_timeout.TotalSeconds} s.");
        }
        process.WaitForExit(); // drains the asynchronous readers
        return (process.ExitCode, stdout.GetAwaiter().GetResult() + stderr.GetAwaiter().GetResult());
    }
}
