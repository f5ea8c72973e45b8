using System.Net;
using ExchangeHealth.Engine.Gateway;

namespace ExchangeHealth.Engine.Tests.Gateway;

public sealed class EngineEndpointsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void WriteThenTryRead_RoundTrips()
    {
        var written = new EngineEndpoints(4242, IPEndPoint.Parse("127.0.0.1:41025"), new Uri("http://127.0.0.1:38789/"), "/x/credentials.yaml",
            new DateTimeOffset(2026, 11, 21, 7, 0, 0, TimeSpan.Zero));
        written.Write(_dir.Path);
        Assert.True(EngineEndpoints.TryRead(_dir.Path, out var read, out string? problem), problem);
        Assert.Equal(written, read);
        Assert.False(File.Exists(EngineEndpoints.PathIn(_dir.Path) + ".tmp"));
    }

    [Theory]
    [InlineData(null, "cannot read")]
    [InlineData("{\"pid\": 1}", "is not an engine endpoints file")]
    [InlineData("{\"pid\":1,\"tcp\":\"nonsense\",\"http\":\"http://127.0.0.1/\",\"credentials\":\"c\",\"started_at\":\"2026-11-21T07:00:00Z\"}", "is not an engine endpoints file")]
    public void TryRead_MissingOrMalformed_FalseNamingTheFile(string? content, string expected)
    {
        if (content is not null) File.WriteAllText(EngineEndpoints.PathIn(_dir.Path), content);
        Assert.False(EngineEndpoints.TryRead(_dir.Path, out var read, out string? problem));
        Assert.Null(read);
        Assert.Contains(EngineEndpoints.PathIn(_dir.Path), problem, StringComparison.Ordinal);
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }
}
