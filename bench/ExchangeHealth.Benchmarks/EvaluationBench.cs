using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using ExchangeHealth.Alerting.Host;
using ExchangeHealth.TestKit.Prometheus;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ExchangeHealth.Benchmarks;

/// <summary>What <see cref="EvaluationBench"/> measured.</summary>
/// <param name="Rules">Alerting rules.</param>
/// <param name="Series">Series each rule's expression selects.</param>
/// <param name="Seconds">Measured wall time.</param>
/// <param name="Evaluations">Rule evaluations (rule × evaluation) completed.</param>
/// <param name="MonitorCpuSeconds">CPU time of this process (the monitor) over the measurement.</param>
/// <param name="PrometheusCpuSeconds">CPU time of the Prometheus process over the measurement (its scrapes and our queries).</param>
/// <param name="FiringAlerts">Alert instances firing at the end (a check that the rules did select the series).</param>
public sealed record EvaluationBenchResult(int Rules, int Series, double Seconds, long Evaluations, double MonitorCpuSeconds, double PrometheusCpuSeconds, int FiringAlerts)
{
    /// <summary>Rule × series evaluated per second.</summary>
    public double RuleSeriesPerSecond => Evaluations * (double)Series / Seconds;

    /// <summary>Monitor CPU per wall second (1.0 = one core busy).</summary>
    public double MonitorCores => MonitorCpuSeconds / Seconds;

    /// <summary>Prometheus CPU per wall second.</summary>
    public double PrometheusCores => PrometheusCpuSeconds / Seconds;
}

/// <summary>
/// Evaluation cost: <c>rules</c> alerting rules in groups of 10, each selecting all <c>series</c>
/// series of a synthetic gauge (half of them above the rule's threshold, so half the instances
/// fire), evaluated by the monitor every second against a real Prometheus that scrapes the gauge
/// every second. Reports rule × series per second and the CPU of the monitor and of Prometheus.
/// </summary>
public sealed class EvaluationBench(int rules, int series, TimeSpan duration, TextWriter? progress)
{
    /// <summary>Runs the benchmark.</summary>
    public async Task<EvaluationBenchResult> RunAsync(CancellationToken cancellationToken = default)
    {
        string dir = Path.Combine(Path.GetTempPath(), "exh-evalbench-" + Guid.NewGuid().ToString("N"));
        string rulesDir = Path.Combine(dir, "rules");
        Directory.CreateDirectory(rulesDir);
        try
        {
            var sb = new StringBuilder("groups:\n");
            for (int r = 0; r < rules; r++)
            {
                if (r % 10 == 0) sb.Append(CultureInfo.InvariantCulture, $"  - name: bench-{r / 10}\n    rules:\n");
                sb.Append(CultureInfo.InvariantCulture, $"      - alert: Bench{r}\n        expr: exh_bench_gauge > {series / 2}\n        for: 5s\n        labels:\n          severity: info\n        annotations:\n          summary: \"{{{{ $labels.i }}}} at {{{{ $value }}}}\"\n");
            }
            await File.WriteAllTextAsync(Path.Combine(rulesDir, "bench.rules.yml"), sb.ToString(), cancellationToken).ConfigureAwait(false);

            await using var target = await StartTargetAsync(series).ConfigureAwait(false);
            string targetAddress = target.Urls.First().Replace("http://", "", StringComparison.Ordinal);
            await using var prom = await PrometheusServer.StartAsync(new Dictionary<string, IEnumerable<string>> { ["bench"] = [targetAddress] }, TimeSpan.FromSeconds(1), null, cancellationToken).ConfigureAwait(false);
            await prom.WaitForAsync("count(exh_bench_gauge)", r => r.Count == 1 && (int)r[0].Value == series, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);

            await using var monitor = await MonitorHost.StartAsync(new MonitorOptions
            {
                PrometheusUrl = prom.BaseAddress,
                RulesDirectory = rulesDir,
                DataDirectory = Path.Combine(dir, "monitor"),
                Listen = new IPEndPoint(IPAddress.Loopback, 0),
                ConsoleOut = TextWriter.Null,
            }, cancellationToken: cancellationToken).ConfigureAwait(false);
            long evaluations = 0;
            monitor.Rules.Evaluated += (e, _) => Interlocked.Add(ref evaluations, e.Rules.Count);
            await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken).ConfigureAwait(false); // warm-up

            using var self = Process.GetCurrentProcess();
            using var promProcess = Process.GetProcessById(prom.Pid);
            self.Refresh();
            promProcess.Refresh();
            var cpu0 = self.TotalProcessorTime;
            var promCpu0 = promProcess.TotalProcessorTime;
            long evals0 = Interlocked.Read(ref evaluations);
            var clock = Stopwatch.StartNew();
            await Task.Delay(duration, cancellationToken).ConfigureAwait(false);
            double seconds = clock.Elapsed.TotalSeconds;
            self.Refresh();
            promProcess.Refresh();
            long evals = Interlocked.Read(ref evaluations) - evals0;
            int firing = monitor.Rules.Evaluators.Sum(e => e.Rules.Sum(r => e.SnapshotAlerts(r).Count(a => a.State == Alerting.Evaluation.AlertState.Firing)));
            var result = new EvaluationBenchResult(rules, series, seconds, evals,
                (self.TotalProcessorTime - cpu0).TotalSeconds, (promProcess.TotalProcessorTime - promCpu0).TotalSeconds, firing);
            progress?.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{rules} rules x {series} series: {result.Evaluations / seconds:F0} rule evaluations/s, {result.RuleSeriesPerSecond:N0} rule x series/s; monitor CPU {result.MonitorCores:P1} of a core, Prometheus CPU {result.PrometheusCores:P1}; {firing} alerts firing"));
            return result;
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>A scrape target serving <paramref name="count"/> series of <c>exh_bench_gauge{i}</c> with values 0..count-1.</summary>
    private static async Task<WebApplication> StartTargetAsync(int count)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var body = new StringBuilder("# TYPE exh_bench_gauge gauge\n");
        for (int i = 0; i < count; i++) body.Append(CultureInfo.InvariantCulture, $"exh_bench_gauge{{i=\"{i}\"}} {i}\n");
        string text = body.ToString();
        app.MapGet("/metrics", () => Microsoft.AspNetCore.Http.Results.Text(text, "text/plain; version=0.0.4"));
        await app.StartAsync().ConfigureAwait(false);
        _ = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>();
        return app;
    }
}
