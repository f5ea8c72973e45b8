using System.CommandLine;

namespace ExchangeHealth.Cli;

internal static class BenchCommand
{
    public static Command Create()
    {
        var command = new Command("bench", "Run the engine benchmarks (not yet wired).");
        command.SetAction(_ => 1);
        return command;
    }
}
