using ExchangeHealth.Engine;

namespace ExchangeHealth.Cli;

/// <summary>Small helpers shared by the subcommands: error output and config loading.</summary>
internal static class Cli
{
    /// <summary>Writes <c>exh: message</c> to standard error and returns <paramref name="exitCode"/> (2: bad usage or input).</summary>
    public static int Fail(string message, int exitCode = 2)
    {
        Console.Error.WriteLine($"exh: {message}");
        return exitCode;
    }

    /// <summary>Loads the markets file, or the embedded default when <paramref name="file"/> is null; prints the error (file:line) on failure.</summary>
    public static bool TryLoadMarkets(FileInfo? file, out IReadOnlyList<MarketDefinition> markets)
    {
        try
        {
            markets = file is null ? MarketsFile.Default() : MarketsFile.Load(file.FullName);
            return true;
        }
        catch (ConfigException e)
        {
            Fail(e.Message);
            markets = [];
            return false;
        }
    }
}
