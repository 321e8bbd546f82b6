using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TextClassification.Persistence.Artifacts;
using TextClassification.TestSupport;

namespace TextClassification.Persistence.Tests.Artifacts;

/// <summary>
/// Rotating the artifact encryption key on a real artifacts directory, with hosts built by <c>AddPersistence()</c>:
/// the old key in Persistence:PreviousEncryptionKeys keeps old files readable, the rotation re-encrypts them, and then
/// the old key can go.
/// </summary>
public sealed class ArtifactKeyRotationTests : IDisposable
{
    private readonly TempDirectory _data = new("key-rotation");
    private readonly string _old = NewBase64Key();
    private readonly string _new = NewBase64Key();

    public void Dispose() => _data.Dispose();

    private string Artifacts => _data.Combine("artifacts");

    [Fact]
    public async Task Files_under_the_old_key_stay_readable_the_rotation_moves_them_all_to_the_new_key_and_then_the_old_key_can_go()
    {
        Dictionary<string, (StoredArtifact Stored, byte[] Content)> files;
        using (var host = await StartAsync(_old))
        {
            files = await WriteAsync(host, ("datasets/a.jsonl", 10), ("checkpoints/j/epoch-0001.ckpt", 300_000), ("models/empty.onnx", 0));
        }

        using (var host = await StartAsync(_new, _old))
        {
            await AssertReadableAsync(host, files);
            foreach (var (key, entry) in await WriteAsync(host, ("models/new.onnx", 70_000)))
            {
                files[key] = entry;
            }

            var report = await host.Services.GetRequiredService<ArtifactKeyRotation>().RunAsync(CancellationToken.None);

            Assert.Equal(3, report.Reencrypted);
            Assert.Equal(1, report.AlreadyCurrent);
            Assert.Empty(report.Failed);
            Assert.True(report.Complete);
            await AssertReadableAsync(host, files);
            Assert.All(files.Keys, key => Assert.Equal(ArtifactEncryptionKey.Parse(_new).Id, KeyIdOf(key)));
            Assert.Empty(Directory.GetFiles(Artifacts, "*.partial", SearchOption.AllDirectories));

            // A second run finds nothing to do.
            Assert.Equal(0, (await host.Services.GetRequiredService<ArtifactKeyRotation>().RunAsync(CancellationToken.None)).Reencrypted);
        }

        using (var host = await StartAsync(_new))
        {
            await AssertReadableAsync(host, files);
        }

        using var stale = BuildHost(_old);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => stale.StartAsync());
        Assert.Contains("is not the key the artifacts", error.Message);
    }

    [Fact]
    public async Task Dropping_the_old_key_before_the_rotation_ran_is_refused_at_start_and_the_files_stay_readable_with_it()
    {
        Dictionary<string, (StoredArtifact Stored, byte[] Content)> files;
        using (var host = await StartAsync(_old))
        {
            files = await WriteAsync(host, ("datasets/a.jsonl", 1000));
        }

        using (await StartAsync(_new, _old))
        {
        }

        using (var early = BuildHost(_new))
        {
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => early.StartAsync());
            Assert.Contains(ArtifactEncryptionKey.Parse(_old).Id, error.Message);
        }

        using var host2 = await StartAsync(_new, _old);
        await AssertReadableAsync(host2, files);
    }

    [Fact]
    public async Task A_damaged_file_is_left_as_it_was_named_in_the_report_and_keeps_the_rotation_incomplete()
    {
        using (var host = await StartAsync(_old))
        {
            await WriteAsync(host, ("datasets/good.jsonl", 5000), ("datasets/bad.jsonl", 5000));
        }

        string bad = Path.Combine(Artifacts, "datasets/bad.jsonl");
        byte[] damaged = await File.ReadAllBytesAsync(bad);
        damaged[100] ^= 0x01;
        await File.WriteAllBytesAsync(bad, damaged);

        using (var host = await StartAsync(_new, _old))
        {
            var report = await host.Services.GetRequiredService<ArtifactKeyRotation>().RunAsync(CancellationToken.None);

            Assert.Equal(1, report.Reencrypted);
            var failure = Assert.Single(report.Failed);
            Assert.StartsWith("datasets/bad.jsonl: ", failure, StringComparison.Ordinal);
            Assert.False(report.Complete);
            Assert.Equal(damaged, await File.ReadAllBytesAsync(bad));
        }

        // The check file still names the old key, so the old key cannot be dropped yet.
        using var early = BuildHost(_new);
        await Assert.ThrowsAsync<InvalidOperationException>(() => early.StartAsync());
    }

    [Fact]
    public async Task Previous_keys_without_a_current_key_or_malformed_ones_fail_validation_without_repeating_them()
    {
        using (var noCurrent = BuildHost(null, _old))
        {
            var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => noCurrent.StartAsync());
            Assert.Contains("Persistence:PreviousEncryptionKeys is set but Persistence:EncryptionKey is not", error.Message);
            Assert.DoesNotContain(_old, error.Message);
        }

        string malformed = _old[..^8];
        using var badPrevious = BuildHost(_new, malformed);
        var invalid = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => badPrevious.StartAsync());
        Assert.Contains("Persistence:PreviousEncryptionKeys:0 must be 32 bytes in base64", invalid.Message);
        Assert.DoesNotContain(malformed, invalid.Message);
    }

    private static string NewBase64Key() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private string KeyIdOf(string key)
    {
        byte[] header = File.ReadAllBytes(Path.Combine(Artifacts, key))[..32];
        return Convert.ToHexStringLower(header.AsSpan(16, 8));
    }

    private static async Task<Dictionary<string, (StoredArtifact Stored, byte[] Content)>> WriteAsync(IHost host, params (string Key, int Size)[] files)
    {
        var store = host.Services.GetRequiredService<IArtifactStore>();
        var written = new Dictionary<string, (StoredArtifact, byte[])>();
        foreach (var (key, size) in files)
        {
            byte[] content = RandomNumberGenerator.GetBytes(size);
            await using var write = store.BeginWrite(key);
            await write.WriteAsync(content);
            written[key] = (await write.CommitAsync(), content);
        }

        return written;
    }

    private static async Task AssertReadableAsync(IHost host, Dictionary<string, (StoredArtifact Stored, byte[] Content)> files)
    {
        var store = host.Services.GetRequiredService<IArtifactStore>();
        foreach (var (key, (stored, content)) in files)
        {
            await using var read = await store.OpenReadAsync(key, stored.Sha256, stored.SizeBytes);
            using var copy = new MemoryStream();
            await read.CopyToAsync(copy);
            Assert.Equal(content, copy.ToArray());
        }
    }

    private async Task<IHost> StartAsync(string? key, params string[] previous)
    {
        var host = BuildHost(key, previous);
        await host.StartAsync();
        return host;
    }

    private IHost BuildHost(string? encryptionKey, params string[] previous)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        var settings = new Dictionary<string, string?>
        {
            ["Persistence:Provider"] = "Sqlite",
            ["Persistence:DataDirectory"] = _data.Path,
            ["Persistence:ApplyMigrationsOnStartup"] = "false",
            ["Persistence:EncryptionKey"] = encryptionKey,
        };
        for (int i = 0; i < previous.Length; i++)
        {
            settings[$"Persistence:PreviousEncryptionKeys:{i}"] = previous[i];
        }

        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddPersistence();
        return builder.Build();
    }
}
