namespace ExchangeHealth.Telemetry.Tests;

/// <summary>Latency bucket bounds (seconds) for the exporter tests, shaped like the engine's SLO buckets.</summary>
internal static class TestBuckets
{
    public static double[] Latency => [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
}
