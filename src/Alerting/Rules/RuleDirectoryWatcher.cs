using ExchangeHealth.Engine;
using Microsoft.Extensions.Logging;

namespace ExchangeHealth.Alerting.Rules;

/// <summary>
/// Keeps a <see cref="RuleSet"/> of a rules directory current: a <see cref="FileSystemWatcher"/>
/// plus a poll (default every 2 s) comparing the SHA-256 of each <c>*.yml</c>/<c>*.yaml</c> file,
/// since file-system events are unreliable (network and container mounts, editors that rename).
/// Changes are debounced (default 250 ms after the last event) and a reload happens only when some
/// file's content, or the set of files, differs from the last load. A refused file keeps its
/// previous groups (see <see cref="RuleSet.LoadDirectory"/>); its errors are in
/// <see cref="LastErrors"/>, raised with <see cref="Reloaded"/> and logged as warnings.
/// </summary>
/// <remarks>
/// Timers come from the <see cref="TimeProvider"/>, so tests drive polling and debouncing with a
/// manual clock. Reloads are serialised; <see cref="Reloaded"/> is raised on the reloading thread
/// (a timer thread, or the caller of <see cref="ReloadNow"/>), and a handler's exception is logged,
/// not propagated.
/// </remarks>
public sealed partial class RuleDirectoryWatcher : IDisposable
{
    /// <summary>Default interval of the hash poll.</summary>
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(2);

    /// <summary>Default quiet time after a change before reloading.</summary>
    public static readonly TimeSpan DefaultDebounce = TimeSpan.FromMilliseconds(250);

    private readonly object _gate = new();
    private readonly ILogger? _logger;
    private readonly TimeSpan _debounce;
    private readonly FileSystemWatcher? _fileWatcher;
    private readonly ITimer _pollTimer;
    private readonly ITimer _debounceTimer;
    private RuleSetLoadResult _last;
    private bool _disposed;

    /// <summary>Loads the directory once and starts watching it.</summary>
    /// <param name="directory">The rules directory (it must exist).</param>
    /// <param name="logger">Receives reload errors (warnings) and successful reloads (information); null for none.</param>
    /// <param name="timeProvider">Clock and timers; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="pollInterval">Hash poll interval; <see cref="DefaultPollInterval"/> when null.</param>
    /// <param name="debounce">Quiet time after a change; <see cref="DefaultDebounce"/> when null.</param>
    /// <exception cref="DirectoryNotFoundException"><paramref name="directory"/> does not exist.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A non-positive poll interval or a negative debounce.</exception>
    public RuleDirectoryWatcher(
        string directory,
        ILogger? logger = null,
        TimeProvider? timeProvider = null,
        TimeSpan? pollInterval = null,
        TimeSpan? debounce = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Directory = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(Directory)) throw new DirectoryNotFoundException($"the rules directory '{Directory}' does not exist");
        var poll = pollInterval ?? DefaultPollInterval;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(poll, TimeSpan.Zero, nameof(pollInterval));
        _debounce = debounce ?? DefaultDebounce;
        ArgumentOutOfRangeException.ThrowIfLessThan(_debounce, TimeSpan.Zero, nameof(debounce));
        _logger = logger;
        var time = timeProvider ?? TimeProvider.System;

