using System.Text.Json.Nodes;

namespace ExchangeHealth.Monitor.Tests.Dashboards;

/// <summary>
/// Structural checks of <c>dashboards/*.json</c> (Grafana's classic dashboard JSON model; Grafana
/// itself cannot be installed here): ids, units, the datasource variable, <c>$__rate_interval</c>,
/// the market variable, and metric names against the metric contract.
/// </summary>
public sealed class DashboardStructureTests
{
    /// <summary>The dashboards the brief asks for (issue 6, "Dashboards").</summary>
    private static readonly string[] _expectedFiles = ["engine.json", "monitor.json", "slo-overview.json"];

    /// <summary>
    /// Sloth's recording-rule names (github.com/slok/sloth, prometheus/v1 generator), which the SLO
    /// generator writes into alert-rules/: the dashboards may read them.
    /// </summary>
    internal static readonly string[] SlothNames =
    [
        .. new[] { "5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d" }.Select(w => "slo:sli_error:ratio_rate" + w),
        "slo:objective:ratio", "slo:error_budget:ratio", "slo:current_burn_rate:ratio", "slo:period_burn_rate:ratio",
        "slo:period_error_budget_remaining:ratio", "sloth_slo_info",
    ];

    /// <summary>
    /// Names used by the dashboards that ARCHITECTURE.md's contract table does not (yet) list, each
    /// with its source. The integrator should add the two exh_* names to the contract table.
    /// </summary>
    internal static readonly Dictionary<string, string> NamesOutsideTheContract = new(StringComparer.Ordinal)
    {
        ["up"] = "Prometheus's own scrape health (ARCHITECTURE.md, Uptime: \"heartbeat age and Prometheus's up\")",
        ["exh_fault_active"] = "the engine's fault-injection gauge (EngineMetrics, exh.fault.active); the brief's 'active faults' panel",
        ["exh_probe_total"] = "the canary's probe counter by outcome (CanaryProber, exh.probe); the brief's canary outcomes",
    };

    /// <summary>Metric names of the contract when ARCHITECTURE.md is not beside the repository (../shared/docs): a copy of its table.</summary>
    private static readonly string[] _contractCopy =
    [
        "exh_orders_received_total", "exh_orders_rejected_total", "exh_order_ack_latency_seconds", "exh_match_latency_seconds",
        "exh_journal_fsync_latency_seconds", "exh_trades_total", "exh_inbound_queue_depth", "exh_engine_heartbeat_timestamp_seconds",
        "exh_market_state", "exh_journal_sequence", "exh_probe_success", "exh_probe_latency_seconds", "exh_rule_evaluations_total",
        "exh_rule_evaluation_failures_total", "exh_rule_evaluation_duration_seconds", "exh_alerts", "exh_notifications_total",
        "exh_notification_outbox_depth", "exh_incidents_open", "exh_incident_time_to_acknowledge_seconds", "exh_incident_time_to_resolve_seconds",
    ];

    private const string MarketQuery = "label_values(exh_orders_received_total, market)";

    private static readonly HashSet<string> _grafanaGlobals = new(StringComparer.Ordinal)
    {
        "__rate_interval", "__interval", "__interval_ms", "__range", "__range_s", "__range_ms",
    };

