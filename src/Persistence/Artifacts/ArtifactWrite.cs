using System.Security.Cryptography;

namespace TextClassification.Persistence.Artifacts;

/// <summary>
/// A write in progress: a stream that hashes and counts what passes through it. Commit publishes the file under its
/// key in one step; dispose without commit removes everything written, which is how a rejected upload stores nothing.
/// </summary>
public abstract class ArtifactWrite : Stream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _length;
    private bool _committed;

    protected ArtifactWrite(string key) => Key = key;

    public string Key { get; }

    /// <summary>The stream the bytes go to (a temporary file, an upload buffer).</summary>
    protected abstract Stream Destination { get; }

    /// <summary>Makes the written bytes visible under <see cref="Key"/>, atomically.</summary>
    protected abstract Task PublishAsync(CancellationToken cancellationToken);

    /// <summary>Removes what was written when the write is abandoned.</summary>
    protected abstract void Discard();

    public async Task<StoredArtifact> CommitAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        await Destination.FlushAsync(cancellationToken);
        await PublishAsync(cancellationToken);
        _committed = true;
        return new StoredArtifact(Key, Convert.ToHexStringLower(_hash.GetHashAndReset()), _length);
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _hash.AppendData(buffer);
        _length += buffer.Length;
        Destination.Write(buffer);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _hash.AppendData(buffer.Span);
        _length += buffer.Length;
        await Destination.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => Destination.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => Destination.FlushAsync(cancellationToken);

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => _length;

    public override long Position
    {
        get => _length;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
            if (!_committed)
            {
                Discard();
            }
        }

        base.Dispose(disposing);
    }
}
