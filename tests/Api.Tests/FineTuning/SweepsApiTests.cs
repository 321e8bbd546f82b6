using System.Net;
using System.Text.Json.Nodes;
using TextClassification.Api.Tests.Hosting;
using TextClassification.TestSupport;

namespace TextClassification.Api.Tests.FineTuning;

/// <summary>
/// The service with two job workers and a quick sweep orchestrator, so that two trials run at once and decisions
/// come within a fraction of a second.
/// </summary>
public sealed class SweepServiceFixture : IAsyncLifetime
{
    private readonly TempDirectory _dataDirectory = new();

    public ServiceFactory Factory { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    public Task InitializeAsync()
    {
        Factory = new ServiceFactory(_dataDirectory.Path, null, new Dictionary<string, string?>
        {
            ["Jobs:WorkerCount"] = "2",
            ["Jobs:SweepPollInterval"] = "00:00:00.100",
        });
        Client = Factory.CreateClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Factory.DisposeAsync();
        _dataDirectory.Dispose();
    }
}

/// <summary>Hyperparameter sweeps end to end: real HTTP, the real orchestrator and Hangfire workers, real training on tiny data.</summary>
public sealed class SweepsApiTests(SweepServiceFixture service) : IClassFixture<SweepServiceFixture>
{
    private static readonly string[] Labels = ["balance", "transfer", "card_lost", "greeting"];
    /// <summary>Generous: on a loaded 2-core machine, trial 0 alone has taken over two minutes.</summary>
    private static readonly TimeSpan SweepTimeout = TimeSpan.FromSeconds(300);

    private HttpClient Client => service.Client;

    [Fact]
    public async Task A_sweep_stops_a_trailing_trial_early_and_registers_only_the_best()
    {
        string dataset = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv(Labels, 120, seed: 3));

        // Grid order, one trial at a time: trial 0 learns at a sound rate and ends; trial 1 learns at a rate so small
        // that it stays near chance, and judges itself at its first epoch against trial 0's first epoch. It stops
        // there however quickly its epochs run (they take milliseconds here): the judgement is part of its training.
        var created = await CreateAsync(new
        {
            job = new { training_dataset_id = dataset, model = "swept", hyperparameters = new { epochs = 8, batch_size = 32, embedding_dim = 16, early_stopping_patience = 0, seed = 3 } },
            search_space = new { learning_rate = new { choices = new[] { 0.05, 0.000001 } } },
            method = "grid",
            parallel_trials = 1,
        });
        Assert.StartsWith("sweep_", (string)created["id"]!);
        Assert.Equal("running", (string)created["status"]!);
        Assert.Equal(2, (int)created["max_trials"]!);

        var sweep = await WaitForEndAsync((string)created["id"]!);
        Assert.True((string)sweep["status"]! == "succeeded", sweep.ToJsonString());
        var trials = sweep["trials"]!.AsArray();
        Assert.Equal(2, trials.Count);
        Assert.Equal(0.05, (double)trials[0]!["parameters"]!["learning_rate"]!);
        Assert.Equal("succeeded", (string)trials[0]!["state"]!);
        Assert.True((double)trials[0]!["objective"]! > 0.8, sweep.ToJsonString());
        Assert.Equal("pruned", (string)trials[1]!["state"]!);
        Assert.True((int?)trials[1]!["pruned_at_epoch"] == 1, sweep.ToJsonString());
        Assert.True((int)trials[1]!["epochs"]! == 1, sweep.ToJsonString());

        Assert.Equal(0, (int)sweep["best_trial"]!["number"]!);
        Assert.Equal("swept", (string)sweep["result"]!["model"]!);
        int version = (int)sweep["result"]!["version"]!;