    [Fact]
    public void Dashboards_AreTheExpectedValidJsonFiles_WithUniqueUidsAndSchemaVersion39OrLater()
    {
        var dashboards = DashboardFiles.Load();
        Assert.Equal(_expectedFiles, dashboards.Select(d => d.File));
        var uids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (file, json) in dashboards)
        {
            string? uid = (string?)json["uid"];
            Assert.False(string.IsNullOrWhiteSpace(uid), $"{file}: uid missing");
            Assert.True(uid!.Length <= 40, $"{file}: Grafana uids are at most 40 characters");
            Assert.True(uids.Add(uid), $"{file}: uid '{uid}' is used by another dashboard");
            Assert.True((int?)json["schemaVersion"] >= 39, $"{file}: schemaVersion must be 39 or later");
            Assert.False(string.IsNullOrWhiteSpace((string?)json["title"]), $"{file}: title missing");
            Assert.NotEmpty(DashboardFiles.Panels(json));
        }
    }

    [Fact]
    public void Panels_HaveUniqueIdsUnitsAndUseTheDatasourceVariable_InPanelTargetAndVariables()
    {
        var problems = new List<string>();
        foreach (var (file, json) in DashboardFiles.Load())
        {
            var variables = json["templating"]?["list"]?.AsArray().Select(v => v!.AsObject()).ToList() ?? [];
            var ds = variables.SingleOrDefault(v => (string?)v["name"] == "datasource");
            if (ds is null || (string?)ds["type"] != "datasource" || (string?)ds["query"] != "prometheus")
                problems.Add($"{file}: no template variable 'datasource' of type datasource with query prometheus");
            foreach (var v in variables.Where(v => (string?)v["type"] == "query"))
                if (!IsDatasourceVariable(v["datasource"])) problems.Add($"{file}: variable '{v["name"]}' does not query ${{datasource}}");

            var ids = new HashSet<int>();
            foreach (var panel in DashboardFiles.Panels(json))
            {
                string where = $"{file} panel {panel["id"]} '{panel["title"]}'";
                if (panel["id"] is null || !ids.Add((int)panel["id"]!)) problems.Add($"{where}: id missing or repeated");
                if ((string?)panel["type"] == "row") continue;
                if (!IsDatasourceVariable(panel["datasource"])) problems.Add($"{where}: datasource is not {{type: prometheus, uid: ${{datasource}}}}");
                if (string.IsNullOrWhiteSpace((string?)panel["fieldConfig"]?["defaults"]?["unit"])) problems.Add($"{where}: fieldConfig.defaults.unit missing");
                var targets = panel["targets"]?.AsArray() ?? [];
                if (targets.Count == 0) problems.Add($"{where}: no targets");
                var refIds = new HashSet<string>(StringComparer.Ordinal);
                foreach (var t in targets)
                {
                    if (!IsDatasourceVariable(t!["datasource"])) problems.Add($"{where} {t["refId"]}: target datasource is not ${{datasource}}");
                    if (string.IsNullOrWhiteSpace((string?)t["expr"])) problems.Add($"{where} {t["refId"]}: empty expr");
                    if (!refIds.Add((string?)t["refId"] ?? "")) problems.Add($"{where}: refId '{t["refId"]}' repeated");
                }
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void EveryRateIncreaseAndIrate_UsesRateInterval()
    {
        var queries = DashboardFiles.Queries();
        var calls = queries.SelectMany(q => DashboardFiles.RateRanges(q.Expr).Select(r => (q, r.Function, r.Range))).ToList();
        Assert.True(calls.Count >= 20, "the dashboards use rate-like functions");
        var wrong = calls.Where(c => c.Range != "$__rate_interval").Select(c => $"{c.q}: {c.Function}(...[{c.Range}])").ToList();
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public void RateIntervalCheck_CatchesOtherRanges()
    {
        Assert.Equal([("rate", "5m")], DashboardFiles.RateRanges("sum(rate(x{a=\"[1m]\"}[5m]))"));
        Assert.Equal([("increase", "$__rate_interval"), ("irate", null)],
            DashboardFiles.RateRanges("increase(x[$__rate_interval]) / irate(y)"));
        Assert.Empty(DashboardFiles.RateRanges("accelerate(x[1m])"));
    }

    [Fact]
    public void MarketVariable_IsDefinedWhereUsed_AsLabelValuesOfOrdersReceived_AndNoUnknownVariable()
    {
        var problems = new List<string>();
        foreach (var (file, json) in DashboardFiles.Load())
        {
            var variables = json["templating"]?["list"]?.AsArray().Select(v => v!.AsObject()).ToList() ?? [];
            var names = variables.Select(v => (string)v["name"]!).ToHashSet(StringComparer.Ordinal);
            var queries = DashboardFiles.Queries().Where(q => q.File == file).ToList();
            foreach (var q in queries)
                foreach (string v in DashboardFiles.VariablesIn(q.Expr))
                    if (!names.Contains(v) && !_grafanaGlobals.Contains(v)) problems.Add($"{q}: unknown variable ${v}");
            if (queries.Any(q => DashboardFiles.VariablesIn(q.Expr).Contains("market")))
            {
                var market = variables.SingleOrDefault(v => (string?)v["name"] == "market");
                string? query = (string?)market?["query"]?["query"] ?? (string?)market?["query"];
                if (query != MarketQuery || (string?)market?["definition"] != MarketQuery)
                    problems.Add($"{file}: uses $market but its variable is not {MarketQuery}");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.Contains(DashboardFiles.Queries(), q => q.File == "engine.json" && q.Expr.Contains("$market", StringComparison.Ordinal));
    }

    [Fact]
    public void EveryMetricName_IsInTheContractOrSlothsRecordingRules()
    {
        var contract = DashboardFiles.ContractNames();
        if (contract is not null)
            Assert.Empty(_contractCopy.Except(contract)); // the copy above follows ARCHITECTURE.md
        contract ??= _contractCopy.ToHashSet(StringComparer.Ordinal);
        var allowed = new HashSet<string>(contract, StringComparer.Ordinal);
        foreach (string name in contract)
            foreach (string suffix in new[] { "_bucket", "_sum", "_count" })
                allowed.Add(name + suffix); // histogram series
        allowed.UnionWith(SlothNames);
        allowed.UnionWith(NamesOutsideTheContract.Keys);

        var queries = DashboardFiles.Queries();
        var unknown = queries.SelectMany(q => DashboardFiles.MetricNames(q.Expr).Where(n => !allowed.Contains(n)).Select(n => $"{q}: {n}")).ToList();
        Assert.True(unknown.Count == 0, "metric names outside the contract:\n" + string.Join("\n", unknown));
        // Every name outside the contract is really used (the list does not rot).
        var used = queries.SelectMany(q => DashboardFiles.MetricNames(q.Expr)).ToHashSet(StringComparer.Ordinal);
        Assert.Empty(NamesOutsideTheContract.Keys.Except(used));
    }

    [Fact]
    public void MetricNameExtraction_SkipsFunctionsLabelsKeywordsAndNumbers()
    {
        Assert.Equal(["a_total", "slo:objective:ratio", "b"], DashboardFiles.MetricNames(
            "histogram_quantile(0.99, sum by (le, market) (rate(a_total{market=~\"x|y\",le!=\"1\"}[5m]))) / on (sloth_id) group_left (z) " +
            "max without (q) (slo:objective:ratio) * 2.5e-3 + sum(b offset 5m) > bool inf * $__range_s / ${__interval_ms}"));
    }

    private static bool IsDatasourceVariable(JsonNode? datasource) =>
        datasource is JsonObject o && (string?)o["uid"] == "${datasource}" && (string?)o["type"] == "prometheus";
}
