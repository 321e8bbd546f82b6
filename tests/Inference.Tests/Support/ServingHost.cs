using System.Globalization;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TextClassification.Inference.Predictions;
using TextClassification.Inference.Registry;
using TextClassification.Persistence;
using TextClassification.Persistence.Artifacts;
using TextClassification.Persistence.Entities;
using TextClassification.TestSupport;

namespace TextClassification.Inference.Tests.Support;

/// <summary>
/// A real host with <c>AddPersistence()</c> and <c>AddInference()</c> over a SQLite file and a local artifact
/// directory in a temporary directory, started (so migrations run), with helpers to publish model versions the way a
/// fine-tuning job does: the ONNX bytes through the artifact store, the row through the DbContext.
/// </summary>
public sealed class ServingHost : IAsyncDisposable
{
    private readonly TempDirectory directory;
    private readonly IHost host;

    private ServingHost(TempDirectory directory, IHost host)
    {
        this.directory = directory;
        this.host = host;
    }

    public IServiceProvider Services => host.Services;

    public ModelRegistry Registry => Services.GetRequiredService<ModelRegistry>();

    public PredictionService Predictions => Services.GetRequiredService<PredictionService>();

    public ServingMetrics Metrics => Services.GetRequiredService<ServingMetrics>();

    public static async Task<ServingHost> StartAsync(IDictionary<string, string?>? inference = null, Func<ServingHost, Task>? beforeStart = null)
    {
        var directory = new TempDirectory("inference");
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        var settings = new Dictionary<string, string?>
        {
            ["Persistence:Provider"] = "Sqlite",
            ["Persistence:DataDirectory"] = directory.Path,
            ["Inference:ExecutionProvider"] = "Cpu",
        };
        foreach (var (key, value) in inference ?? new Dictionary<string, string?>())
        {
            settings[$"Inference:{key}"] = value;
        }

        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddLogging();
        builder.Services.AddPersistence();
        builder.Services.AddInference();
        var host = builder.Build();
        var serving = new ServingHost(directory, host);
        if (beforeStart is not null)
        {
            await MigrateAsync(host.Services);
            await beforeStart(serving);
        }

        await host.StartAsync();
        return serving;
    }

    /// <summary>Stores <paramref name="onnx"/> and inserts the version's row, as a succeeded job would.</summary>
    public async Task<ModelVersion> PublishAsync(string name, int version, byte[]? onnx, byte[]? quantizedOnnx = null)
    {
        var store = Services.GetRequiredService<IArtifactStore>();
        StoredArtifact? stored = onnx is null ? null : await StoreAsync(store, $"models/{name}/{version}/model.onnx", onnx);
        StoredArtifact? quantized = quantizedOnnx is null ? null : await StoreAsync(store, $"models/{name}/{version}/model.int8.onnx", quantizedOnnx);
        var row = new ModelVersion
        {
            ModelName = name,
            Version = version,
            JobId = $"ftjob_{Guid.NewGuid():N}",
            Architecture = "tiny-mean",
            LabelsJson = JsonSerializer.Serialize(TinyClassifier.Labels),
            MetricsJson = "{}",
            OutOfScopeThreshold = 0.6,
            CheckpointArtifactKey = $"checkpoints/{name}/{version}.pt",
            CheckpointSha256 = new string('0', 64),
            CheckpointSizeBytes = 1,
            OnnxArtifactKey = stored?.Key,
            OnnxSha256 = stored?.Sha256,
            OnnxSizeBytes = stored?.SizeBytes,
            Opset = stored is null ? null : 17,
            QuantizedOnnxArtifactKey = quantized?.Key,
            QuantizedOnnxSha256 = quantized?.Sha256,
            QuantizedOnnxSizeBytes = quantized?.SizeBytes,
            CreatedAt = DateTimeOffset.UtcNow,
        };
        await using var scope = Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
        db.ModelVersions.Add(row);
        await db.SaveChangesAsync();
        return row;
    }

    /// <summary>Points <paramref name="alias"/> at <paramref name="version"/> in the database (as another process would).</summary>
    public async Task SetAliasAsync(string name, string alias, int version)
    {
        await using var scope = Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
        var row = await db.ModelAliases.SingleOrDefaultAsync(a => a.ModelName == name && a.Alias == alias);
        if (row is null)
        {
            db.ModelAliases.Add(new ModelAlias { ModelName = name, Alias = alias, Version = version, UpdatedAt = DateTimeOffset.UtcNow });
        }
        else
        {
            row.Version = version;
            row.UpdatedAt = DateTimeOffset.UtcNow;
        }

        await db.SaveChangesAsync();
    }

    /// <summary>The file an artifact key is stored in.</summary>
    public string ArtifactPath(string key) => Path.Combine(directory.Path, "artifacts", key);

    /// <summary>The text exposition of this host's metrics registry.</summary>
    public async Task<string> ScrapeMetricsAsync()
    {
        using var buffer = new MemoryStream();
        await Metrics.Registry.CollectAndExportAsTextAsync(buffer);
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    public async ValueTask DisposeAsync()
    {
        await host.StopAsync();
        if (host is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
        else
        {
            host.Dispose();
        }

        directory.Dispose();
    }

    public static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static async Task MigrateAsync(IServiceProvider services)
    {
        await using var scope = services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<ServiceDbContext>().Database.MigrateAsync();
    }

    private static async Task<StoredArtifact> StoreAsync(IArtifactStore store, string key, byte[] bytes)
    {
        await using var write = store.BeginWrite(key);
        await write.WriteAsync(bytes);
        return await write.CommitAsync();
    }
}
