using System.Security.Cryptography;
using System.Text;
using TextClassification.Persistence.Artifacts;
using TextClassification.TestSupport;

namespace TextClassification.Persistence.Tests.Artifacts;

public sealed class LocalDirectoryArtifactStoreTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly LocalDirectoryArtifactStore _store;

    public LocalDirectoryArtifactStoreTests() => _store = new LocalDirectoryArtifactStore(_root.Path);

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task A_committed_write_reports_the_sha256_and_size_of_what_was_written_and_reads_back_verified()
    {
        byte[] content = Encoding.UTF8.GetBytes("{\"text\":\"你好 👋\",\"label\":\"greeting\"}\n");

        StoredArtifact stored;
        await using (var write = _store.BeginWrite("datasets/a.jsonl"))
        {
            await write.WriteAsync(content);
            stored = await write.CommitAsync();
        }

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(content)), stored.Sha256);
        Assert.Equal(content.Length, stored.SizeBytes);
        await using var read = await _store.OpenReadAsync("datasets/a.jsonl", stored.Sha256, stored.SizeBytes);
        using var copy = new MemoryStream();
        await read.CopyToAsync(copy);
        Assert.Equal(content, copy.ToArray());
    }

    [Fact]
    public async Task An_uncommitted_write_leaves_no_file_behind()
    {
        await using (var write = _store.BeginWrite("datasets/rejected.jsonl"))
        {
            await write.WriteAsync(new byte[1000]);
        }

        Assert.False(_store.Exists("datasets/rejected.jsonl"));
        Assert.Empty(Directory.GetFiles(_root.Path, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Opening_a_file_whose_bytes_changed_is_refused_with_an_integrity_error()
    {
        var stored = await WriteAsync("checkpoints/c.bin", new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 });
        await File.WriteAllBytesAsync(Path.Combine(_root.Path, "checkpoints/c.bin"), new byte[] { 1, 2, 3, 4, 5, 6, 7, 9 });

        var error = await Assert.ThrowsAsync<ArtifactIntegrityException>(() => _store.OpenReadAsync("checkpoints/c.bin", stored.Sha256, stored.SizeBytes));

        Assert.Contains("corrupted", error.Message);
        Assert.Contains(stored.Sha256, error.Message);
    }

    [Fact]
    public async Task Opening_a_file_whose_length_changed_is_refused()
    {
        var stored = await WriteAsync("models/m.onnx", new byte[] { 1, 2, 3 });
        await File.AppendAllTextAsync(Path.Combine(_root.Path, "models/m.onnx"), "extra");

        await Assert.ThrowsAsync<ArtifactIntegrityException>(() => _store.OpenReadAsync("models/m.onnx", stored.Sha256, stored.SizeBytes));
    }

    [Fact]
    public async Task Opening_a_missing_artifact_names_its_key()
    {
        var error = await Assert.ThrowsAsync<ArtifactNotFoundException>(() => _store.OpenReadAsync("datasets/none.jsonl", "00", 1));
        Assert.Contains("datasets/none.jsonl", error.Message);
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("/etc/passwd")]
    [InlineData("UPPER/case")]
    [InlineData("")]
    public void Keys_that_could_leave_the_root_are_refused(string key)
    {
        Assert.Throws<ArgumentException>(() => _store.BeginWrite(key));
    }

    [Fact]
    public async Task Committing_over_an_existing_key_replaces_it_atomically()
    {
        await WriteAsync("checkpoints/latest.bin", new byte[] { 1 });
        var second = await WriteAsync("checkpoints/latest.bin", new byte[] { 2, 2 });

        await using var read = await _store.OpenReadAsync("checkpoints/latest.bin", second.Sha256, second.SizeBytes);
        using var copy = new MemoryStream();
        await read.CopyToAsync(copy);
        Assert.Equal(new byte[] { 2, 2 }, copy.ToArray());
        Assert.Single(Directory.GetFiles(Path.Combine(_root.Path, "checkpoints")));
    }

    private async Task<StoredArtifact> WriteAsync(string key, byte[] content)
    {
        await using var write = _store.BeginWrite(key);
        await write.WriteAsync(content);
        return await write.CommitAsync();
    }
}
