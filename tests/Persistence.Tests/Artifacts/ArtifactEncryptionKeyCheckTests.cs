using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TextClassification.Persistence.Artifacts;
using TextClassification.TestSupport;

namespace TextClassification.Persistence.Tests.Artifacts;

/// <summary>Hosts built with <c>AddPersistence()</c>, as the service builds its own, started against one artifacts directory.</summary>
public sealed class ArtifactEncryptionKeyCheckTests : IDisposable
{
    private readonly TempDirectory _data = new("key-check");
    private readonly CapturedLogs _logs = new();

    public void Dispose() => _data.Dispose();

    private string KeyCheckFile => _data.Combine("artifacts/ENCRYPTION-KEY-CHECK");

    [Fact]
    public async Task The_first_start_with_a_key_leaves_a_key_check_file_and_later_starts_with_that_key_pass()
    {
        string key = NewBase64Key();

        await StartAndStopAsync(key);
        Assert.True(File.Exists(KeyCheckFile));
        byte[] first = await File.ReadAllBytesAsync(KeyCheckFile);
        await StartAndStopAsync(key);

        Assert.Equal(first, await File.ReadAllBytesAsync(KeyCheckFile));
        Assert.Contains(_logs.Messages, m => m.Contains($"key id {ArtifactEncryptionKey.Parse(key).Id} (created", StringComparison.Ordinal));
        Assert.Contains(_logs.Messages, m => m.Contains($"key id {ArtifactEncryptionKey.Parse(key).Id} (verified", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Starting_with_another_key_than_the_artifacts_were_written_with_stops_the_host_with_a_clear_message()
    {
        string original = NewBase64Key();
        await StartAndStopAsync(original);
        string other = NewBase64Key();

        using var host = BuildHost(other);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Contains("Persistence:EncryptionKey", error.Message);
        Assert.Contains("is not the key the artifacts", error.Message);
        Assert.Contains(ArtifactEncryptionKey.Parse(original).Id, error.Message);
        Assert.Contains(ArtifactEncryptionKey.Parse(other).Id, error.Message);
        Assert.DoesNotContain(other, error.Message);
        Assert.DoesNotContain(original, error.Message);
    }

    [Fact]
    public async Task A_key_check_file_that_does_not_decrypt_stops_the_host()
    {
        string key = NewBase64Key();
        await StartAndStopAsync(key);
        byte[] content = await File.ReadAllBytesAsync(KeyCheckFile);
        content[^1] ^= 0x01;
        await File.WriteAllBytesAsync(KeyCheckFile, content);

        using var host = BuildHost(key);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Contains("does not decrypt with the configured Persistence:EncryptionKey", error.Message);
        Assert.Contains("configured encryption key is not the one the artifacts were written with", error.Message);
    }

    [Fact]
    public async Task A_malformed_key_fails_validation_at_start_without_repeating_it()
    {
        string malformed = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));

        using var host = BuildHost(malformed);
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Persistence:EncryptionKey must be 32 bytes in base64", error.Message);
        Assert.Contains("openssl rand -base64 32", error.Message);
        Assert.DoesNotContain(malformed, error.Message);
        Assert.False(File.Exists(KeyCheckFile));
    }

    [Fact]
    public async Task The_store_that_AddPersistence_wires_encrypts_with_the_configured_key_and_reads_back()
    {
        string key = NewBase64Key();
        using var host = BuildHost(key);
        await host.StartAsync();
        var store = host.Services.GetRequiredService<IArtifactStore>();
        byte[] content = RandomNumberGenerator.GetBytes(100_000);

        StoredArtifact stored;
        await using (var write = store.BeginWrite("models/m.onnx"))
        {
            await write.WriteAsync(content);
            stored = await write.CommitAsync();
        }

        await using (var read = await store.OpenReadAsync("models/m.onnx", stored.Sha256, stored.SizeBytes))
        {
            using var copy = new MemoryStream();
            await read.CopyToAsync(copy);
            Assert.Equal(content, copy.ToArray());
        }

        await host.StopAsync();
        Assert.Equal(0x89, (await File.ReadAllBytesAsync(_data.Combine("artifacts/models/m.onnx")))[0]);
    }

    [Fact]
    public async Task Starting_without_a_key_over_encrypted_artifacts_warns_and_writes_plaintext()
    {
        await StartAndStopAsync(NewBase64Key());

        using var host = BuildHost(encryptionKey: null);
        await host.StartAsync();
        var store = host.Services.GetRequiredService<IArtifactStore>();
        await using (var write = store.BeginWrite("datasets/plain.jsonl"))
        {
            await write.WriteAsync("{}\n"u8.ToArray());
            await write.CommitAsync();
        }

        await host.StopAsync();
        Assert.Contains(_logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("Persistence:EncryptionKey is not set", StringComparison.Ordinal));
        Assert.Equal("{}\n"u8.ToArray(), await File.ReadAllBytesAsync(_data.Combine("artifacts/datasets/plain.jsonl")));
    }

    [Fact]
    public async Task The_key_never_appears_in_the_logs()
    {
        string key = NewBase64Key();
        await StartAndStopAsync(key);
        string wrong = NewBase64Key();
        using (var host = BuildHost(wrong))
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        }

        using (var host = BuildHost(key[..^4]))
        {
            await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        }

        Assert.Contains(_logs.Messages, m => m.Contains(ArtifactEncryptionKey.Parse(key).Id, StringComparison.Ordinal));
        foreach (string logged in _logs.Messages)
        {
            Assert.DoesNotContain(key, logged);
            Assert.DoesNotContain(key[..^4], logged);
            Assert.DoesNotContain(wrong, logged);
        }
    }

