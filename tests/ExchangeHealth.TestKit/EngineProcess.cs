using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using ExchangeHealth.Engine.Gateway;

namespace ExchangeHealth.TestKit;

/// <summary>
/// A real <c>exh engine</c> child process for tests: started on 127.0.0.1 with ephemeral ports,
/// found through the <see cref="EngineEndpoints"/> file (<c>engine.json</c>) it writes into its data directory, stopped by its
/// PID only (SIGTERM for a graceful stop, SIGKILL for a crash).
/// </summary>
public sealed partial class EngineProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _logPath;

    private EngineProcess(Process process, string dataDirectory, IPEndPoint tcp, Uri http, string logPath)
    {
        _process = process;
        DataDirectory = dataDirectory;
        TcpEndPoint = tcp;
        HttpAddress = http;
        _logPath = logPath;
    }

    /// <summary>The engine's data directory.</summary>
    public string DataDirectory { get; }

    /// <summary>The order-entry TCP endpoint.</summary>
    public IPEndPoint TcpEndPoint { get; }

    /// <summary>The HTTP base address.</summary>
    public Uri HttpAddress { get; }

    /// <summary>The child's process id.</summary>
    public int Pid => _process.Id;

    /// <summary>Whether the child has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The child's exit code (after it exited).</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>What the child wrote to stdout and stderr so far.</summary>
    public string Log => File.Exists(_logPath) ? ReadShared(_logPath) : "";

    /// <summary>
    /// Starts <c>exh engine --data DIR --listen 127.0.0.1:0 --http 127.0.0.1:0</c> from the
    /// <c>exh.dll</c> beside the test assembly and waits until <c>/ready</c> answers 200.
    /// </summary>
    /// <exception cref="TimeoutException">The engine did not become ready in time (its output is in the message).</exception>
    public static async Task<EngineProcess> StartAsync(string dataDirectory, IEnumerable<string>? extraArgs = null, TimeSpan? timeout = null)
    {
        string exh = Path.Combine(AppContext.BaseDirectory, "exh.dll");
        if (!File.Exists(exh)) throw new FileNotFoundException("exh.dll is not beside the tests; reference src/Exh from the test project", exh);
        Directory.CreateDirectory(dataDirectory);
        File.Delete(EngineEndpoints.PathIn(dataDirectory));
        string log = Path.Combine(dataDirectory, $"engine-{Guid.NewGuid():N}.log");
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in new[] { exh, "engine", "--data", dataDirectory, "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0" }) psi.ArgumentList.Add(a);
        foreach (string a in extraArgs ?? []) psi.ArgumentList.Add(a);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start dotnet exh.dll engine");
        var writer = new StreamWriter(new FileStream(log, FileMode.Create, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        object gate = new();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (gate) writer.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (gate) writer.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        while (deadline.Elapsed < limit)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"exh engine exited with code {process.ExitCode} before it was ready:\n{ReadShared(log)}");
            if (EngineEndpoints.TryRead(dataDirectory, out var endpoints, out _) && endpoints!.Pid == process.Id)
            {
                var (tcp, httpUri) = (endpoints.Tcp, endpoints.Http);
                try
                {
                    using var response = await http.GetAsync(new Uri(httpUri, "/ready")).ConfigureAwait(false);
                    if (response.IsSuccessStatusCode) return new EngineProcess(process, dataDirectory, tcp, httpUri, log);
                }
                catch (HttpRequestException) { }
                catch (TaskCanceledException) { }
            }
            await Task.Delay(50).ConfigureAwait(false);
        }
        try { process.Kill(); } catch (InvalidOperationException) { }
        throw new TimeoutException($"exh engine was not ready within {limit.TotalSeconds} s:\n{ReadShared(log)}");
    }

    /// <summary>Crashes the engine: SIGKILL to its PID, then waits for it to be gone.</summary>
    public async Task KillAsync()
    {
        if (_process.HasExited) return;
        _process.Kill(entireProcessTree: false); // SIGKILL on Unix
        await _process.WaitForExitAsync().ConfigureAwait(false);
    }

    /// <summary>Graceful stop: SIGTERM to its PID, then waits up to <paramref name="timeout"/> for it to exit.</summary>
    /// <returns>The exit code.</returns>
    /// <exception cref="TimeoutException">It did not exit in time (it is then killed).</exception>
    public async Task<int> TerminateAsync(TimeSpan? timeout = null)
    {
        if (!_process.HasExited)
        {
            if (Kill(_process.Id, 15) != 0) throw new InvalidOperationException($"kill -TERM {_process.Id} failed");
            using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
            try { await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false); }
            catch (OperationCanceledException)
            {
                _process.Kill();
                throw new TimeoutException($"exh engine (pid {_process.Id}) did not exit after SIGTERM:\n{Log}");
            }
        }
        return _process.ExitCode;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try { await KillAsync().ConfigureAwait(false); } catch (InvalidOperationException) { }
        }
        _process.Dispose();
    }

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