        _last = Load(null);
        _debounceTimer = time.CreateTimer(_ => OnDebounced(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _pollTimer = time.CreateTimer(_ => OnPoll(), null, poll, poll);
        try
        {
            _fileWatcher = new FileSystemWatcher(Directory)
            {
                IncludeSubdirectories = false,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            _fileWatcher.Changed += OnFileEvent;
            _fileWatcher.Created += OnFileEvent;
            _fileWatcher.Deleted += OnFileEvent;
            _fileWatcher.Renamed += OnFileEvent;
            _fileWatcher.Error += (_, _) => Schedule();
            _fileWatcher.EnableRaisingEvents = true;
        }
        catch (Exception e) when (e is IOException or PlatformNotSupportedException or ArgumentException)
        {
            // Out of inotify watches, or an unsupported file system: the poll still works.
            _fileWatcher?.Dispose();
            _fileWatcher = null;
            if (_logger is not null) LogWatcherUnavailable(_logger, Directory, e.Message);
        }
    }

    /// <summary>Raised after every reload with the rules now in force and the refused files' errors (empty when all loaded).</summary>
    public event Action<RuleSet, IReadOnlyList<ConfigException>>? Reloaded;

    /// <summary>The watched directory (full path).</summary>
    public string Directory { get; }

    /// <summary>The rules in force.</summary>
    public RuleSet Current
    {
        get { lock (_gate) return _last.RuleSet; }
    }

    /// <summary>The errors of the last reload (empty when every file loaded).</summary>
    public IReadOnlyList<ConfigException> LastErrors
    {
        get { lock (_gate) return _last.Errors; }
    }

    /// <summary>Reloads the directory now, whether or not anything changed, and raises <see cref="Reloaded"/>.</summary>
    /// <returns>The load result (also in <see cref="Current"/> and <see cref="LastErrors"/>).</returns>
    /// <exception cref="ObjectDisposedException">The watcher is disposed.</exception>
    public RuleSetLoadResult ReloadNow()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _last = Load(_last.RuleSet);
            var handler = Reloaded;
            if (handler is not null)
            {
                try
                {
                    handler(_last.RuleSet, _last.Errors);
                }
                catch (Exception e)
                {
                    if (_logger is not null) LogHandlerFailed(_logger, e);
                }
            }
            return _last;
        }
    }

    /// <summary>Stops watching (the file watcher and both timers).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        _fileWatcher?.Dispose();
        _pollTimer.Dispose();
        _debounceTimer.Dispose();
    }

    private RuleSetLoadResult Load(RuleSet? previous)
    {
        var result = RuleSet.LoadDirectory(Directory, previous);
        if (_logger is not null)
        {
            foreach (var error in result.Errors) LogRefused(_logger, error.File, error.Line, error.Reason);
            LogLoaded(_logger, result.RuleSet.Groups.Count, result.RuleSet.AlertingRules.Count(), result.RuleSet.RecordingRules.Count(), Directory, result.Errors.Count);
        }
        return result;
    }

    private void OnFileEvent(object sender, FileSystemEventArgs e)
    {
        if (RuleSet.IsRuleFile(e.FullPath) || (e is RenamedEventArgs r && RuleSet.IsRuleFile(r.OldFullPath))) Schedule();
    }

    /// <summary>(Re)arms the debounce timer.</summary>
    private void Schedule()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _debounceTimer.Change(_debounce, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnPoll()
    {
        try
        {
            if (Changed()) Schedule();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (_logger is not null) LogPollFailed(_logger, Directory, e.Message);
        }
    }

    private void OnDebounced()
    {
        try
        {
            bool disposed;
            lock (_gate) disposed = _disposed;
            if (!disposed && Changed()) ReloadNow();
        }
        catch (ObjectDisposedException)
        {
            // Disposed between the check and the reload.
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (_logger is not null) LogPollFailed(_logger, Directory, e.Message);
        }
    }

    /// <summary>True when the set of rule files or the content of one differs from the last load.</summary>
    private bool Changed()
    {
        IReadOnlyDictionary<string, string> loaded;
        lock (_gate) loaded = _last.ContentHashes;
        List<string> files;
        try
        {
            files = RuleSet.ListRuleFiles(Directory);
        }
        catch (DirectoryNotFoundException)
        {
            return loaded.Count > 0;
        }
        if (files.Count != loaded.Count) return true;
        foreach (string file in files)
        {
            if (!loaded.TryGetValue(file, out string? hash)) return true;
            byte[] content;
            try
            {
                content = File.ReadAllBytes(file);
            }
            catch (FileNotFoundException)
            {
                return true;
            }
            if (!string.Equals(RuleSet.Hash(content), hash, StringComparison.Ordinal)) return true;
        }
        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rule file {File}:{Line}: {Reason} (refused; its previous version stays in force)")]
    private static partial void LogRefused(ILogger logger, string file, int line, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded {Groups} rule groups ({AlertingRules} alerting, {RecordingRules} recording rules) from {Directory}; {RefusedFiles} file(s) refused")]
    private static partial void LogLoaded(ILogger logger, int groups, int alertingRules, int recordingRules, string directory, int refusedFiles);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot watch {Directory} for changes ({Reason}); polling only")]
    private static partial void LogWatcherUnavailable(ILogger logger, string directory, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot poll {Directory} for rule changes: {Reason}")]
    private static partial void LogPollFailed(ILogger logger, string directory, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "A Reloaded handler of the rule directory watcher failed")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception);
}
