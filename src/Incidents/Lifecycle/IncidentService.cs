using ExchangeHealth.Incidents.Model;
using ExchangeHealth.Incidents.Store;

namespace ExchangeHealth.Incidents.Lifecycle;

/// <summary>Incident lifecycle (skeleton; implemented next).</summary>
public sealed class IncidentService
{
    /// <summary>Creates the service.</summary>
    public IncidentService(IIncidentStore store, TimeProvider? time = null) { Store = store; Time = time ?? TimeProvider.System; }

    /// <summary>The store.</summary>
    public IIncidentStore Store { get; }

    /// <summary>Clock.</summary>
    public TimeProvider Time { get; }

    /// <summary>Applies <paramref name="command"/> to incident <paramref name="id"/>.</summary>
    public Task<IncidentCommandResult> ExecuteAsync(long id, IncidentCommand command, IncidentActor actor, CancellationToken cancellationToken = default) => throw new NotImplementedException();
}