        // Each trial is an ordinary job, tagged with the sweep.
        var best = await JobsApi.GetAsync(Client, (string)trials[0]!["job_id"]!);
        var pruned = await JobsApi.GetAsync(Client, (string)trials[1]!["job_id"]!);
        Assert.Equal((string)created["id"]!, (string)best["sweep_id"]!);
        Assert.Equal((string)created["id"]!, (string)pruned["sweep_id"]!);
        Assert.Equal(version, (int)best["result"]!["version"]!);
        Assert.Equal(0.000001, (double)pruned["hyperparameters"]!["learning_rate"]!);
        Assert.Equal(16, (int)pruned["hyperparameters"]!["embedding_dim"]!);
        Assert.Equal("cancelled", (string)pruned["status"]!);
        Assert.Contains(await JobsApi.EventsAsync(Client, (string)pruned["id"]!), e => ((string)e!["message"]!).StartsWith("Stopped early by sweep", StringComparison.Ordinal));

        // Only the best trial registered a version, and it serves.
        var model = await (await Client.GetAsync("/v1/models/swept")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal(version, (int)Assert.Single(model["versions"]!.AsArray())!["version"]!);
        var listed = await (await Client.GetAsync("/v1/fine-tuning/sweeps")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Contains(listed["data"]!.AsArray(), s => (string)s!["id"]! == (string)created["id"]!);
    }

    [Fact]
    public async Task With_register_all_every_succeeded_trial_registers_a_version()
    {
        string dataset = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv(Labels, 40, seed: 6));
        var created = await CreateAsync(new
        {
            job = new { training_dataset_id = dataset, model = "swept-all", hyperparameters = new { epochs = 2, embedding_dim = 16 } },
            search_space = new { dropout = new { choices = new[] { 0.1, 0.2 } } },
            method = "grid",
            register = "all",
            early_stopping = new { enabled = false },
        });

        var sweep = await WaitForEndAsync((string)created["id"]!);
        Assert.True((string)sweep["status"]! == "succeeded", sweep.ToJsonString());
        Assert.All(sweep["trials"]!.AsArray(), t => Assert.Equal("swept-all", (string)t!["result"]!["model"]!));
        var versions = sweep["trials"]!.AsArray().Select(t => (int)t!["result"]!["version"]!).Order().ToList();
        Assert.Equal([1, 2], versions);
        Assert.Equal((int)sweep["best_trial"]!["result"]!["version"]!, (int)sweep["result"]!["version"]!);
        var model = await (await Client.GetAsync("/v1/models/swept-all")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal(2, model["versions"]!.AsArray().Count);
    }

    [Fact]
    public async Task Trials_run_in_parallel_cancel_stops_every_running_trial_and_seeded_sweeps_suggest_the_same_parameters()
    {
        string dataset = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv(Labels, 150, seed: 4));
        var body = new
        {
            job = new { training_dataset_id = dataset, model = "cancelled-sweep", hyperparameters = new { epochs = 500, batch_size = 4, early_stopping_patience = 0 } },
            search_space = new
            {
                learning_rate = new { low = 0.001, high = 0.1, scale = "log" },
                embedding_dim = new { low = 8, high = 64 },
                lr_schedule = new { choices = new[] { "linear", "cosine", "constant" } },
            },
            method = "random",
            max_trials = 6,
            parallel_trials = 2,
            seed = 11,
            early_stopping = new { enabled = false },
        };
        var first = await CreateAsync(body);
        var second = await CreateAsync(body);

        var running = await WaitForSweepAsync((string)first["id"]!, s => s["trials"]!.AsArray().Count == 2);
        var again = await WaitForSweepAsync((string)second["id"]!, s => s["trials"]!.AsArray().Count == 2);
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(running["trials"]![i]!["parameters"]!.ToJsonString(), again["trials"]![i]!["parameters"]!.ToJsonString());
            Assert.IsType<int>((int)running["trials"]![i]!["parameters"]!["embedding_dim"]!);
        }

        Assert.NotEqual(running["trials"]![0]!["parameters"]!.ToJsonString(), running["trials"]![1]!["parameters"]!.ToJsonString());

