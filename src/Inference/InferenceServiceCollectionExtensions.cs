using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TextClassification.Inference.Predictions;
using TextClassification.Inference.Registry;

namespace TextClassification.Inference;

public static class InferenceServiceCollectionExtensions
{
    /// <summary>
    /// Registers the serving core: <see cref="InferenceOptions"/> (section <c>Inference</c>, validated on start), the
    /// model registry, the prediction service, the serving metrics and the optional preload on start. Needs
    /// <c>AddPersistence()</c> first, for the database and the artifact store.
    /// </summary>
    public static IServiceCollection AddInference(this IServiceCollection services)
    {
        services.AddOptions<InferenceOptions>()
            .BindConfiguration(InferenceOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ServingMetrics>();
        services.AddSingleton<ModelRegistry>();
        services.AddSingleton<PredictionService>();
        services.AddHostedService<ModelPreloadService>();
        return services;
    }
}
