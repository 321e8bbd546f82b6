using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace TextClassification.Persistence.Artifacts;

/// <summary>
/// The on-disk layout of an encrypted artifact (format version 1), streamed in chunks so that no file is ever held
/// whole in memory:
/// <code>
/// header (32 bytes)
///   0  8  magic        89 'T' 'C' 'E' 'N' 'C' 0D 0A   (non-ASCII first byte: no JSONL, CSV, zip or ONNX file starts so)
///   8  1  version      1
///   9  3  reserved     0
///  12  4  chunk size   plaintext bytes per chunk, big-endian (the writer uses 64 KiB)
///  16  8  key id       <see cref="ArtifactEncryptionKey.Id"/> of the key the file is sealed with
///  24  8  nonce prefix random, fresh for every file
/// chunk 0 .. n-1
///   ciphertext (chunk size bytes; the last chunk may be shorter, and is empty only when the whole file is) + 16-byte tag
/// </code>
/// Chunk i is sealed with AES-256-GCM under nonce = prefix ‖ i (32-bit big-endian) and associated data =
/// header ‖ i (64-bit big-endian) ‖ final flag (1 on the last chunk, else 0) ‖ the artifact key in UTF-8. So a changed
/// header, a chunk moved within the file or taken from another file, a file cut at a chunk boundary (its new last
/// chunk was not sealed as final) and a file copied under another key all fail authentication.
/// </summary>
internal static class EncryptedArtifactFormat
{
    public const int HeaderSize = 32;
    public const int TagSize = 16;
    public const int KeyIdSize = 8;
    public const int DefaultChunkSize = 64 * 1024;
    public const byte Version = 1;

    /// <summary>The largest chunk size a header may claim; a reader allocates two buffers of it.</summary>
    public const int MaxChunkSize = 16 * 1024 * 1024;

    private const int NoncePrefixSize = 8;
    private const int NonceSize = NoncePrefixSize + sizeof(uint);

    private static ReadOnlySpan<byte> Magic => [0x89, (byte)'T', (byte)'C', (byte)'E', (byte)'N', (byte)'C', 0x0D, 0x0A];

    public static bool StartsWithMagic(ReadOnlySpan<byte> bytes) => bytes.StartsWith(Magic);

