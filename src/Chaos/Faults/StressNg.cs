using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using ExchangeHealth.Chaos.Platform;

namespace ExchangeHealth.Chaos.Faults;

/// <summary>
/// CPU starvation: a <c>stress-ng --cpu N --timeout S [--cpu-load P]</c> child process (Debian
/// package <c>stress-ng</c>). It is bounded twice: by its own <c>--timeout</c> and by
/// <see cref="StopAsync"/>/<see cref="DisposeAsync"/>, which stop it by its PID (SIGTERM, which
/// stress-ng passes on to its workers, then SIGKILL of the process tree after a grace period).
/// </summary>
public sealed class StressNg : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output;
    private readonly TimeProvider _time;
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private StressNg(Process process, StringBuilder output, TimeProvider time, IReadOnlyList<string> arguments)
    {
        _process = process;
        _output = output;
        _time = time;
        Arguments = arguments;
        StartedAt = time.GetUtcNow();
        Pid = process.Id;
    }

    /// <summary>The child's process id (the stress-ng parent; its workers are its children).</summary>
    public int Pid { get; }

    /// <summary>The arguments stress-ng was started with.</summary>
    public IReadOnlyList<string> Arguments { get; }

    /// <summary>When it was started.</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>When it ended (by its timeout or by <see cref="StopAsync"/>); null while it runs.</summary>
    public DateTimeOffset? EndedAt { get; private set; }

    /// <summary>True once it has ended.</summary>
    public bool HasExited => _exited.Task.IsCompleted;

    /// <summary>Its exit code once ended (0 when its own timeout ended it), else null.</summary>
    public int? ExitCode { get; private set; }

    /// <summary>True when <see cref="StopAsync"/> ended it (rather than its timeout).</summary>
    public bool StoppedEarly { get; private set; }

    /// <summary>Completes when the child has ended.</summary>
    public Task Exited => _exited.Task;

    /// <summary>What stress-ng wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>
    /// Starts <c>stress-ng --cpu <paramref name="cpuWorkers"/> --timeout <paramref name="timeout"/>s
    /// [--cpu-load <paramref name="cpuLoadPercent"/>]</c>.
    /// </summary>
    /// <param name="cpuWorkers">CPU workers (1..1024; 0 means one per online CPU, as stress-ng defines it).</param>
    /// <param name="timeout">How long it runs by itself (rounded up to whole seconds, 1 s .. 1 h).</param>
    /// <param name="cpuLoadPercent">Load per worker, percent (1..100); null = 100.</param>
    /// <param name="timeProvider">Clock for <see cref="StartedAt"/>/<see cref="EndedAt"/> (null: system).</param>
    /// <returns>The running child; dispose it to stop it.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument is outside its range.</exception>
    /// <exception cref="FileNotFoundException">stress-ng is not installed; the message names the Debian package <c>stress-ng</c>.</exception>
    public static StressNg Start(int cpuWorkers, TimeSpan timeout, int? cpuLoadPercent = null, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cpuWorkers);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(cpuWorkers, 1024);
        if (timeout <= TimeSpan.Zero || timeout > TimeSpan.FromHours(1))
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "timeout must be in (0, 1 h]");
        if (cpuLoadPercent is < 1 or > 100)
            throw new ArgumentOutOfRangeException(nameof(cpuLoadPercent), cpuLoadPercent, "cpu load must be 1..100 percent");
        string executable = ExternalTool.Find("stress-ng", "stress-ng");
        var arguments = new List<string>
        {
            "--cpu", cpuWorkers.ToString(CultureInfo.InvariantCulture),
            "--timeout", ((int)Math.Ceiling(timeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture) + "s",
        };
        if (cpuLoadPercent is { } load) arguments.AddRange(["--cpu-load", load.ToString(CultureInfo.InvariantCulture)]);
        var psi = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in arguments) psi.ArgumentList.Add(a);
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var time = timeProvider ?? TimeProvider.System;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        if (!process.Start()) throw new InvalidOperationException($"could not start {executable}");
        var stress = new StressNg(process, output, time, arguments);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _ = stress.WatchAsync();
        return stress;
    }

    /// <summary>
    /// Stops it now: SIGTERM to its PID, then (after <paramref name="grace"/>, default 3 s) SIGKILL to
    /// it and its workers. Returns when it has ended. Does nothing when it already ended.
    /// </summary>
    public async Task StopAsync(TimeSpan? grace = null)
    {
        if (HasExited) return;
        StoppedEarly = true;
        _ = Posix.Signal(Pid, Posix.SigTerm);
        try { await _exited.Task.WaitAsync(grace ?? TimeSpan.FromSeconds(3)).ConfigureAwait(false); }
        catch (TimeoutException)
        {
            try { _process.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
            await _exited.Task.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        try { await StopAsync().ConfigureAwait(false); }
        catch (TimeoutException) { }
        _process.Dispose();
    }

    private async Task WatchAsync()
    {
        await _process.WaitForExitAsync().ConfigureAwait(false);
        ExitCode = _process.ExitCode;
        EndedAt = _time.GetUtcNow();
        _exited.TrySetResult();
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null) return;
        lock (output) output.AppendLine(line);
    }
}
