using System.Security.Cryptography;

namespace TextClassification.Persistence.Artifacts;

/// <summary>
/// Reads the plaintext of an encrypted artifact (<see cref="EncryptedArtifactFormat"/>), one authenticated chunk at a
/// time. Seekable, because chunks sit at fixed offsets: a zip reader (checkpoints) or a ranged download jumps straight
/// to the chunk it needs instead of copying the whole file into memory. A chunk that fails authentication is an
/// <see cref="ArtifactIntegrityException"/>; no byte of it is handed out.
/// </summary>
internal sealed class DecryptingArtifactStream : Stream
{
    private readonly Stream _source;
    private readonly EncryptedArtifactFormat.ChunkCipher _cipher;
    private readonly string _artifactKey;
    private readonly long _length;
    private readonly long _chunkCount;
    private readonly byte[] _sealed;
    private readonly byte[] _plaintext;
    private long _loadedChunk = -1;
    private int _loadedLength;
    private long _position;

    /// <param name="source">The whole encrypted file, seekable; owned by this stream from now on.</param>
    /// <param name="artifactKey">The key the file is stored under, for error messages.</param>
    /// <param name="cipher">The file's cipher; owned by this stream from now on.</param>
    /// <param name="plaintextLength">The length the file holds; the caller has checked it against the file's size.</param>
    public DecryptingArtifactStream(Stream source, EncryptedArtifactFormat.ChunkCipher cipher, string artifactKey, long plaintextLength)
    {
        _source = source;
        _cipher = cipher;
        _artifactKey = artifactKey;
        _length = plaintextLength;
        _chunkCount = EncryptedArtifactFormat.ChunkCount(plaintextLength, cipher.ChunkSize);
        _sealed = new byte[cipher.ChunkSize + EncryptedArtifactFormat.TagSize];
        _plaintext = new byte[cipher.ChunkSize];
    }

    /// <summary>Authenticates every chunk, the final one included, and returns the SHA-256 of the whole plaintext.</summary>
    public async Task<byte[]> AuthenticateAndHashAsync(CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (long index = 0; index < _chunkCount; index++)
        {
            await LoadChunkAsync(index, cancellationToken);
            hash.AppendData(_plaintext, 0, _loadedLength);
        }

        return hash.GetHashAndReset();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_position >= _length || buffer.IsEmpty)
        {
            return 0;
        }

        long index = _position / _cipher.ChunkSize;
        if (index != _loadedChunk)
        {
            LoadChunk(index);
        }

        return CopyOut(buffer);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position >= _length || buffer.IsEmpty)
        {
            return 0;
        }

        long index = _position / _cipher.ChunkSize;
        if (index != _loadedChunk)
        {
            await LoadChunkAsync(index, cancellationToken);
        }

        return CopyOut(buffer.Span);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin)
    {
        long target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => _length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        ArgumentOutOfRangeException.ThrowIfNegative(target, nameof(offset));
        _position = target;
        return target;
    }

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set => Seek(value, SeekOrigin.Begin);
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _source.Dispose();
            _cipher.Dispose();
            CryptographicOperations.ZeroMemory(_plaintext);
        }

        base.Dispose(disposing);
    }

    private int CopyOut(Span<byte> buffer)
    {
        int offset = (int)(_position - (_loadedChunk * _cipher.ChunkSize));
        int count = Math.Min(buffer.Length, _loadedLength - offset);
        _plaintext.AsSpan(offset, count).CopyTo(buffer);
        _position += count;
        return count;
    }

    private int PlaintextLengthOf(long index) => (int)Math.Min(_cipher.ChunkSize, _length - (index * _cipher.ChunkSize));

    private long OffsetOf(long index) =>
        EncryptedArtifactFormat.HeaderSize + (index * ((long)_cipher.ChunkSize + EncryptedArtifactFormat.TagSize));

    private void LoadChunk(long index)
    {
        int sealedLength = PlaintextLengthOf(index) + EncryptedArtifactFormat.TagSize;
        _source.Position = OffsetOf(index);
        try
        {
            _source.ReadExactly(_sealed, 0, sealedLength);
        }
        catch (EndOfStreamException)
        {
            throw Truncated(index);
        }

        Open(index, sealedLength);
    }

    private async ValueTask LoadChunkAsync(long index, CancellationToken cancellationToken)
    {
        int sealedLength = PlaintextLengthOf(index) + EncryptedArtifactFormat.TagSize;
        _source.Position = OffsetOf(index);
        try
        {
            await _source.ReadExactlyAsync(_sealed.AsMemory(0, sealedLength), cancellationToken);
        }
        catch (EndOfStreamException)
        {
            throw Truncated(index);
        }

        Open(index, sealedLength);
    }

    private void Open(long index, int sealedLength)
    {
        _loadedChunk = -1;
        if (!_cipher.TryOpen(index, final: index == _chunkCount - 1, _sealed.AsSpan(0, sealedLength), _plaintext))
        {
            throw new ArtifactIntegrityException(
                _artifactKey,
                $"Artifact '{_artifactKey}' is corrupted: encrypted chunk {index} of {_chunkCount} failed authentication, so the file was altered, "
                + "truncated or reordered, or it was written under another key (path) and copied here.");
        }

        _loadedChunk = index;
        _loadedLength = sealedLength - EncryptedArtifactFormat.TagSize;
    }

    private ArtifactIntegrityException Truncated(long index) => new(
        _artifactKey, $"Artifact '{_artifactKey}' is corrupted: the encrypted file ends inside chunk {index} of {_chunkCount}.");
}