        // parallel_trials 2: both trials of the first sweep are running at the same time.
        var jobIds = running["trials"]!.AsArray().Select(t => (string)t!["job_id"]!).ToList();
        var deadline = DateTime.UtcNow + SweepTimeout;
        while (!(await Task.WhenAll(jobIds.Select(id => JobsApi.GetAsync(Client, id)))).All(j => (string)j["status"]! == "running"))
        {
            Assert.True(DateTime.UtcNow < deadline, "The two trials never ran at once.");
            await Task.Delay(100);
        }

        foreach (var sweep in new[] { first, second })
        {
            var cancelled = await (await Client.PostAsync($"/v1/fine-tuning/sweeps/{sweep["id"]}/cancel", null)).ReadJsonAsync(HttpStatusCode.OK);
            Assert.True((bool)cancelled["cancel_requested"]!);
        }

        foreach (var sweep in new[] { first, second })
        {
            var ended = await WaitForEndAsync((string)sweep["id"]!);
            Assert.Equal("cancelled", (string)ended["status"]!);
            var trials = ended["trials"]!.AsArray();
            Assert.Equal(2, trials.Count);
            Assert.All(trials, t => Assert.Equal("cancelled", (string)t!["state"]!));
            foreach (var trial in trials)
            {
                var job = await JobsApi.GetAsync(Client, (string)trial!["job_id"]!);
                Assert.Equal("cancelled", (string)job["status"]!);
                Assert.True(job["progress"] is null || (int)job["progress"]!["epoch"]! < 500);
            }

            Assert.Null(ended["result"]);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await Client.GetAsync("/v1/models/cancelled-sweep")).StatusCode);
    }

    [Fact]
    public async Task Bad_sweep_specs_are_refused_naming_the_field()
    {
        string dataset = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv(Labels, 10, seed: 5));
        var job = new { training_dataset_id = dataset, model = "bad-sweeps" };
        var space = new { dropout = new { low = 0.0, high = 0.5 } };

        await AssertRefusedAsync(new { job, search_space = space, method = "bayes", max_trials = 3 }, HttpStatusCode.BadRequest, "method");
        await AssertRefusedAsync(new { job, search_space = new { }, method = "random", max_trials = 3 }, HttpStatusCode.BadRequest, "search_space");
        await AssertRefusedAsync(new { job, search_space = new { dropout = new { low = 0.5, high = 0.1 } }, method = "random", max_trials = 3 }, HttpStatusCode.BadRequest, "search_space.dropout.low");
        await AssertRefusedAsync(new { job, search_space = new { learning_rate = new { low = 0.0, high = 0.1, scale = "log" } }, method = "tpe", max_trials = 3 }, HttpStatusCode.BadRequest, "search_space.learning_rate.low");
        await AssertRefusedAsync(new { job, search_space = new { colour = new { choices = new[] { "red" } } }, method = "random", max_trials = 3 }, HttpStatusCode.BadRequest, "search_space.colour");
        await AssertRefusedAsync(new { job, search_space = new { epochs = new { low = 1.5, high = 4 } }, method = "random", max_trials = 3 }, HttpStatusCode.BadRequest, "search_space.epochs");
        await AssertRefusedAsync(new { job, search_space = new { lr_schedule = new { choices = Array.Empty<string>() } }, method = "random", max_trials = 3 }, HttpStatusCode.BadRequest, "search_space.lr_schedule.choices");
        await AssertRefusedAsync(new { job, search_space = space, method = "random", max_trials = 0 }, HttpStatusCode.BadRequest, "max_trials");
        await AssertRefusedAsync(new { job, search_space = space, method = "tpe" }, HttpStatusCode.BadRequest, "max_trials");
        await AssertRefusedAsync(new { job, search_space = space, method = "random", max_trials = 3, max_wall_time_seconds = 0 }, HttpStatusCode.BadRequest, "max_wall_time_seconds");
        await AssertRefusedAsync(new { job, search_space = space, method = "random", max_trials = 3, parallel_trials = 0 }, HttpStatusCode.BadRequest, "parallel_trials");
        await AssertRefusedAsync(new { job, search_space = space, method = "random", max_trials = 3, parallel_trials = 65 }, HttpStatusCode.BadRequest, "parallel_trials");
        await AssertRefusedAsync(new { job, search_space = space, method = "grid" }, HttpStatusCode.BadRequest, "search_space.dropout.points");
        await AssertRefusedAsync(new { job, search_space = space, method = "random", max_trials = 3, early_stopping = new { reduction_factor = 1 } }, HttpStatusCode.BadRequest, "early_stopping.reduction_factor");
        await AssertRefusedAsync(new { search_space = space, method = "random", max_trials = 3 }, HttpStatusCode.BadRequest, "job");
        await AssertRefusedAsync(new { job = new { model = "bad-sweeps" }, search_space = space, method = "random", max_trials = 3 }, HttpStatusCode.BadRequest, "job.training_dataset_id");

        // Well-formed but unusable: a value no job accepts, a grid larger than the budget.
        await AssertRefusedAsync(new { job, search_space = new { dropout = new { low = 0.1, high = 1.5 } }, method = "random", max_trials = 3 }, HttpStatusCode.UnprocessableEntity, "search_space.dropout");
        await AssertRefusedAsync(
            new { job, search_space = new { epochs = new { low = 1, high = 10 }, dropout = new { choices = new[] { 0.1, 0.2, 0.3 } } }, method = "grid", max_trials = 5 },
            HttpStatusCode.UnprocessableEntity, "max_trials");
        await AssertRefusedAsync(
            new { job = new { training_dataset_id = dataset, model = "bad-sweeps", architecture = "transformer" }, search_space = new { embedding_dim = new { choices = new[] { 32 } } }, method = "random", max_trials = 3 },
            HttpStatusCode.UnprocessableEntity, "search_space.embedding_dim");

        // The same rule for a plain job: only an n-gram bag trained from scratch takes embedding_dim.
        var problem = await (await Client.PostAsync("/v1/fine-tuning/jobs", HttpAssertions.JsonBody(new
        {
            training_dataset_id = dataset, model = "bad-sweeps", architecture = "transformer", hyperparameters = new { embedding_dim = 32 },
        }))).ReadProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Equal("hyperparameters.embedding_dim", (string)problem["errors"]![0]!["field"]!);

        var sweeps = await (await Client.GetAsync("/v1/fine-tuning/sweeps?limit=100")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.DoesNotContain(sweeps["data"]!.AsArray(), s => (string)s!["model"]! == "bad-sweeps");
        await (await Client.GetAsync("/v1/fine-tuning/sweeps/sweep_nothing")).ReadProblemAsync(HttpStatusCode.NotFound);
    }

    private async Task AssertRefusedAsync(object body, HttpStatusCode status, string field)
    {
        var problem = await (await Client.PostAsync("/v1/fine-tuning/sweeps", HttpAssertions.JsonBody(body))).ReadProblemAsync(status);
        Assert.True(problem["errors"]!.AsArray().Any(e => (string?)e!["field"] == field), $"expected a problem naming {field}: {problem.ToJsonString()}");
    }

    private async Task<JsonNode> CreateAsync(object body) =>
        await (await Client.PostAsync("/v1/fine-tuning/sweeps", HttpAssertions.JsonBody(body))).ReadJsonAsync(HttpStatusCode.Created);

    private Task<JsonNode> WaitForEndAsync(string id) => WaitForSweepAsync(id, s => (string)s["status"]! != "running");

    private async Task<JsonNode> WaitForSweepAsync(string id, Func<JsonNode, bool> done)
    {
        var deadline = DateTime.UtcNow + SweepTimeout;
        JsonNode sweep;
        do
        {
            sweep = await (await Client.GetAsync($"/v1/fine-tuning/sweeps/{id}")).ReadJsonAsync(HttpStatusCode.OK);
            if (done(sweep))
            {
                return sweep;
            }

            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Fail($"Sweep {id} did not get there within {SweepTimeout.TotalSeconds} s; last state: {sweep.ToJsonString()}");
        return sweep;
    }
}
