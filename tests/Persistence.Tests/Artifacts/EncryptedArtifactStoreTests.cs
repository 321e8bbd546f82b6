using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using TextClassification.Persistence.Artifacts;
using TextClassification.TestSupport;

namespace TextClassification.Persistence.Tests.Artifacts;

/// <summary>
/// The local store with an encryption key, over real files. Offsets below follow the documented format: a 32-byte
/// header, then chunks of 64 KiB of ciphertext, each followed by a 16-byte tag.
/// </summary>
public sealed class EncryptedArtifactStoreTests : IDisposable
{
    private const int HeaderSize = 32;
    private const int ChunkSize = 64 * 1024;
    private const int SealedChunkSize = ChunkSize + 16;

    private readonly TempDirectory _root = new("encrypted-artifacts");
    private readonly ArtifactEncryptionKey _key = NewKey();
    private readonly LocalDirectoryArtifactStore _store;

    public EncryptedArtifactStoreTests() => _store = new LocalDirectoryArtifactStore(_root.Path, _key);

    public void Dispose() => _root.Dispose();

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(ChunkSize)]
    [InlineData(ChunkSize + 1)]
    [InlineData((4 * ChunkSize) - 1)]
    [InlineData((3 * 1024 * 1024) + 12345)]
    public async Task Content_of_any_length_round_trips_and_the_row_records_the_plaintext_hash_and_size(int length)
    {
        byte[] content = RandomNumberGenerator.GetBytes(length);

        var stored = await WriteInPiecesAsync("datasets/d.jsonl", content);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(content)), stored.Sha256);
        Assert.Equal(length, stored.SizeBytes);
        Assert.Equal(content, await ReadAllAsync("datasets/d.jsonl", stored));
    }

    [Fact]
    public async Task The_bytes_on_disk_are_not_the_plaintext()
    {
        byte[] content = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"text\":\"my card number is 4111\",\"label\":\"pii\"}\n", 5000)));

        await WriteInPiecesAsync("datasets/secret.jsonl", content);

        byte[] onDisk = await File.ReadAllBytesAsync(_root.Combine("datasets/secret.jsonl"));
        Assert.Equal(0x89, onDisk[0]);
        Assert.Equal("TCENC"u8.ToArray(), onDisk[1..6]);
        Assert.Equal(-1, onDisk.AsSpan().IndexOf("4111"u8));
        Assert.Equal(-1, onDisk.AsSpan().IndexOf("label"u8));
    }

    [Fact]
    public async Task The_same_content_written_twice_encrypts_differently()
    {
        byte[] content = RandomNumberGenerator.GetBytes(1000);

        var first = await WriteInPiecesAsync("models/a.onnx", content);
        var second = await WriteInPiecesAsync("models/b.onnx", content);

        Assert.Equal(first.Sha256, second.Sha256);
        Assert.NotEqual(await File.ReadAllBytesAsync(_root.Combine("models/a.onnx")), await File.ReadAllBytesAsync(_root.Combine("models/b.onnx")));
    }

    [Fact]
    public async Task The_opened_stream_seeks_to_any_offset_across_chunks()
    {
        byte[] content = RandomNumberGenerator.GetBytes((3 * ChunkSize) + 500);
        var stored = await WriteInPiecesAsync("checkpoints/c.bin", content);

        await using var read = await _store.OpenReadAsync("checkpoints/c.bin", stored.Sha256, stored.SizeBytes);
        Assert.True(read.CanSeek);
        Assert.Equal(content.Length, read.Length);
        byte[] slice = new byte[ChunkSize + 10];
        read.Position = (2 * ChunkSize) + 400;
        await read.ReadExactlyAsync(slice.AsMemory(0, ChunkSize - 300));
        Assert.Equal(content.AsSpan((2 * ChunkSize) + 400, ChunkSize - 300).ToArray(), slice[..(ChunkSize - 300)]);
        read.Seek(ChunkSize - 5, SeekOrigin.Begin);
        read.ReadExactly(slice, 0, 10);

        Assert.Equal(content.AsSpan(ChunkSize - 5, 10).ToArray(), slice[..10]);
        Assert.Equal(10 + ChunkSize - 5, read.Position);
        read.Seek(-1, SeekOrigin.End);
        Assert.Equal(content[^1], read.ReadByte());
        Assert.Equal(-1, read.ReadByte());
    }

    [Fact]
    public async Task A_zip_checkpoint_reads_back_through_the_decrypting_stream()
    {
        using var zip = new MemoryStream();
        byte[] weights = RandomNumberGenerator.GetBytes(300_000);
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
        {
            using var entry = archive.CreateEntry("weights.bin", CompressionLevel.NoCompression).Open();
            entry.Write(weights);
        }

        var stored = await WriteInPiecesAsync("checkpoints/job.ckpt", zip.ToArray());

        await using var read = await _store.OpenReadAsync("checkpoints/job.ckpt", stored.Sha256, stored.SizeBytes);
        using var opened = new ZipArchive(read, ZipArchiveMode.Read);
        using var weightsStream = opened.GetEntry("weights.bin")!.Open();
        using var copy = new MemoryStream();
        await weightsStream.CopyToAsync(copy);
        Assert.Equal(weights, copy.ToArray());
    }

    [Fact]
    public async Task One_changed_ciphertext_byte_is_an_integrity_error_before_any_byte_is_returned()
    {
        var stored = await WriteInPiecesAsync("datasets/t.jsonl", RandomNumberGenerator.GetBytes((3 * ChunkSize) + 7));
        string path = _root.Combine("datasets/t.jsonl");
        byte[] onDisk = await File.ReadAllBytesAsync(path);
        onDisk[HeaderSize + (2 * SealedChunkSize) + 1000] ^= 0x01;
        await File.WriteAllBytesAsync(path, onDisk);

        var error = await Assert.ThrowsAsync<ArtifactIntegrityException>(() => _store.OpenReadAsync("datasets/t.jsonl", stored.Sha256, stored.SizeBytes));

        Assert.Contains("datasets/t.jsonl", error.Message);
        Assert.Contains("chunk 2 of 4 failed authentication", error.Message);
    }

    [Fact]
    public async Task A_changed_header_is_an_integrity_error()
    {
        var stored = await WriteInPiecesAsync("datasets/h.jsonl", RandomNumberGenerator.GetBytes(5000));
        string path = _root.Combine("datasets/h.jsonl");
        byte[] onDisk = await File.ReadAllBytesAsync(path);
        onDisk[30] ^= 0x80; // inside the nonce prefix
        await File.WriteAllBytesAsync(path, onDisk);

        var error = await Assert.ThrowsAsync<ArtifactIntegrityException>(() => _store.OpenReadAsync("datasets/h.jsonl", stored.Sha256, stored.SizeBytes));
        Assert.Contains("failed authentication", error.Message);
    }

    [Fact]
    public async Task A_truncated_file_is_an_integrity_error()
    {
        var stored = await WriteInPiecesAsync("models/m.onnx", RandomNumberGenerator.GetBytes((2 * ChunkSize) + 100));
        string path = _root.Combine("models/m.onnx");
        await using (var file = new FileStream(path, FileMode.Open))
        {
            file.SetLength(file.Length - 50);
        }

        var error = await Assert.ThrowsAsync<ArtifactIntegrityException>(() => _store.OpenReadAsync("models/m.onnx", stored.Sha256, stored.SizeBytes));
        Assert.Contains("corrupted", error.Message);
    }

    [Fact]
    public async Task A_file_cut_at_a_chunk_boundary_fails_even_when_the_recorded_size_and_hash_are_those_of_what_is_left()
    {
        byte[] content = RandomNumberGenerator.GetBytes((2 * ChunkSize) + 100);
        await WriteInPiecesAsync("models/cut.onnx", content);
        string path = _root.Combine("models/cut.onnx");
        await using (var file = new FileStream(path, FileMode.Open))
        {
            file.SetLength(HeaderSize + (2 * SealedChunkSize));
        }

        byte[] left = content[..(2 * ChunkSize)];

        // The length and hash would pass: only the final-chunk flag bound into chunk 1 tells the file was cut.
        var error = await Assert.ThrowsAsync<ArtifactIntegrityException>(() =>
            _store.OpenReadAsync("models/cut.onnx", Convert.ToHexStringLower(SHA256.HashData(left)), left.Length));
        Assert.Contains("chunk 1 of 2 failed authentication", error.Message);
    }

    [Fact]
    public async Task Two_swapped_chunks_are_an_integrity_error()
    {
        var stored = await WriteInPiecesAsync("datasets/s.jsonl", RandomNumberGenerator.GetBytes((3 * ChunkSize) + 9));
        string path = _root.Combine("datasets/s.jsonl");
        byte[] onDisk = await File.ReadAllBytesAsync(path);
        byte[] first = onDisk.AsSpan(HeaderSize, SealedChunkSize).ToArray();
        onDisk.AsSpan(HeaderSize + SealedChunkSize, SealedChunkSize).CopyTo(onDisk.AsSpan(HeaderSize));
        first.CopyTo(onDisk.AsSpan(HeaderSize + SealedChunkSize));
        await File.WriteAllBytesAsync(path, onDisk);

        var error = await Assert.ThrowsAsync<ArtifactIntegrityException>(() => _store.OpenReadAsync("datasets/s.jsonl", stored.Sha256, stored.SizeBytes));
        Assert.Contains("chunk 0 of 4 failed authentication", error.Message);
    }

    [Fact]
    public async Task A_chunk_taken_from_another_file_under_the_same_key_is_an_integrity_error()
    {
        byte[] content = RandomNumberGenerator.GetBytes((2 * ChunkSize) + 1);
        var stored = await WriteInPiecesAsync("checkpoints/latest.bin", content);
        string path = _root.Combine("checkpoints/latest.bin");
        byte[] current = await File.ReadAllBytesAsync(path);
        await WriteInPiecesAsync("checkpoints/latest.bin", content);
        byte[] rewritten = await File.ReadAllBytesAsync(path);
        current.AsSpan(HeaderSize + SealedChunkSize, SealedChunkSize).CopyTo(rewritten.AsSpan(HeaderSize + SealedChunkSize));
        await File.WriteAllBytesAsync(path, rewritten);

        var error = await Assert.ThrowsAsync<ArtifactIntegrityException>(() => _store.OpenReadAsync("checkpoints/latest.bin", stored.Sha256, stored.SizeBytes));
        Assert.Contains("chunk 1 of 3 failed authentication", error.Message);
    }

    [Fact]
    public async Task A_file_copied_under_another_key_is_an_integrity_error()
    {
        var stored = await WriteInPiecesAsync("models/one.onnx", RandomNumberGenerator.GetBytes(2000));
        File.Copy(_root.Combine("models/one.onnx"), _root.Combine("models/two.onnx"));

        var error = await Assert.ThrowsAsync<ArtifactIntegrityException>(() => _store.OpenReadAsync("models/two.onnx", stored.Sha256, stored.SizeBytes));
        Assert.Contains("models/two.onnx", error.Message);
        Assert.Contains("failed authentication", error.Message);
    }

    [Fact]
    public async Task A_file_written_before_encryption_was_turned_on_stays_readable()
    {
        byte[] content = Encoding.UTF8.GetBytes("{\"text\":\"old\",\"label\":\"a\"}\n");
        var plainStore = new LocalDirectoryArtifactStore(_root.Path);
        StoredArtifact stored;
        await using (var write = plainStore.BeginWrite("datasets/old.jsonl"))
        {
            await write.WriteAsync(content);
            stored = await write.CommitAsync();
        }

        Assert.Equal(content, await File.ReadAllBytesAsync(_root.Combine("datasets/old.jsonl")));
        Assert.Equal(content, await ReadAllAsync("datasets/old.jsonl", stored));
    }

    [Fact]
    public async Task A_plaintext_file_that_happens_to_begin_like_an_encrypted_one_is_read_as_plaintext()
    {
        byte[] content = [0x89, (byte)'T', (byte)'C', (byte)'E', (byte)'N', (byte)'C', 0x0D, 0x0A, 1, 0, 0, 0, 0, 1, 0, 0, .. RandomNumberGenerator.GetBytes(100)];
        var plainStore = new LocalDirectoryArtifactStore(_root.Path);
        StoredArtifact stored;
        await using (var write = plainStore.BeginWrite("datasets/odd.bin"))
        {
            await write.WriteAsync(content);
            stored = await write.CommitAsync();
        }

        Assert.Equal(content, await ReadAllAsync("datasets/odd.bin", stored));
    }

    [Fact]
    public async Task An_encrypted_file_read_without_a_key_is_refused_saying_the_key_is_missing()
    {
        var stored = await WriteInPiecesAsync("datasets/e.jsonl", RandomNumberGenerator.GetBytes(100));
        var plainStore = new LocalDirectoryArtifactStore(_root.Path);

        var error = await Assert.ThrowsAsync<ArtifactEncryptionKeyException>(() => plainStore.OpenReadAsync("datasets/e.jsonl", stored.Sha256, stored.SizeBytes));

        Assert.Contains("is encrypted, but no encryption key is configured", error.Message);
        Assert.Contains("Persistence:EncryptionKey", error.Message);
    }

    [Fact]
    public async Task An_encrypted_file_read_with_another_key_is_refused_naming_both_key_ids()
    {
        var stored = await WriteInPiecesAsync("datasets/k.jsonl", RandomNumberGenerator.GetBytes(100));
        var otherKey = NewKey();
        var otherStore = new LocalDirectoryArtifactStore(_root.Path, otherKey);

        var error = await Assert.ThrowsAsync<ArtifactEncryptionKeyException>(() => otherStore.OpenReadAsync("datasets/k.jsonl", stored.Sha256, stored.SizeBytes));

        Assert.Contains(_key.Id, error.Message);
        Assert.Contains(otherKey.Id, error.Message);
    }

    [Fact]
    public async Task A_wrong_recorded_hash_is_still_refused_for_an_encrypted_file()
    {
        byte[] content = RandomNumberGenerator.GetBytes(ChunkSize + 3);
        var stored = await WriteInPiecesAsync("datasets/w.jsonl", content);
        string otherHash = Convert.ToHexStringLower(SHA256.HashData(RandomNumberGenerator.GetBytes(10)));

        var error = await Assert.ThrowsAsync<ArtifactIntegrityException>(() => _store.OpenReadAsync("datasets/w.jsonl", otherHash, stored.SizeBytes));
        Assert.Contains(stored.Sha256, error.Message);
        Assert.IsNotType<ArtifactEncryptionKeyException>(error);
    }

    [Fact]
    public async Task An_uncommitted_encrypted_write_leaves_no_file_behind()
    {
        await using (var write = _store.BeginWrite("datasets/rejected.jsonl"))
        {
            await write.WriteAsync(new byte[3 * ChunkSize]);
        }

        Assert.Empty(Directory.GetFiles(_root.Path, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public void A_key_that_is_not_base64_of_32_bytes_is_refused_without_repeating_it()
    {
        string shortKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        string longKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(33));

        Assert.False(ArtifactEncryptionKey.TryParse(shortKey, out _));
        Assert.False(ArtifactEncryptionKey.TryParse(longKey, out _));
        Assert.False(ArtifactEncryptionKey.TryParse("not base64!", out _));
        var error = Assert.Throws<FormatException>(() => ArtifactEncryptionKey.Parse(shortKey));
        Assert.DoesNotContain(shortKey, error.Message);
        Assert.Contains("openssl rand -base64 32", error.Message);
    }

    [Fact]
    public void A_key_shows_only_its_id()
    {
        string base64 = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var key = ArtifactEncryptionKey.Parse(base64);

        Assert.Matches("^[0-9a-f]{16}$", key.Id);
        Assert.Equal(key.Id, ArtifactEncryptionKey.Parse(base64).Id);
        Assert.DoesNotContain(base64, key.ToString());
        Assert.Contains(key.Id, key.ToString());
    }

    internal static ArtifactEncryptionKey NewKey() => ArtifactEncryptionKey.Parse(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));

    /// <summary>Writes in uneven pieces, synchronously and asynchronously, so pieces straddle chunk boundaries.</summary>
    private async Task<StoredArtifact> WriteInPiecesAsync(string key, byte[] content)
    {
        await using var write = _store.BeginWrite(key);
        int offset = 0;
        int piece = 1;
        while (offset < content.Length)
        {
            int count = Math.Min(content.Length - offset, (piece * 7919) % 100_000);
            if (piece % 2 == 0)
            {
                write.Write(content, offset, count);
            }
            else
            {
                await write.WriteAsync(content.AsMemory(offset, count));
            }

            offset += count;
            piece++;
        }

        return await write.CommitAsync();
    }

    private async Task<byte[]> ReadAllAsync(string key, StoredArtifact stored)
    {
        await using var read = await _store.OpenReadAsync(key, stored.Sha256, stored.SizeBytes);
        using var copy = new MemoryStream();
        await read.CopyToAsync(copy);
        return copy.ToArray();
    }
}
