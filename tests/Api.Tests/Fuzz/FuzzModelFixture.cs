using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TextClassification.Api.Tests.FineTuning;
using TextClassification.Api.Tests.Hosting;
using TextClassification.Persistence;
using TextClassification.Persistence.Entities;
using TextClassification.TestSupport;

namespace TextClassification.Api.Tests.Fuzz;

/// <summary>
/// A service with one tiny model (one epoch on a few synthetic intents) to fuzz predict, infer and aliases against,
/// and the dataset it was trained on, for fuzzing job creation with a real id.
/// </summary>
public sealed class FuzzModelFixture : IAsyncLifetime
{
    public const string ModelName = "fuzz-intents";
    public const int MaxInputs = 16;
    public const int MaxTextLength = 500;

    private readonly TempDirectory _dataDirectory = new("fuzz");

    public ServiceFactory Factory { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    public string DatasetId { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Factory = new ServiceFactory(_dataDirectory.Path, null, new Dictionary<string, string?>
        {
            ["Inference:MaxInputsPerRequest"] = MaxInputs.ToString(CultureInfo.InvariantCulture),
            ["Inference:MaxTextLength"] = MaxTextLength.ToString(CultureInfo.InvariantCulture),
        });
        Client = Factory.CreateClient();
        DatasetId = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv(["balance", "transfer", "greeting"], 20, seed: 5));
        var created = await JobsApi.CreateAsync(Client, new
        {
            training_dataset_id = DatasetId,
            model = ModelName,
            hyperparameters = new { epochs = 1, seed = 1 },
        });
        var job = await JobsApi.WaitForEndAsync(Client, (string)created["id"]!, TimeSpan.FromMinutes(3));
        Assert.True((string)job["status"]! == "succeeded", job.ToJsonString());
    }

    /// <summary>
    /// Waits until no job is queued or running: a job the job-creation property accepted (and cancelled) may still be
    /// writing its checkpoint, which would show as a changed file in a later property's "nothing stored" check.
    /// </summary>
    public async Task WaitUntilNoJobIsActiveAsync()
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            using (var scope = Factory.Services.CreateScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
                if (!await db.FineTuningJobs.AnyAsync(j => j.Status == FineTuningJobStatus.Queued || j.Status == FineTuningJobStatus.Running))
                {
                    return;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, "Jobs were still queued or running after 3 minutes.");
            await Task.Delay(200);
        }
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Factory.DisposeAsync();
        _dataDirectory.Dispose();
    }
}
