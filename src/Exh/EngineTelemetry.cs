using System.Diagnostics.Metrics;
using ExchangeHealth.Engine.Service;

namespace ExchangeHealth.Cli;

/// <summary>Sets up metric collection for the engine's meter.</summary>
internal static class EngineTelemetry
{
    /// <summary>Starts listening to the engine's instruments as the exporter will (placeholder until the OpenTelemetry exporter lands).</summary>
    public static IDisposable StartListening()
    {
        var listener = new MeterListener();
        long sink = 0;
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == EngineMetrics.MeterName) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<double>((_, v, _, _) => Interlocked.Exchange(ref sink, (long)v));
        listener.SetMeasurementEventCallback<long>((_, v, _, _) => Interlocked.Exchange(ref sink, v));
        listener.Start();
        return listener;
    }
}
