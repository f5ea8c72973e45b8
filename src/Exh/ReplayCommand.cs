using System.CommandLine;

namespace ExchangeHealth.Cli;

internal static class ReplayCommand
{
    public static Command Create()
    {
        var command = new Command("replay", "Replay an order-flow file through the engine (not yet wired).");
        command.SetAction(_ => 1);
        return command;
    }
}
