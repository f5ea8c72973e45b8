using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ExchangeHealth.TestKit;

/// <summary>
/// A real Kestrel app on 127.0.0.1 with a free port, for tests: webhook receivers, callback
/// endpoints, APIs mapped the way the monitor maps them. Stopped and disposed with the object.
/// </summary>
public sealed class LoopbackApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LoopbackApp(WebApplication app, Uri baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    /// <summary>The app's address, ending in <c>/</c>.</summary>
    public Uri BaseUrl { get; }

    /// <summary>Starts an app whose every request goes to <paramref name="handler"/>.</summary>
    public static Task<LoopbackApp> StartAsync(RequestDelegate handler) => StartAsync(app => app.Run(handler));

    /// <summary>Starts an app with the endpoints <paramref name="map"/> adds; <paramref name="kestrel"/> may set limits.</summary>
    public static async Task<LoopbackApp> StartAsync(Action<WebApplication> map, Action<KestrelServerOptions>? kestrel = null)
    {
        ArgumentNullException.ThrowIfNull(map);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0);
            kestrel?.Invoke(k);
        });
        var app = builder.Build();
        map(app);
        await app.StartAsync().ConfigureAwait(false);
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new LoopbackApp(app, new Uri(address.TrimEnd('/') + "/"));
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
