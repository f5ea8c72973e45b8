using ExchangeHealth.Engine;
using Spectre.Console;

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

    /// <summary>A console on <paramref name="writer"/>: colors and live display on a terminal, plain 120-column text otherwise.</summary>
    public static IAnsiConsole CreateConsole(TextWriter writer, bool interactive, int plainWidth = 120)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
        });
        if (!interactive) console.Profile.Width = plainWidth;
        return console;
    }
}
