using ExchangeHealth.Cli;

namespace ExchangeHealth.Incidents.Tests.Http;

/// <summary>The console is process-wide: tests that capture it run alone (after the parallel ones).</summary>
[CollectionDefinition(nameof(ConsoleCaptureCollection), DisableParallelization = true)]
public sealed class ConsoleCaptureCollection;

/// <summary>Runs the <c>exh</c> command line in-process (<see cref="Program.Main"/>) with standard output and error captured.</summary>
internal static class ExhCli
{
    private static readonly SemaphoreSlim Gate = new(1, 1);

    public static async Task<(int ExitCode, string Out, string Error)> RunAsync(params string[] args)
    {
        await Gate.WaitAsync();
        TextWriter oldOut = Console.Out, oldError = Console.Error;
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            // Main blocks on the command's task: keep it off the test's synchronization context.
            int code = await Task.Run(() => Program.Main(args));
            return (code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldError);
            Gate.Release();
        }
    }
}
