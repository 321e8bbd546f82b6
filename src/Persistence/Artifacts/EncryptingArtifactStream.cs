using System.Security.Cryptography;

namespace TextClassification.Persistence.Artifacts;

/// <summary>
/// Encrypts what is written to it into <see cref="EncryptedArtifactFormat"/> on the way to another stream, holding one
/// chunk at a time. <see cref="CompleteAsync"/> seals the final chunk; a stream never completed is not a valid file,
/// which is right for a write that is abandoned.
/// </summary>
internal sealed class EncryptingArtifactStream : Stream
{
    private readonly Stream _destination;
    private readonly byte[] _header;
    private readonly EncryptedArtifactFormat.ChunkCipher _cipher;
    private readonly byte[] _plaintext;
    private readonly byte[] _sealed;
    private int _buffered;
    private long _chunkIndex;
    private long _length;
    private bool _headerWritten;
    private bool _completed;

    public EncryptingArtifactStream(
        Stream destination, ArtifactEncryptionKey key, string artifactKey, int chunkSize = EncryptedArtifactFormat.DefaultChunkSize)
    {
        _destination = destination;
        _header = EncryptedArtifactFormat.NewHeader(key, chunkSize);
        _cipher = new EncryptedArtifactFormat.ChunkCipher(key, _header, artifactKey);
        _plaintext = new byte[chunkSize];
        _sealed = new byte[chunkSize + EncryptedArtifactFormat.TagSize];
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if (!_headerWritten)
        {
            _destination.Write(_header);
            _headerWritten = true;
        }

        while (!buffer.IsEmpty)
        {
            // A full chunk is sealed only once more bytes arrive: until then it may be the final one.
            if (_buffered == _plaintext.Length)
            {
                _destination.Write(SealBuffered(final: false).Span);
            }

            int taken = Math.Min(buffer.Length, _plaintext.Length - _buffered);
            buffer[..taken].CopyTo(_plaintext.AsSpan(_buffered));
            _buffered += taken;
            _length += taken;
            buffer = buffer[taken..];
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if (!_headerWritten)
        {
            await _destination.WriteAsync(_header, cancellationToken);
            _headerWritten = true;
        }

        while (!buffer.IsEmpty)
        {
            if (_buffered == _plaintext.Length)
            {
                await _destination.WriteAsync(SealBuffered(final: false), cancellationToken);
            }

            int taken = Math.Min(buffer.Length, _plaintext.Length - _buffered);
            buffer[..taken].CopyTo(_plaintext.AsMemory(_buffered));
            _buffered += taken;
            _length += taken;
            buffer = buffer[taken..];
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Seals what is buffered as the final chunk and flushes; nothing may be written after.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if (!_headerWritten)
        {
            await _destination.WriteAsync(_header, cancellationToken);
            _headerWritten = true;
        }

        await _destination.WriteAsync(SealBuffered(final: true), cancellationToken);
        _completed = true;
        await _destination.FlushAsync(cancellationToken);
    }

    /// <summary>Flushes what is already sealed; a partly filled chunk stays buffered, since sealing it early would end the file.</summary>
    public override void Flush() => _destination.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _destination.FlushAsync(cancellationToken);

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => !_completed;

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
            _cipher.Dispose();
            CryptographicOperations.ZeroMemory(_plaintext);
        }

        base.Dispose(disposing);
    }

    private ReadOnlyMemory<byte> SealBuffered(bool final)
    {
        _cipher.Seal(_chunkIndex++, final, _plaintext.AsSpan(0, _buffered), _sealed);
        var sealedChunk = _sealed.AsMemory(0, _buffered + EncryptedArtifactFormat.TagSize);
        _buffered = 0;
        return sealedChunk;
    }
}
