namespace ExchangeHealth.Telemetry;

/// <summary>
/// The Prometheus metric family type an OpenTelemetry metric is exposed as (the <c># TYPE</c> line).
/// </summary>
/// <remarks>
/// Mapping from the OpenTelemetry data model (OpenTelemetry specification, "Prometheus and
/// OpenMetrics Compatibility", section "OTLP Metric points to Prometheus"): a monotonic cumulative
/// sum (<c>Counter</c>, <c>ObservableCounter</c>) is a <see cref="Counter"/>; a non-monotonic sum
/// (<c>UpDownCounter</c>, <c>ObservableUpDownCounter</c>) and a gauge (<c>Gauge</c>,
/// <c>ObservableGauge</c>) are a <see cref="Gauge"/>; an explicit-bucket histogram is a
/// <see cref="Histogram"/>.
/// </remarks>
public enum PrometheusMetricType
{
    /// <summary>A monotonically increasing cumulative total; its name ends in <c>_total</c>.</summary>
    Counter,

    /// <summary>A value that can go up and down.</summary>
    Gauge,

    /// <summary>Cumulative <c>_bucket{le="..."}</c> counts plus <c>_sum</c> and <c>_count</c>.</summary>
    Histogram,
}
