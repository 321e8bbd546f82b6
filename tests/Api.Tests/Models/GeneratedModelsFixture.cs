using TextClassification.Api.Tests.Hosting;
using TextClassification.Inference.Sessions;
using TextClassification.TestSupport;

namespace TextClassification.Api.Tests.Models;

/// <summary>
/// A service with every setting at its default and no trained model, into which tests publish
/// <see cref="RandomClassifier"/> models of whatever shape they need, each under a name of its own.
/// </summary>
public sealed class GeneratedModelsFixture : IAsyncLifetime
{
    private readonly TempDirectory _dataDirectory = new("generated-models");
    private int _published;

    public ServiceFactory Factory { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    public Task InitializeAsync()
    {
        Factory = new ServiceFactory(_dataDirectory.Path, null);
        // Creating the client starts the host, which applies the migrations the published rows need.
        Client = Factory.CreateClient();
        return Task.CompletedTask;
    }

    /// <summary>Publishes a random-weight model with <paramref name="metadata"/> as version 1 of a new name, and returns the name.</summary>
    internal async Task<string> PublishAsync(ClassifierMetadata metadata, int seed)
    {
        string name = $"generated-{Interlocked.Increment(ref _published)}-{metadata.Labels.Count}-labels";
        await RandomClassifier.PublishAsync(Factory.Services, name, 1, metadata, RandomClassifier.Build(metadata, seed));
        return name;
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Factory.DisposeAsync();
        _dataDirectory.Dispose();
    }
}
