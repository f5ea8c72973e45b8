namespace ExchangeHealth.Alerting.Model;

/// <summary>
/// Raising an asynchronous event (<c>Func&lt;T, CancellationToken, Task&gt;</c>): each subscriber in
/// turn, awaited; one subscriber's failure is reported and does not stop the others or the caller
/// (routing, acknowledgements and incident changes never fail because a subscriber did).
/// </summary>
public static class AsyncEventHandlers
{
    /// <summary>Awaits every handler of <paramref name="handlers"/> with <paramref name="argument"/>, in subscription order.</summary>
    /// <param name="handlers">The event's delegate (null: nothing to do).</param>
    /// <param name="argument">What happened.</param>
    /// <param name="onError">Receives a handler's exception (not a cancellation of <paramref name="cancellationToken"/>, which propagates).</param>
    /// <param name="cancellationToken">Passed to the handlers.</param>
    public static async Task InvokeAsync<T>(Func<T, CancellationToken, Task>? handlers, T argument, Action<Exception> onError, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onError);
        if (handlers is null) return;
        foreach (var handler in handlers.GetInvocationList().Cast<Func<T, CancellationToken, Task>>())
        {
            try
            {
                await handler(argument, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                onError(e);
            }
        }
    }
}
