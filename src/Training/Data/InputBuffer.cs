using System.Buffers;

namespace TextClassification.Training.Data;

/// <summary>
/// A pooled byte window over a stream that is read forward once. Parsers look at <see cref="Data"/>, consume with
/// <see cref="Advance"/> and ask for more with <see cref="ReadMoreAsync"/>; unconsumed bytes are kept, so the buffer only
/// grows when a caller needs more unconsumed bytes than it holds (a long JSON line), never with the file's size.
/// </summary>
internal sealed class InputBuffer : IDisposable
{
    private const int InitialSize = 64 * 1024;

    private readonly Stream _stream;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(InitialSize);
    private int _start;
    private int _end;

    public InputBuffer(Stream stream) => _stream = stream;

    /// <summary>True once the stream has reported its end; <see cref="Data"/> may still hold unconsumed bytes.</summary>
    public bool IsCompleted { get; private set; }

    /// <summary>The bytes read and not yet consumed.</summary>
    public ReadOnlySpan<byte> Data => _buffer.AsSpan(_start, _end - _start);

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _end - _start);
        _start += count;
    }

    /// <summary>
    /// Reads at least one more byte unless the stream is exhausted; returns false (and sets <see cref="IsCompleted"/>)
    /// when no more bytes will come.
    /// </summary>
    public async ValueTask<bool> ReadMoreAsync(CancellationToken cancellationToken)
    {
        if (IsCompleted)
        {
            return false;
        }

        // Checked here as well as by the stream, since not every stream honours the token; once per refill is cheap.
        cancellationToken.ThrowIfCancellationRequested();
        MakeRoom();
        int read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
        if (read == 0)
        {
            IsCompleted = true;
            return false;
        }

        _end += read;
        return true;
    }

    /// <summary>Reads until at least <paramref name="count"/> unconsumed bytes are held or the stream ends.</summary>
    public async ValueTask FillAsync(int count, CancellationToken cancellationToken)
    {
        while (_end - _start < count && await ReadMoreAsync(cancellationToken))
        {
        }
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _start = _end = 0;
    }

    private void MakeRoom()
    {
        int held = _end - _start;
        if (held == _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
            _buffer.AsSpan(_start, held).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
        else if (_start > 0 && (_end == _buffer.Length || held == 0))
        {
            // Compacting only when the tail is full (or free) keeps the copying proportional to what is read.
            _buffer.AsSpan(_start, held).CopyTo(_buffer);
        }
        else
        {
            return;
        }

        _start = 0;
        _end = held;
    }
}
