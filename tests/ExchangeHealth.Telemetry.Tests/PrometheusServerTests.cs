using System.Diagnostics;
using ExchangeHealth.TestKit.Prometheus;

namespace ExchangeHealth.Telemetry.Tests;

/// <summary>The <see cref="PrometheusServer"/> fixture itself: queries, errors, diagnostics, clean shutdown.</summary>
public sealed class PrometheusServerTests
{
    private static readonly TimeSpan _waitTimeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task PrometheusServer_QueriesAndDispose_StopsExactlyItsChild()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var prometheus = await PrometheusServer.StartAsync(["127.0.0.1:1"], TimeSpan.FromSeconds(1), cancellationToken: cts.Token);
        int pid = prometheus.Pid;
        string config = prometheus.ConfigPath;
        try
        {
            var scalar = await prometheus.QueryAsync("1 + 1", cts.Token);
            Assert.Equal(2, Assert.Single(scalar).Value);

            var vector = await prometheus.QueryAsync("vector(3) * 2", cts.Token);
            Assert.Equal(6, Assert.Single(vector).Value);

            var nothing = await prometheus.QueryAsync("exh_does_not_exist_total", cts.Token);
            Assert.Empty(nothing);

            var error = await Assert.ThrowsAsync<PrometheusQueryException>(() => prometheus.QueryAsync("rate(", cts.Token));
            Assert.Equal("bad_data", error.ErrorType);

            // the unreachable target is reported down, with its error
            var down = await prometheus.WaitForAsync("up", r => r.Count == 1 && r[0].Value == 0, _waitTimeout, cts.Token);
            Assert.Equal("127.0.0.1:1", down[0].Label("instance"));
            var targets = await prometheus.GetTargetsAsync(cts.Token);
            Assert.Equal("down", Assert.Single(targets).Health);

            var timeout = await Assert.ThrowsAsync<TimeoutException>(() => prometheus.WaitForAsync("up", r => r.Count > 5, TimeSpan.FromMilliseconds(300), cts.Token));
            Assert.Contains("127.0.0.1:1", timeout.Message, StringComparison.Ordinal);

            using (var process = Process.GetProcessById(pid))
                Assert.Contains("prometheus", process.ProcessName, StringComparison.Ordinal);
        }
        finally
        {
            await prometheus.DisposeAsync();
        }

        Assert.False(IsRunning(pid), $"prometheus (pid {pid}) still runs after DisposeAsync");
        Assert.False(File.Exists(config));
        Assert.False(Directory.Exists(Path.GetDirectoryName(config)));
    }

    [Fact]
    public async Task PrometheusServer_BadArguments_Throw()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => PrometheusServer.StartAsync([], TimeSpan.FromSeconds(1)));
        await Assert.ThrowsAsync<DirectoryNotFoundException>(
            () => PrometheusServer.StartAsync(["127.0.0.1:1"], TimeSpan.FromSeconds(1), "/nonexistent/exh-rules"));
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited && process.ProcessName.Contains("prometheus", StringComparison.Ordinal);
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
    }
}
