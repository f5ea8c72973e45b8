namespace ExchangeHealth.Engine.Replay;

/// <summary>
/// The commands implied by one input record (a CSV line, a feed update), in the order they must be
/// processed. The buffer is reused from record to record, so steady-state reading does not
/// allocate commands.
/// </summary>
public sealed class CommandBatch
{
    private Command[] _items = new Command[8];

    /// <summary>Number of commands in the batch.</summary>
    public int Count { get; private set; }

    /// <summary>The command at <paramref name="index"/> (0-based), by reference.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not below <see cref="Count"/>.</exception>
    public ref Command this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
            return ref _items[index];
        }
    }

    /// <summary>Appends a zeroed command and returns it by reference for the caller to fill.</summary>
    public ref Command Add()
    {
        if (Count == _items.Length) Array.Resize(ref _items, _items.Length * 2);
        ref Command c = ref _items[Count++];
        c = default;
        return ref c;
    }

    /// <summary>Appends a copy of <paramref name="command"/>.</summary>
    public void Add(in Command command) => Add() = command;

    /// <summary>Empties the batch (the buffer is kept).</summary>
    public void Clear() => Count = 0;
}
