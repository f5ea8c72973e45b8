using Polly;

namespace ExchangeHealth.Alerting.Notify;

/// <summary>Per-request timeouts of the notifiers: a Polly pipeline with one Timeout strategy on the given clock.</summary>
internal static class RequestTimeout
{
    public static ResiliencePipeline Create(TimeSpan timeout, TimeProvider timeProvider)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        return new ResiliencePipelineBuilder { TimeProvider = timeProvider }.AddTimeout(timeout).Build();
    }
}