    /// <summary>A header for a new file: this format's version, the key's id and a random nonce prefix.</summary>
    public static byte[] NewHeader(ArtifactEncryptionKey key, int chunkSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(chunkSize, MaxChunkSize);
        byte[] header = new byte[HeaderSize];
        Magic.CopyTo(header);
        header[8] = Version;
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(12), chunkSize);
        key.IdBytes.CopyTo(header.AsSpan(16));
        RandomNumberGenerator.Fill(header.AsSpan(24, NoncePrefixSize));
        return header;
    }

    /// <summary>
    /// Reads what a reader needs from a header before trusting it; the header itself is authenticated only when the
    /// first chunk is opened, since it is part of every chunk's associated data.
    /// </summary>
    /// <param name="header">The first <see cref="HeaderSize"/> bytes of the file (or more).</param>
    /// <param name="chunkSize">Plaintext bytes per chunk.</param>
    /// <param name="keyId">The id of the key the file was sealed with, in hex.</param>
    /// <param name="problem">Why the header is unusable, in words for an error message.</param>
    public static bool TryReadHeader(ReadOnlySpan<byte> header, out int chunkSize, out string keyId, out string problem)
    {
        chunkSize = 0;
        keyId = string.Empty;
        if (header.Length < HeaderSize || !StartsWithMagic(header))
        {
            problem = "it does not start with an encrypted artifact header";
            return false;
        }

        if (header[8] != Version)
        {
            problem = $"its encryption format version is {header[8]}, and this build reads only version {Version}";
            return false;
        }

        chunkSize = BinaryPrimitives.ReadInt32BigEndian(header[12..]);
        if (chunkSize is < 1 or > MaxChunkSize)
        {
            problem = $"its header claims a chunk size of {chunkSize} bytes";
            return false;
        }

        keyId = Convert.ToHexStringLower(header.Slice(16, KeyIdSize));
        problem = string.Empty;
        return true;
    }

    /// <summary>How many chunks hold <paramref name="plaintextLength"/> bytes: at least one, so that even an empty file has a final chunk.</summary>
    public static long ChunkCount(long plaintextLength, int chunkSize) => Math.Max(1, (plaintextLength + chunkSize - 1) / chunkSize);

    /// <summary>The exact size on disk of an encrypted file holding <paramref name="plaintextLength"/> bytes.</summary>
    public static long EncryptedLength(long plaintextLength, int chunkSize) =>
        HeaderSize + plaintextLength + (ChunkCount(plaintextLength, chunkSize) * TagSize);

    /// <summary>
    /// Seals and opens the chunks of one file. Holds an <see cref="AesGcm"/> (not thread-safe), so one per stream.
    /// </summary>
    internal sealed class ChunkCipher : IDisposable
    {
        private readonly AesGcm _aes;
        private readonly byte[] _nonce = new byte[NonceSize];
        private readonly byte[] _associatedData;

        /// <param name="key">The encryption key, whose id the header carries.</param>
        /// <param name="header">The file's header, already checked by <see cref="TryReadHeader"/> or made by <see cref="NewHeader"/>.</param>
        /// <param name="artifactKey">The key (path) the file is stored under; bound into every chunk.</param>
        public ChunkCipher(ArtifactEncryptionKey key, ReadOnlySpan<byte> header, string artifactKey)
        {
            ChunkSize = BinaryPrimitives.ReadInt32BigEndian(header[12..]);
            header.Slice(24, NoncePrefixSize).CopyTo(_nonce);
            _associatedData = new byte[HeaderSize + sizeof(long) + 1 + Encoding.UTF8.GetByteCount(artifactKey)];
            header[..HeaderSize].CopyTo(_associatedData);
            Encoding.UTF8.GetBytes(artifactKey, _associatedData.AsSpan(HeaderSize + sizeof(long) + 1));
            _aes = key.CreateCipher();
        }

        public int ChunkSize { get; }

        /// <summary>Encrypts <paramref name="plaintext"/> into <paramref name="destination"/> as ciphertext followed by the tag.</summary>
        public void Seal(long index, bool final, ReadOnlySpan<byte> plaintext, Span<byte> destination)
        {
            Bind(index, final);
            _aes.Encrypt(_nonce, plaintext, destination[..plaintext.Length], destination.Slice(plaintext.Length, TagSize), _associatedData);
        }

        /// <summary>
        /// Decrypts a sealed chunk (ciphertext followed by the tag) into <paramref name="plaintext"/>. False when it fails
        /// authentication; then <paramref name="plaintext"/> holds zeros, never unauthenticated bytes.
        /// </summary>
        public bool TryOpen(long index, bool final, ReadOnlySpan<byte> sealedChunk, Span<byte> plaintext)
        {
            Bind(index, final);
            int length = sealedChunk.Length - TagSize;
            try
            {
                _aes.Decrypt(_nonce, sealedChunk[..length], sealedChunk[length..], plaintext[..length], _associatedData);
                return true;
            }
            catch (AuthenticationTagMismatchException)
            {
                return false;
            }
        }

        public void Dispose() => _aes.Dispose();

        private void Bind(long index, bool final)
        {
            // The counter is 32 bits: 4 Gi chunks of 64 KiB is 256 TiB, far past any artifact; refuse rather than wrap.
            if ((ulong)index > uint.MaxValue)
            {
                throw new IOException($"An encrypted artifact cannot have more than {uint.MaxValue + 1L} chunks.");
            }

            BinaryPrimitives.WriteUInt32BigEndian(_nonce.AsSpan(NoncePrefixSize), (uint)index);
            BinaryPrimitives.WriteInt64BigEndian(_associatedData.AsSpan(HeaderSize), index);
            _associatedData[HeaderSize + sizeof(long)] = final ? (byte)1 : (byte)0;
        }
    }
}
