using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using TextClassification.Inference.Batching;
using TextClassification.Inference.Sessions;
using TextClassification.Persistence;
using TextClassification.Persistence.Artifacts;
using TextClassification.Persistence.Entities;

namespace TextClassification.Inference.Registry;

/// <summary>
/// The models this process serves: resolves a selector to a version, loads each version once (concurrent callers
/// share one load), warms it up, and keeps loaded versions within <see cref="InferenceOptions.MemoryBudgetMegabytes"/>
/// by evicting the least recently used. A singleton.
/// </summary>
/// <remarks>
/// <para>Hot path: an explicit version that is loaded costs a dictionary lookup; a name without a version is
/// resolved through the database (default alias, else latest version) at most once per
/// <see cref="InferenceOptions.ResolutionCacheMilliseconds"/>, and at once again after <see cref="AliasesChanged"/>
/// or <see cref="Unload"/>.</para>
/// <para>A failed load is remembered for the same interval, so a corrupted artifact is not re-hashed by every
/// request, and is then retried; a version that does not exist is never remembered.</para>
/// <para>An evicted or unloaded version stops taking requests at once; its queued requests still run, and its
/// session is disposed only after the last run using it has finished.</para>
/// </remarks>
public sealed partial class ModelRegistry : IAsyncDisposable
{
    private readonly IServiceScopeFactory scopes;
    private readonly IArtifactStore artifacts;
    private readonly InferenceOptions options;
    private readonly ServingMetrics metrics;
    private readonly TimeProvider time;
    private readonly ILogger<ModelRegistry> logger;
    private readonly SessionFactory sessions;
    private readonly ConcurrentDictionary<string, Resolution> resolutions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Name, int Version), LoadSlot> slots = new();
    private readonly Lock evictionLock = new();
    private readonly CancellationTokenSource shutdown = new();
    private long resolutionGeneration;

    public ModelRegistry(
        IServiceScopeFactory scopes,
        IArtifactStore artifacts,
        IOptions<InferenceOptions> options,
        ServingMetrics metrics,
        TimeProvider time,
        ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        this.scopes = scopes;
        this.artifacts = artifacts;
        this.options = options.Value;
        this.metrics = metrics;
        this.time = time;
        logger = loggerFactory.CreateLogger<ModelRegistry>();
        sessions = new SessionFactory(options, loggerFactory.CreateLogger<SessionFactory>());
    }

    /// <summary>The versions loaded and ready now.</summary>
    public IReadOnlyList<LoadedModel> Loaded =>
        slots.Values.Select(slot => slot.Model).OfType<LoadedModel>().OrderBy(m => m.Name, StringComparer.Ordinal).ThenBy(m => m.Version).ToList();

    /// <summary>Resolves <paramref name="selector"/>, loads and warms the version if needed, and returns it.</summary>
    /// <exception cref="ModelNotFoundException">The model, or the version asked for, does not exist.</exception>
    /// <exception cref="ModelUnavailableException">The version exists but cannot be served; the message says why.</exception>
    public async Task<LoadedModel> GetAsync(ModelSelector selector, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(selector);
        if (string.IsNullOrWhiteSpace(selector.Name))
        {
            throw new ModelNotFoundException(selector.Name ?? string.Empty, selector.Version, "A model name is required.");
        }

        int version = selector.Version ?? await ResolveDefaultAsync(selector.Name, cancellationToken);
        return await LoadAsync(selector.Name, version, cancellationToken);
    }

    /// <summary>
    /// Loads and warms up <paramref name="name"/>:<paramref name="version"/> (or returns it when already loaded). Call it
    /// before moving an alias, so that the first request after the move finds the version ready.
    /// </summary>
    /// <exception cref="ModelNotFoundException">The version does not exist.</exception>
    /// <exception cref="ModelUnavailableException">The version cannot be served; the message says why.</exception>
    public async Task<LoadedModel> LoadAsync(string name, int version, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var key = (name, version);
        while (true)
        {
            if (slots.TryGetValue(key, out var slot))
            {
                long failedAt = slot.FailedAt;
                if (failedAt != 0 && time.GetElapsedTime(failedAt) >= RetryInterval)
                {
                    slots.TryRemove(new KeyValuePair<(string, int), LoadSlot>(key, slot));
                    continue;
                }

                return Touched(await slot.Completion.Task.WaitAsync(cancellationToken));
            }

            var created = new LoadSlot();
            if (slots.TryAdd(key, created))
            {
                // Await this load's own outcome: a version that does not exist leaves the dictionary at once, and
                // looking it up again would start another load.
                _ = RunLoadAsync(key, created);
                return Touched(await created.Completion.Task.WaitAsync(cancellationToken));
            }
        }

        static LoadedModel Touched(LoadedModel model)
        {
            model.Touch();
            return model;
        }
    }

    /// <summary>
    /// An alias of <paramref name="name"/> was moved or removed through this process: forget the name's cached
    /// resolution so the next request sees the change.
    /// </summary>
    public void AliasesChanged(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        Interlocked.Increment(ref resolutionGeneration);
        resolutions.TryRemove(name, out _);
    }

    /// <summary>
    /// The version was deleted: stop serving it. Requests already queued for it still run, and its session is disposed
    /// after the last of them.
    /// </summary>
    public void Unload(string name, int version)
    {
        ArgumentNullException.ThrowIfNull(name);
        AliasesChanged(name);
        if (slots.TryRemove((name, version), out var slot) && slot.Model is { } model)
        {
            Retire(model, "unloaded");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await shutdown.CancelAsync();
        foreach (var key in slots.Keys)
        {
            if (slots.TryRemove(key, out var slot) && slot.Model is { } model)
            {
                await RetireAsync(model);
            }
        }

        shutdown.Dispose();
    }

    private TimeSpan RetryInterval => TimeSpan.FromMilliseconds(options.ResolutionCacheMilliseconds);

    private async Task<int> ResolveDefaultAsync(string name, CancellationToken cancellationToken)
    {
        if (resolutions.TryGetValue(name, out var cached) && time.GetElapsedTime(cached.ResolvedAt) < RetryInterval)
        {
            return cached.Version;
        }

        long generation = Interlocked.Read(ref resolutionGeneration);
        long resolvedAt = time.GetTimestamp();
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
        int? version = await db.ModelAliases
            .Where(a => a.ModelName == name && a.Alias == options.DefaultAlias)
            .Select(a => (int?)a.Version)
            .SingleOrDefaultAsync(cancellationToken);
        version ??= await db.ModelVersions
            .Where(v => v.ModelName == name)
            .MaxAsync(v => (int?)v.Version, cancellationToken);
        if (version is null)
        {
            throw new ModelNotFoundException(name, null, $"Model '{name}' does not exist.");
        }

        // A change announced while the query ran may not be in its answer: use the answer once, do not cache it.
        if (Interlocked.Read(ref resolutionGeneration) == generation)
        {
            resolutions[name] = new Resolution(version.Value, resolvedAt);
        }

        return version.Value;
    }

    private async Task RunLoadAsync((string Name, int Version) key, LoadSlot slot)
    {
        LoadedModel model;
        try
        {
            model = await LoadCoreAsync(key.Name, key.Version, shutdown.Token);
        }
        catch (Exception e)
        {
            var error = e switch
            {
                InferenceException => e,
                OperationCanceledException when shutdown.IsCancellationRequested => e,
                _ => new ModelUnavailableException(key.Name, key.Version, $"Model {key.Name}:{key.Version} failed to load: {e.Message}", e),
            };
            if (error is ModelNotFoundException)
            {
                slots.TryRemove(new KeyValuePair<(string, int), LoadSlot>(key, slot));
            }
            else
            {
                metrics.ModelLoadFailed(key.Name, key.Version);
                LogLoadFailed(logger, key.Name, key.Version, error.Message);
                slot.FailedAt = time.GetTimestamp();
            }

            slot.Completion.TrySetException(error);
            return;
        }

        slot.Model = model;
        metrics.ModelLoaded(model.Name, model.Version, model.ExecutionProvider, model.Quantized);
        LogLoaded(logger, model.Name, model.Version, model.ExecutionProvider, model.Quantized, model.ArtifactBytes);

        // Unloaded while loading: the version is gone, so the fresh session is too (its callers find it retired and
        // resolve again).
        if (!slots.TryGetValue(key, out var current) || current != slot)
        {
            Retire(model, "unloaded while loading");
        }
        else
        {
            EvictOverBudget(model);
        }

        // Callers get the model only after the registry accounts for it (metrics, the memory budget, evictions): a
        // caller that then unloads it, or looks at what is loaded, never races the rest of this load.
        slot.Completion.TrySetResult(model);
    }

    private async Task<LoadedModel> LoadCoreAsync(string name, int version, CancellationToken cancellationToken)
    {
        ModelVersion? row;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
            row = await db.ModelVersions.AsNoTracking()
                .SingleOrDefaultAsync(v => v.ModelName == name && v.Version == version, cancellationToken);
            if (row is null)
            {
                bool exists = await db.ModelVersions.AnyAsync(v => v.ModelName == name, cancellationToken);
                throw new ModelNotFoundException(name, version, exists
                    ? $"Model '{name}' has no version {version}."
                    : $"Model '{name}' does not exist.");
            }
        }

        bool quantized = row.QuantizedOnnxArtifactKey is not null;
        var (key, sha256, size) = quantized
            ? (row.QuantizedOnnxArtifactKey, row.QuantizedOnnxSha256, row.QuantizedOnnxSizeBytes)
            : (row.OnnxArtifactKey, row.OnnxSha256, row.OnnxSizeBytes);
        if (key is null || sha256 is null || size is null)
        {
            throw new ModelUnavailableException(name, version, $"Model {name}:{version} cannot be served: it was never exported to ONNX.");
        }

        byte[] bytes;
        try
        {
            await using var stream = await artifacts.OpenReadAsync(key, sha256, size.Value, cancellationToken);
            bytes = new byte[size.Value];
            await stream.ReadExactlyAsync(bytes, cancellationToken);
        }
        catch (ArtifactNotFoundException e)
        {
            throw new ModelUnavailableException(name, version, $"Model {name}:{version} cannot be served: its ONNX artifact '{key}' is missing from the artifact store.", e);
        }
        catch (ArtifactEncryptionKeyException e)
        {
            throw new ModelUnavailableException(name, version, $"Model {name}:{version} cannot be served: its ONNX artifact cannot be decrypted with the configured encryption key. {e.Message}", e);
        }
        catch (ArtifactIntegrityException e)
        {
            throw new ModelUnavailableException(name, version, $"Model {name}:{version} cannot be served: its ONNX artifact is corrupted (it fails its SHA-256 or authentication check). {e.Message}", e);
        }

        var started = Stopwatch.GetTimestamp();
        ClassifierSession session;
        try
        {
            session = await Task.Run(() => sessions.Create(name, version, bytes), cancellationToken);
        }
        catch (Exception e) when (e is OnnxRuntimeException or InvalidDataException or InvalidOperationException)
        {
            throw new ModelUnavailableException(name, version, $"Model {name}:{version} cannot be served: its ONNX session failed to load: {e.Message}", e);
        }

        try
        {
            await Task.Run(() => session.WarmUp(options.MaxBatchSize), cancellationToken);
        }
        catch (Exception e)
        {
            session.Release();
            throw new ModelUnavailableException(name, version, $"Model {name}:{version} cannot be served: it failed its warm-up run: {e.Message}", e);
        }

        LogWarmedUp(logger, name, version, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        var series = metrics.For(name, version);
        var batcher = options.BatchingEnabled
            ? new DynamicBatcher(
                session,
                options.MaxBatchSize,
                TimeSpan.FromMicroseconds(options.MaxQueueDelayMicroseconds),
                sessions.ConcurrentRuns(session.ExecutionProvider),
                series)
            : null;
        return new LoadedModel(name, version, session, batcher, size.Value, quantized, time.GetUtcNow(), options.MaxBatchSize, series);
    }

    /// <summary>Evicts least recently used versions until the loaded ones fit the budget; <paramref name="keep"/> always stays.</summary>
    private void EvictOverBudget(LoadedModel keep)
    {
        long budget = (long)options.MemoryBudgetMegabytes << 20;
        lock (evictionLock)
        {
            var loaded = slots.ToArray().Where(pair => pair.Value.Model is not null).ToList();
            long total = loaded.Sum(pair => pair.Value.Model!.EstimatedMemoryBytes);
            foreach (var (key, slot) in loaded.OrderBy(pair => pair.Value.Model!.LastUsed))
            {
                if (total <= budget)
                {
                    break;
                }

                if (slot.Model == keep || !slots.TryRemove(new KeyValuePair<(string, int), LoadSlot>(key, slot)))
                {
                    continue;
                }

                total -= slot.Model!.EstimatedMemoryBytes;
                Retire(slot.Model, "evicted to stay within the memory budget");
            }
        }
    }

    private void Retire(LoadedModel model, string reason)
    {
        LogRetired(logger, model.Name, model.Version, reason);
        _ = RetireAsync(model);
    }

    private async Task RetireAsync(LoadedModel model)
    {
        metrics.ModelUnloaded(model.Name, model.Version, model.ExecutionProvider, model.Quantized);
        if (model.Batcher is not null)
        {
            await model.Batcher.DisposeAsync();
        }

        // The owner's reference; runs still holding leases keep the session alive until they finish.
        model.Session.Release();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded model {Model}:{Version} on {ExecutionProvider} (quantized: {Quantized}, {Bytes} bytes)")]
    private static partial void LogLoaded(ILogger logger, string model, int version, string executionProvider, bool quantized, long bytes);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Model {Model}:{Version} created and warmed up in {Milliseconds:F1} ms")]
    private static partial void LogWarmedUp(ILogger logger, string model, int version, double milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model {Model}:{Version} failed to load: {Reason}")]
    private static partial void LogLoadFailed(ILogger logger, string model, int version, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model}:{Version} {Reason}")]
    private static partial void LogRetired(ILogger logger, string model, int version, string reason);

    private sealed record Resolution(int Version, long ResolvedAt);

    /// <summary>One version's load: shared by every caller that asks while it runs, and its outcome after.</summary>
    private sealed class LoadSlot
    {
        public TaskCompletionSource<LoadedModel> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private LoadedModel? model;
        private long failedAt;

        /// <summary>Set once the load succeeded; read without waiting by <see cref="Loaded"/> and eviction.</summary>
        public LoadedModel? Model
        {
            get => Volatile.Read(ref model);
            set => Volatile.Write(ref model, value);
        }

        /// <summary>When the load failed (a <see cref="TimeProvider"/> timestamp); 0 while loading or once loaded.</summary>
        public long FailedAt
        {
            get => Volatile.Read(ref failedAt);
            set => Volatile.Write(ref failedAt, value);
        }
    }
}
