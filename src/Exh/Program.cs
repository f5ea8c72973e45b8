using System.CommandLine;

namespace ExchangeHealth.Cli;

/// <summary>The <c>exh</c> command-line host: one executable, one subcommand per job.</summary>
public static class Program
{
    /// <summary>Entry point. Exit codes: 0 success, 1 failure of the job, 2 bad usage or input.</summary>
    public static int Main(string[] args)
    {
        var root = BuildRoot();
        if (args.Length == 0) return root.Parse(["--help"]).Invoke();
        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors) Console.Error.WriteLine($"exh: {error.Message}");
            string command = parse.CommandResult.Command == root ? "exh" : "exh " + parse.CommandResult.Command.Name;
            Console.Error.WriteLine($"Run '{command} --help' for usage.");
            return 2;
        }
        // exh chaos run handles Ctrl-C itself: its rollbacks must run to the end, longer than
        // System.CommandLine's 2 s grace before it returns exit code 130.
        if (ChaosCommand.HandlesTermination(parse)) return parse.Invoke(new InvocationConfiguration { ProcessTerminationTimeout = null });
        return parse.Invoke();
    }

    /// <summary>The command tree (also used by tests).</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand(
            "ExchangeHealth: a matching engine and the observability and incident-response platform around it.\n" +
            "Run 'exh <command> --help' for the options of a command.");
        foreach (var command in Commands()) root.Subcommands.Add(command);
        return root;
    }

    private static IEnumerable<Command> Commands()
    {
        yield return ReplayCommand.Create();
        yield return BenchCommand.Create();
        yield return JournalCommand.Create();
        yield return EngineCommand.Create();
        yield return LoadCommand.Create();
        yield return CanaryCommand.Create();
        yield return SloCommand.Create();
        yield return MonitorCommand.Create();
        yield return MonitorCommand.CreateSilence();
        yield return IncidentsCommand.Create();
        yield return UpCommand.Create();
        yield return ChaosCommand.Create();
    }
}
