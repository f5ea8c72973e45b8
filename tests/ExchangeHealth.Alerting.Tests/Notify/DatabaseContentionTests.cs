using System.Diagnostics;

namespace ExchangeHealth.Alerting.Tests.Notify;

/// <summary>
/// Lock contention on the monitor database must not stall a writer for a whole second (the bundled
/// SQLite sleeps in whole seconds in its busy handler, so MonitorDatabase leaves retries to
/// Microsoft.Data.Sqlite). With <c>busy_timeout=5000</c> this test measured 1003-1013 ms.
/// </summary>
public sealed class DatabaseContentionTests : IDisposable
{
    private readonly TempDatabase _db = new();

    public void Dispose() => _db.Dispose();

    [Fact]
    public void Writer_BlockedBriefly_WaitsFarLessThanASecond()
    {
        _db.Database.EnsureSchema("CREATE TABLE IF NOT EXISTS contention (x INTEGER)");
        using var holder = _db.Database.Open();
        using var writer = _db.Database.Open();
        var tx = holder.BeginTransaction();
        using (var c = holder.CreateCommand())
        {
            c.Transaction = tx;
            c.CommandText = "INSERT INTO contention VALUES (1)";
            c.ExecuteNonQuery();
        }
        var release = new Thread(() => { Thread.Sleep(50); tx.Commit(); });
        var sw = Stopwatch.StartNew();
        release.Start();
        using (var c = writer.CreateCommand())
        {
            c.CommandText = "INSERT INTO contention VALUES (2)";
            c.ExecuteNonQuery();
        }
        sw.Stop();
        release.Join();
        Assert.True(sw.Elapsed < TimeSpan.FromMilliseconds(700), $"a writer blocked for 50 ms waited {sw.ElapsedMilliseconds} ms");
    }
}
