using System.Diagnostics;
using System.Text.RegularExpressions;
using ExchangeHealth.Chaos.Platform;

namespace ExchangeHealth.Chaos.Tests.Platform;

/// <summary><c>exh up</c> as a user runs it: a child process that starts everything, prints where it is and stops it all.</summary>
public sealed partial class UpCommandTests
{
    [Fact]
    public async Task Exh_up_for_15s_names_the_urls_exits_0_and_leaves_no_child_running()
    {
        string data = Path.Combine(Path.GetTempPath(), "exh-up-cli-" + Guid.NewGuid().ToString("N")[..10]);
        try
        {
            var psi = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = PlatformSupervisor.FindRepositoryRoot()!,
            };
            foreach (string a in new[] { Path.Combine(AppContext.BaseDirectory, "exh.dll"), "up", "--for", "15s", "--ports-auto", "--data", data, "--rate", "20", "--status-interval", "2s" })
                psi.ArgumentList.Add(a);
            using var process = Process.Start(psi)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            try { await process.WaitForExitAsync(timeout.Token); }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }
            string output = await stdout, errors = await stderr;
            Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}\n{output}\n{errors}");

            var manifest = PlatformManifest.TryRead(Path.Combine(data, PlatformSupervisor.ManifestFileName));
            Assert.NotNull(manifest);
            // Where everything is: the engine, Prometheus, monitor API and canary URLs, the data directory, logs, the token file.
            foreach (string url in new[] { manifest.Engine, manifest.Prometheus, manifest.Monitors[0], manifest.Canary })
                Assert.Contains(url, output, StringComparison.Ordinal);
            Assert.Contains(Path.Combine(data, "logs"), output, StringComparison.Ordinal);
            Assert.Contains(Path.Combine(data, "monitor", "monitor-token"), output, StringComparison.Ordinal);
            Assert.Contains("Ctrl-C", output, StringComparison.Ordinal);
            // Live status with the targets Prometheus scrapes, and the clean stop.
            Assert.Matches(TargetsUp(), output);
            Assert.Contains("stopped everything", output, StringComparison.Ordinal);

            // Every child it started is gone (the manifest kept their commands; their PIDs were in the start lines).
            foreach (Match m in StartedPid().Matches(output))
            {
                int pid = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                Assert.Null(PlatformFixture.ProcessState(pid));
            }
            Assert.True(StartedPid().Matches(output).Count >= 5, output);
            Assert.All(manifest.Components, c => Assert.Null(c.Pid));
        }
        finally
        {
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }

    [Theory]
    [InlineData("--rate", "0")]
    [InlineData("--for", "0s")]
    [InlineData("--for", "soon")]
    [InlineData("--replay", "/nonexistent/orderflow.csv")]
    public void Bad_options_exit_2_before_anything_starts(string option, string value)
    {
        string data = Path.Combine(Path.GetTempPath(), "exh-up-bad-" + Guid.NewGuid().ToString("N")[..10]);
        Assert.Equal(2, ExchangeHealth.Cli.Program.Main(["up", "--data", data, "--ports-auto", option, value]));
        Assert.False(Directory.Exists(data)); // nothing was started or written
    }

    [GeneratedRegex(@"targets up [1-3]/3")]
    private static partial Regex TargetsUp();

    [GeneratedRegex(@"(?:ready|started) \(pid (\d+)")]
    private static partial Regex StartedPid();
}
