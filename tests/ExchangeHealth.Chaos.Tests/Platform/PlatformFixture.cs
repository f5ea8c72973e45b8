using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using ExchangeHealth.Chaos.Platform;

namespace ExchangeHealth.Chaos.Tests.Platform;

/// <summary>One real platform (ports auto, data in a temporary directory, generated order flow at 20 commands/s) shared by a test class.</summary>
public sealed class PlatformFixture : IAsyncLifetime
{
    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "exh-up-test-" + Guid.NewGuid().ToString("N")[..10]);

    public PlatformSupervisor Platform { get; private set; } = null!;

    public StringWriter Progress { get; } = new();

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(5) };

    public static PlatformOptions Options(string dataDirectory, OrderFlow? flow = null) => new()
    {
        DataDirectory = dataDirectory,
        ExhCommand = ExhCommand.Dll(Path.Combine(AppContext.BaseDirectory, "exh.dll")),
        Ports = PlatformPorts.Auto,
        OrderFlow = flow ?? OrderFlow.Generated(20),
    };

    public async Task InitializeAsync()
    {
        Platform = await PlatformSupervisor.StartAsync(Options(DataDirectory), TextWriter.Synchronized(Progress));
    }

    public async Task DisposeAsync()
    {
        await Platform.DisposeAsync();
        Http.Dispose();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Polls a PromQL query until <paramref name="accept"/> holds for its samples (labels, value); throws with the last result after <paramref name="timeout"/>.</summary>
    public async Task<List<(Dictionary<string, string> Labels, double Value)>> WaitForQueryAsync(
        string promql, Func<List<(Dictionary<string, string> Labels, double Value)>, bool> accept, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        List<(Dictionary<string, string>, double)> last = [];
        while (true)
        {
            try
            {
                last = await QueryAsync(promql);
                if (accept(last)) return last;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{promql}: last result [{string.Join(", ", last.Select(s => string.Join(",", s.Item1.Select(l => l.Key + "=" + l.Value)) + " " + s.Item2))}]");
            await Task.Delay(250);
        }
    }

    public async Task<List<(Dictionary<string, string> Labels, double Value)>> QueryAsync(string promql)
    {
        string body = await Http.GetStringAsync(new Uri(Platform.Endpoints.Prometheus, "api/v1/query?query=" + Uri.EscapeDataString(promql)));
        using var doc = JsonDocument.Parse(body);
        var result = new List<(Dictionary<string, string>, double)>();
        foreach (var s in doc.RootElement.GetProperty("data").GetProperty("result").EnumerateArray())
        {
            var labels = s.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "");
            result.Add((labels, double.Parse(s.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture)));
        }
        return result;
    }

    public async Task<JsonDocument> MonitorGetAsync(string path)
    {
        var node = Platform.Endpoints.Monitors[0];
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(node.Api, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", File.ReadAllText(node.TokenFile).Trim());
        using var response = await Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }

    /// <summary>The process state letter of /proc/PID/stat (R, S, T for stopped, Z...), or null when gone.</summary>
    public static char? ProcessState(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2];
        }
        catch (IOException) { return null; }
    }

    public static string CommandLine(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' '); }
        catch (IOException) { return ""; }
    }
}