    [Fact]
    public async Task With_the_key_check_file_deleted_a_wrong_key_is_still_refused_by_trying_it_on_an_artifact()
    {
        string key = NewBase64Key();
        await StartAndWriteAsync(key, "datasets/d.jsonl");
        File.Delete(KeyCheckFile);
        string wrong = NewBase64Key();

        using (var host = BuildHost(wrong))
        {
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
            Assert.Contains(_data.Combine("artifacts/datasets/d.jsonl"), error.Message);
            Assert.Contains(ArtifactEncryptionKey.Parse(key).Id, error.Message);
            Assert.Contains(ArtifactEncryptionKey.Parse(wrong).Id, error.Message);
            Assert.Contains("encryption key check file is missing", error.Message);
        }

        Assert.False(File.Exists(KeyCheckFile));

        await StartAndStopAsync(key);
        Assert.True(File.Exists(KeyCheckFile));
        Assert.Contains(_logs.Messages, m => m.Contains("(created after 1 artifact(s) opened with the configured keys", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_the_key_check_file_deleted_an_artifact_that_names_the_key_but_does_not_decrypt_with_it_stops_the_host()
    {
        string key = NewBase64Key();
        await StartAndWriteAsync(key, "datasets/d.jsonl");
        File.Delete(KeyCheckFile);
        string artifact = _data.Combine("artifacts/datasets/d.jsonl");
        byte[] content = await File.ReadAllBytesAsync(artifact);
        content[40] ^= 0x01;
        await File.WriteAllBytesAsync(artifact, content);

        using var host = BuildHost(key);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Contains("do not decrypt with the configured key", error.Message);
        Assert.Contains(artifact, error.Message);
        Assert.False(File.Exists(KeyCheckFile));
    }

    private async Task StartAndWriteAsync(string encryptionKey, string artifactKey)
    {
        using var host = BuildHost(encryptionKey);
        await host.StartAsync();
        await using (var write = host.Services.GetRequiredService<IArtifactStore>().BeginWrite(artifactKey))
        {
            await write.WriteAsync(RandomNumberGenerator.GetBytes(1000));
            await write.CommitAsync();
        }

        await host.StopAsync();
    }

    private static string NewBase64Key() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private async Task StartAndStopAsync(string? encryptionKey)
    {
        using var host = BuildHost(encryptionKey);
        await host.StartAsync();
        await host.StopAsync();
    }

    private IHost BuildHost(string? encryptionKey)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Persistence:Provider"] = "Sqlite",
            ["Persistence:DataDirectory"] = _data.Path,
            ["Persistence:ApplyMigrationsOnStartup"] = "false",
            ["Persistence:EncryptionKey"] = encryptionKey,
        });
        builder.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(_logs));
        builder.Services.AddPersistence();
        return builder.Build();
    }

    /// <summary>Every log entry of every host in a test, with its exception, as text.</summary>
    private sealed class CapturedLogs : ILoggerProvider
    {
        private readonly ConcurrentQueue<(LogLevel Level, string Message)> _entries = new();

        public IEnumerable<(LogLevel Level, string Message)> Entries => _entries;

        public IEnumerable<string> Messages => _entries.Select(e => e.Message);

        public ILogger CreateLogger(string categoryName) => new Logger(this);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturedLogs logs) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                logs._entries.Enqueue((logLevel, $"{formatter(state, exception)} {exception}"));
        }
    }
}
