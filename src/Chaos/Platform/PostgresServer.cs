using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace ExchangeHealth.Chaos.Platform;

/// <summary>
/// A real, throwaway PostgreSQL 15 server (Debian package <c>postgresql</c>) for tests: a fresh
/// cluster in a temporary directory (<c>initdb -U postgres -A trust --no-sync</c>, UTF-8, locale C),
/// started with <c>pg_ctl</c> on a free port of 127.0.0.1 (socket in the same directory, durability
/// off: <c>fsync</c>, <c>synchronous_commit</c> and <c>full_page_writes</c> are off). Tests get
/// isolated databases on it with <see cref="CreateDatabaseAsync(string, CancellationToken)"/>.
/// Start one per test run (starting costs about a second); <see cref="DisposeAsync"/> stops it
/// (<c>pg_ctl stop -m immediate</c>, else kills the postmaster it started, by PID) and deletes the directory.
/// </summary>
/// <remarks>
/// initdb refuses to run as root: as root, the directory is given to the OS user <c>postgres</c>
/// (which the Debian package creates) and the binaries run through <c>runuser -u postgres --</c>.
/// The binaries are looked up in <see cref="DefaultBinDirectory"/>, or in the directory named by the
/// environment variable <c>EXH_PG_BIN</c>.
/// </remarks>
public sealed partial class PostgresServer : IAsyncDisposable
{
    /// <summary>Where Debian's <c>postgresql-15</c> puts <c>initdb</c> and <c>pg_ctl</c>.</summary>
    public const string DefaultBinDirectory = "/usr/lib/postgresql/15/bin";

    /// <summary>The superuser (trust authentication, no password).</summary>
    public const string User = "postgres";

    private static readonly TimeSpan _toolTimeout = TimeSpan.FromSeconds(60);

    private readonly string _bin;
    private readonly bool _asPostgresUser;
    private int _disposed;

    private PostgresServer(string directory, string bin, bool asPostgresUser, int port, int pid)
    {
        Directory = directory;
        _bin = bin;
        _asPostgresUser = asPostgresUser;
        Port = port;
        Pid = pid;
    }

    /// <summary>The temporary directory: <c>data/</c> (the cluster), the socket and <c>postgres.log</c>.</summary>
    public string Directory { get; }

    /// <summary>The cluster's data directory.</summary>
    public string DataDirectory => Path.Combine(Directory, "data");

    /// <summary>The server's log.</summary>
    public string LogPath => Path.Combine(Directory, "postgres.log");

    /// <summary>Always <c>127.0.0.1</c>.</summary>
    public string Host => "127.0.0.1";

    /// <summary>The TCP port.</summary>
    public int Port { get; }

    /// <summary>PID of the postmaster (from <c>postmaster.pid</c>).</summary>
    public int Pid { get; }

    /// <summary>A connection string to the <c>postgres</c> maintenance database.</summary>
    public string AdminConnectionString => ConnectionString("postgres");

    /// <summary>The server's log so far (empty when unreadable).</summary>
    public string Log
    {
        get
        {
            try { return File.ReadAllText(LogPath); }
            catch (IOException) { return ""; }
            catch (UnauthorizedAccessException) { return ""; }
        }
    }

