namespace ExchangeHealth.Chaos.Platform;

/// <summary>Finds the executables of installed Debian packages on <c>PATH</c>.</summary>
public static class ExternalTool
{
    /// <summary>Returns the full path of <paramref name="executable"/> found on <c>PATH</c>.</summary>
    /// <param name="executable">The file name, e.g. <c>prometheus</c> or <c>promtool</c>.</param>
    /// <param name="debianPackage">The Debian package that installs it, named in the error.</param>
    /// <returns>The absolute path of the first match.</returns>
    /// <exception cref="FileNotFoundException">It is not on <c>PATH</c>; the message names the package to install.</exception>
    public static string Find(string executable, string debianPackage)
    {
        string? path = TryFind(executable);
        return path ?? throw new FileNotFoundException(
            $"'{executable}' was not found on PATH. Install the Debian package '{debianPackage}' "
            + $"(apt-get install -y {debianPackage}); ./test.sh installs it on a fresh machine.",
            executable);
    }

    /// <summary>Returns the full path of <paramref name="executable"/> on <c>PATH</c>, or null.</summary>
    /// <param name="executable">The file name.</param>
    /// <returns>The absolute path of the first match, or null when there is none.</returns>
    public static string? TryFind(string executable)
    {
        string pathVariable = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (string directory in pathVariable.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(directory, executable);
            if (File.Exists(candidate) && (OperatingSystem.IsWindows()
                || (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0))
            {
                return candidate;
            }
        }
        return null;
    }
}
