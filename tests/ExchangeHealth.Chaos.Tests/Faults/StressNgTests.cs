using System.Diagnostics;
using System.Globalization;
using ExchangeHealth.Chaos.Faults;

namespace ExchangeHealth.Chaos.Tests.Faults;

/// <summary>A real stress-ng child (Debian package stress-ng, installed by test.sh).</summary>
public sealed class StressNgTests
{
    [Fact]
    public async Task Start_BurnsCpu_AndStopKillsItBeforeItsTimeout()
    {
        await using var stress = StressNg.Start(cpuWorkers: 1, timeout: TimeSpan.FromSeconds(60));
        Assert.True(stress.Pid > 0);
        // CPU time of the stress-ng process tree (the workers are its children) rises while it runs.
        // The 2 cores are shared with builds and other suites (load averages of 10+ were seen), so
        // wait for a clear rise (0.2 CPU seconds) within a generous bound rather than a fixed window.
        double before = TreeCpuSeconds(stress.Pid);
        var rise = Stopwatch.StartNew();
        double used = 0;
        while (rise.Elapsed < TimeSpan.FromSeconds(15) && (used = TreeCpuSeconds(stress.Pid) - before) < 0.2) await Task.Delay(100);
        Assert.False(stress.HasExited, $"stress-ng ended early: {stress.Output}");
        Assert.True(used >= 0.2, $"stress-ng used {used:0.00} CPU seconds in {rise.Elapsed.TotalSeconds:0.0} s");

        var watch = Stopwatch.StartNew();
        await stress.StopAsync();
        Assert.True(stress.HasExited);
        Assert.True(stress.StoppedEarly);
        Assert.NotNull(stress.EndedAt);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"stop took {watch.Elapsed.TotalSeconds:0.0} s");
        Assert.False(Directory.Exists($"/proc/{stress.Pid}"), "the stress-ng process is still there after Stop");
    }

    [Fact]
    public async Task Timeout_EndsItByItself()
    {
        await using var stress = StressNg.Start(cpuWorkers: 1, timeout: TimeSpan.FromSeconds(1), cpuLoadPercent: 50);
        Assert.Contains("--cpu-load", stress.Arguments);
        await stress.Exited.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(0, stress.ExitCode);
        Assert.False(stress.StoppedEarly);
        Assert.True(stress.EndedAt!.Value - stress.StartedAt >= TimeSpan.FromSeconds(0.9), "it ended before its timeout");
    }

    [Fact]
    public void InvalidArguments_AreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => StressNg.Start(1, TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => StressNg.Start(1, TimeSpan.FromSeconds(1), cpuLoadPercent: 101));
    }

    /// <summary>utime + stime of <paramref name="pid"/> and its children (from /proc/PID/task/*/children), seconds.</summary>
    private static double TreeCpuSeconds(int pid)
    {
        double total = 0;
        var pending = new Stack<int>([pid]);
        while (pending.TryPop(out int p))
        {
            try
            {
                string stat = File.ReadAllText($"/proc/{p}/stat");
                string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                total += (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
                foreach (string task in Directory.GetDirectories($"/proc/{p}/task"))
                {
                    string children = Path.Combine(task, "children");
                    if (!File.Exists(children)) continue;
                    foreach (string c in File.ReadAllText(children).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                        pending.Push(int.Parse(c, CultureInfo.InvariantCulture));
                }
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return total;
    }
}