    /// <summary>A connection string for <paramref name="database"/> on this server (user <c>postgres</c>, no password).</summary>
    public string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = Host,
        Port = Port,
        Username = User,
        Database = database,
        Timeout = 15,
        CommandTimeout = 30,
    }.ConnectionString;

    /// <summary>Creates a cluster in a new temporary directory and starts the server.</summary>
    /// <param name="cancellationToken">Cancels the start (what was started is stopped).</param>
    /// <returns>The running server; dispose it.</returns>
    /// <exception cref="FileNotFoundException">The PostgreSQL 15 server binaries are not installed; the message says <c>apt-get install postgresql</c>.</exception>
    /// <exception cref="InvalidOperationException">initdb or pg_ctl failed; the message quotes their output and the server log.</exception>
    public static Task<PostgresServer> StartAsync(CancellationToken cancellationToken = default) =>
        StartAsync(Environment.GetEnvironmentVariable("EXH_PG_BIN") is { Length: > 0 } b ? b : DefaultBinDirectory, cancellationToken);

    /// <summary>Creates a cluster with the binaries of <paramref name="bin"/> and starts the server.</summary>
    /// <param name="bin">The directory holding <c>initdb</c> and <c>pg_ctl</c>.</param>
    /// <param name="cancellationToken">Cancels the start (what was started is stopped).</param>
    /// <returns>The running server; dispose it.</returns>
    /// <exception cref="FileNotFoundException">The binaries are not there; the message says <c>apt-get install postgresql</c>.</exception>
    /// <exception cref="InvalidOperationException">initdb or pg_ctl failed; the message quotes their output and the server log.</exception>
    public static async Task<PostgresServer> StartAsync(string bin, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(bin);
        foreach (string tool in new[] { "initdb", "pg_ctl" })
        {
            if (!File.Exists(Path.Combine(bin, tool)))
            {
                throw new FileNotFoundException(
                    $"PostgreSQL 15 server binary '{tool}' was not found in {bin}. Install the Debian package: apt-get install postgresql "
                    + "(./test.sh installs it on a fresh machine).", Path.Combine(bin, tool));
            }
        }

        bool root = await IsRootAsync(cancellationToken).ConfigureAwait(false);
        string directory = Path.Combine(Path.GetTempPath(), "exh-pg-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(directory);
        try
        {
            if (root)
            {
                if (ExternalToolPath("runuser") is null)
                    throw new FileNotFoundException("running as root needs 'runuser' (Debian package util-linux) to start PostgreSQL as the user postgres", "runuser");
                await RunAsync("chown", ["postgres:postgres", directory], asPostgres: false, cancellationToken).ConfigureAwait(false);
            }
            string data = Path.Combine(directory, "data");
            await RunAsync(Path.Combine(bin, "initdb"), ["-D", data, "-U", User, "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"], root, cancellationToken)
                .ConfigureAwait(false);

            string log = Path.Combine(directory, "postgres.log");
            for (int attempt = 1; ; attempt++)
            {
                int port = LoopbackPort.Free();
                string options = string.Create(CultureInfo.InvariantCulture,
                    $"-c listen_addresses=127.0.0.1 -p {port} -k {directory} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200");
                var (code, output) = await TryRunAsync(Path.Combine(bin, "pg_ctl"),
                    ["-D", data, "-l", log, "-w", "-t", "60", "-o", options, "start"], root, cancellationToken).ConfigureAwait(false);
                if (code == 0)
                {
                    int pid = ReadPostmasterPid(data)
                        ?? throw new InvalidOperationException($"pg_ctl started PostgreSQL but {data}/postmaster.pid has no PID:\n{output}");
                    return new PostgresServer(directory, bin, root, port, pid);
                }
                string serverLog = File.Exists(log) ? await File.ReadAllTextAsync(log, cancellationToken).ConfigureAwait(false) : "";
                bool portTaken = serverLog.Contains("could not bind", StringComparison.Ordinal) || serverLog.Contains("already in use", StringComparison.Ordinal);
                if (!portTaken || attempt == 3)
                    throw new InvalidOperationException($"pg_ctl start failed (exit code {code}):\n{output}\n--- server log ---\n{serverLog}");
            }
        }
        catch
        {
            await StopAndDeleteAsync(directory, bin, root, pid: null).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Creates an empty database <paramref name="name"/> and returns its connection string.</summary>
    /// <param name="name">Lowercase letters, digits and underscores, starting with a letter or underscore, at most 63 characters.</param>
    /// <param name="cancellationToken">Cancels the creation.</param>
    /// <exception cref="ArgumentException">The name is not such an identifier.</exception>
    /// <exception cref="PostgresException">The database exists already.</exception>
    public async Task<string> CreateDatabaseAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!IdentifierPattern().IsMatch(name)) throw new ArgumentException($"'{name}' is not a plain lowercase identifier", nameof(name));
        var connection = new NpgsqlConnection(AdminConnectionString);
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            // CREATE DATABASE takes no parameters; the name is a checked identifier, quoted.
            var cmd = connection.CreateCommand();
            await using (cmd.ConfigureAwait(false))
            {
#pragma warning disable CA2100 // the identifier matches ^[a-z_][a-z0-9_]{0,62}$
                cmd.CommandText = $"CREATE DATABASE \"{name}\"";
#pragma warning restore CA2100
                await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        return ConnectionString(name);
    }

    /// <summary>Creates an empty database with a unique name (<c>t_</c> and 24 hex digits) and returns its connection string.</summary>
    /// <param name="cancellationToken">Cancels the creation.</param>
    public Task<string> CreateDatabaseAsync(CancellationToken cancellationToken = default) =>
        CreateDatabaseAsync("t_" + Guid.NewGuid().ToString("N")[..24], cancellationToken);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        using (var admin = new NpgsqlConnection(AdminConnectionString)) NpgsqlConnection.ClearPool(admin);
        await StopAndDeleteAsync(Directory, _bin, _asPostgresUser, Pid).ConfigureAwait(false);
    }

    private static async Task StopAndDeleteAsync(string directory, string bin, bool asPostgres, int? pid)
    {
        string data = Path.Combine(directory, "data");
        pid ??= ReadPostmasterPid(data);
        if (pid is not null)
        {
            try
            {
                await TryRunAsync(Path.Combine(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "-t", "30", "stop"], asPostgres, CancellationToken.None).ConfigureAwait(false);
            }
            catch (InvalidOperationException) { }
            catch (System.ComponentModel.Win32Exception) { }
            // Still running (pg_ctl failed and postmaster.pid still names it)? Kill the postmaster this
            // server started, by its PID.
            if (ReadPostmasterPid(data) != pid) pid = null;
        }
        if (pid is not null)
        {
            try
            {
                using var p = Process.GetProcessById(pid.Value);
                if (p.ProcessName.Contains("postgres", StringComparison.Ordinal))
                {
                    p.Kill();
                    await p.WaitForExitAsync().ConfigureAwait(false);
                }
            }
            catch (ArgumentException) { }
            catch (InvalidOperationException) { }
            catch (System.ComponentModel.Win32Exception) { }
        }
        try { System.IO.Directory.Delete(directory, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static int? ReadPostmasterPid(string data)
    {
        try
        {
            string path = Path.Combine(data, "postmaster.pid");
            if (!File.Exists(path)) return null;
            string first = File.ReadLines(path).FirstOrDefault() ?? "";
            return int.TryParse(first.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : null;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    private static async Task<bool> IsRootAsync(CancellationToken cancellationToken)
    {
        var (code, output) = await TryRunAsync("id", ["-u"], asPostgres: false, cancellationToken).ConfigureAwait(false);
        return code == 0 && output.Trim() == "0";
    }

    private static string? ExternalToolPath(string name) => ExternalTool.TryFind(name);

    private static async Task RunAsync(string exe, string[] args, bool asPostgres, CancellationToken cancellationToken)
    {
        var (code, output) = await TryRunAsync(exe, args, asPostgres, cancellationToken).ConfigureAwait(false);
        if (code != 0) throw new InvalidOperationException($"{Path.GetFileName(exe)} {string.Join(' ', args)} failed (exit code {code}):\n{output}");
    }

    private static async Task<(int ExitCode, string Output)> TryRunAsync(string exe, string[] args, bool asPostgres, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(asPostgres ? "runuser" : exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        if (asPostgres)
        {
            foreach (string a in new[] { "-u", User, "--", exe }) psi.ArgumentList.Add(a);
        }
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"{exe} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_toolTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw new InvalidOperationException($"{Path.GetFileName(exe)} {string.Join(' ', args)} did not finish within {_toolTimeout.TotalSeconds} s");
        }
        string output = await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false);
        return (process.ExitCode, output);
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex IdentifierPattern();
}
