using System.CommandLine;

namespace ExchangeHealth.Cli;

internal static class JournalCommand
{
    public static Command Create()
    {
        var command = new Command("journal", "Inspect and verify a journal directory (not yet wired).");
        command.SetAction(_ => 1);
        return command;
    }
}
