using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TextClassification.Persistence;

namespace TextClassification.Inference.Registry;

/// <summary>
/// With <see cref="InferenceOptions.PreloadOnStart"/>, loads and warms each servable model's default version while
/// the host starts (after migrations, which are registered first), so the first requests find them ready. A model
/// that fails to load is logged and left for a request to retry; it never stops the host.
/// </summary>
internal sealed partial class ModelPreloadService(
    ModelRegistry registry,
    IServiceScopeFactory scopes,
    IOptions<InferenceOptions> options,
    ILogger<ModelPreloadService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.PreloadOnStart)
        {
            return;
        }

        List<string> names;
        await using (var scope = scopes.CreateAsyncScope())
        {
            names = await scope.ServiceProvider.GetRequiredService<ServiceDbContext>().ModelVersions
                .Where(v => v.OnnxArtifactKey != null || v.QuantizedOnnxArtifactKey != null)
                .Select(v => v.ModelName)
                .Distinct()
                .ToListAsync(cancellationToken);
        }

        foreach (string name in names.Order(StringComparer.Ordinal))
        {
            try
            {
                await registry.GetAsync(new ModelSelector(name), cancellationToken);
            }
            catch (InferenceException e)
            {
                LogPreloadFailed(logger, name, e.Message);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Preloading model {Model} failed: {Reason}")]
    private static partial void LogPreloadFailed(ILogger logger, string model, string reason);
}
