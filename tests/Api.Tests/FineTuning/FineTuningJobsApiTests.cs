using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using TextClassification.Api.Tests.Hosting;

namespace TextClassification.Api.Tests.FineTuning;

/// <summary>Fine-tuning jobs end to end: real HTTP, real Hangfire workers, real TorchSharp training, each database.</summary>
public abstract class FineTuningJobsApiTests<TFixture>(TFixture service) : IClassFixture<TFixture>
    where TFixture : ServiceFixture
{
    private static readonly string[] Labels = ["balance", "transfer", "card_lost", "greeting"];
    private static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(120);

    /// <summary>
    /// How long a running job may take to end <c>cancelled</c>, as a client sees it. The service aims at two seconds
    /// (a 400 ms cancel-flag poll, then the current batch), but this path also waits for the progress reporter to
    /// store its queued writes (a checkpoint among them), for the status write and for this test's 100 ms polls, on a
    /// 2-core machine where three other test processes are training. Twenty seconds holds there, and is still far
    /// short of the job's length if left alone (200 epochs of 180 steps with early stopping off: minutes), so a
    /// cancel that was ignored, or honoured only at the end, fails. That the trainer itself stops within two seconds
    /// of its token is checked in process by <c>TrainerTests.Cancellation_stops_training_within_two_seconds</c> in
    /// Training.Tests.
    /// </summary>
    private static readonly TimeSpan CancelDeadline = TimeSpan.FromSeconds(20);

    private HttpClient Client => service.Client;

    [Fact]
    public async Task A_small_job_trains_reports_progress_and_publishes_the_next_version_of_its_model()
    {
        string dataset = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv([.. Labels, "oos"], 30, seed: 1));

        var created = await JobsApi.CreateAsync(Client, new
        {
            training_dataset_id = dataset,
            model = "e2e-intents",
            out_of_scope_label = "oos",
            hyperparameters = new { epochs = 3, seed = 5 },
        });

        Assert.StartsWith("ftjob_", (string)created["id"]!);
        Assert.Equal("queued", (string)created["status"]!);
        Assert.Equal("ngram-bag", (string)created["architecture"]!);
        Assert.Equal(3, (int)created["hyperparameters"]!["epochs"]!);
        Assert.NotNull(created["hyperparameters"]!["learning_rate"]);
        Assert.Equal(0.1, (double)created["validation_split"]!);

        var job = await JobsApi.WaitForEndAsync(Client, (string)created["id"]!, JobTimeout);
        Assert.True((string)job["status"]! == "succeeded", job.ToJsonString());
        Assert.Equal("cpu", (string)job["device"]!);
        // Jobs:WorkerName's default: this (test) process, which hosts the worker.
        Assert.Equal($"{Environment.MachineName}:{Environment.ProcessId}", (string)job["worker"]!);
        Assert.Equal(1.0, (double)job["progress"]!["fraction"]!);
        Assert.Equal("e2e-intents", (string)job["result"]!["model"]!);
        int version = (int)job["result"]!["version"]!;
        Assert.True(version >= 1);
        Assert.True((double)job["metrics"]!["validation_accuracy"]! > 0.6, job.ToJsonString());
        Assert.NotNull(job["started_at"]);
        Assert.NotNull(job["finished_at"]);

        var evaluation = job["evaluation"]!;
        Assert.Equal(Labels.Length + 1, evaluation["confusion_matrix"]!.AsArray().Count);
        Assert.Contains(evaluation["per_class"]!.AsArray(), c => (string)c!["label"]! == "greeting");
        Assert.Equal("oos", (string)evaluation["out_of_scope"]!["label"]!);
        // The console draws the out-of-scope trade-off and lists the mistakes from these.
        var curve = evaluation["threshold_curve"]!.AsArray();
        Assert.Equal(51, curve.Count);
        Assert.Equal(1.0, (double)curve[^1]!["threshold"]!);
        Assert.Equal(0.0, (double)curve[0]!["out_of_scope_recall"]!);
        Assert.All(evaluation["misclassified"]!.AsArray(), m => Assert.NotEqual((string)m!["label"]!, (string)m["predicted"]!));

        var types = (await JobsApi.EventsAsync(Client, (string)job["id"]!)).Select(e => (string)e!["type"]!).ToList();
        Assert.Equal("status_changed", types[0]);
        Assert.Equal(3, types.Count(t => t == "epoch_completed"));
        Assert.Equal(3, types.Count(t => t == "checkpoint_saved"));
        Assert.Contains("evaluation", types);
        Assert.Equal("status_changed", types[^1]);

        var checkpoints = await (await Client.GetAsync($"/v1/fine-tuning/jobs/{job["id"]}/checkpoints")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal([1, 2, 3], checkpoints["data"]!.AsArray().Select(c => (int)c!["epoch"]!).ToArray());
        // Only the newest checkpoint keeps its file: it holds all that resume needs.
        Assert.Equal([false, false, true], checkpoints["data"]!.AsArray().Select(c => (bool)c!["retained"]!).ToArray());
        string checkpointFiles = Path.Combine(service.DataDirectory, "artifacts", "checkpoints", (string)job["id"]!);
        Assert.Equal(["epoch-0003.ckpt"], Directory.EnumerateFiles(checkpointFiles).Select(Path.GetFileName));

        var second = await JobsApi.CreateAsync(Client, new { training_dataset_id = dataset, model = "e2e-intents", hyperparameters = new { epochs = 1 } });
        var secondDone = await JobsApi.WaitForEndAsync(Client, (string)second["id"]!, JobTimeout);
        Assert.Equal(version + 1, (int)secondDone["result"]!["version"]!);
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_metrics()
    {
        string dataset = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv(Labels, 25, seed: 2));
        var body = new { training_dataset_id = dataset, model = "repeatable", hyperparameters = new { epochs = 2, seed = 11 } };

        var first = await JobsApi.WaitForEndAsync(Client, (string)(await JobsApi.CreateAsync(Client, body))["id"]!, JobTimeout);
        var second = await JobsApi.WaitForEndAsync(Client, (string)(await JobsApi.CreateAsync(Client, body))["id"]!, JobTimeout);

        Assert.Equal("succeeded", (string)first["status"]!);
        Assert.Equal(first["metrics"]!.ToJsonString(), second["metrics"]!.ToJsonString());
        Assert.Equal(first["evaluation"]!.ToJsonString(), second["evaluation"]!.ToJsonString());
    }

    [Fact]
    public async Task The_out_of_scope_label_may_appear_in_the_validation_data_only()
    {
        string train = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv(Labels, 20, seed: 12));
        string validation = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv([.. Labels, "oos"], 6, seed: 13));

        var created = await JobsApi.CreateAsync(Client, new { training_dataset_id = train, validation_dataset_id = validation, model = "oos-in-validation", out_of_scope_label = "oos", hyperparameters = new { epochs = 2 } });
        var job = await JobsApi.WaitForEndAsync(Client, (string)created["id"]!, JobTimeout);

        Assert.True((string)job["status"]! == "succeeded", job.ToJsonString());
        Assert.Equal("oos", (string)job["evaluation"]!["out_of_scope"]!["label"]!);
        var neither = await (await Client.PostAsync("/v1/fine-tuning/jobs", HttpAssertions.JsonBody(new { training_dataset_id = train, validation_dataset_id = train, model = "x", out_of_scope_label = "oos" })))
            .ReadProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Equal("out_of_scope_label", (string)neither["errors"]![0]!["field"]!);
    }

    [Fact]
    public async Task A_job_from_a_base_model_learns_a_new_label()
    {
        string original = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv(["balance", "transfer", "greeting"], 25, seed: 3));
        var baseJob = await JobsApi.WaitForEndAsync(Client,
            (string)(await JobsApi.CreateAsync(Client, new { training_dataset_id = original, model = "transfer-base", hyperparameters = new { epochs = 3 } }))["id"]!, JobTimeout);
        string baseModel = $"transfer-base:{baseJob["result"]!["version"]}";

        string extended = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv(["balance", "transfer", "greeting", "weather"], 25, seed: 4));
        var job = await JobsApi.WaitForEndAsync(Client,
            (string)(await JobsApi.CreateAsync(Client, new { training_dataset_id = extended, model = "transfer-child", base_model = baseModel, hyperparameters = new { epochs = 3 } }))["id"]!, JobTimeout);

        Assert.True((string)job["status"]! == "succeeded", job.ToJsonString());
        Assert.Equal(baseModel, (string)job["base_model"]!);
        var weather = job["evaluation"]!["per_class"]!.AsArray().Single(c => (string)c!["label"]! == "weather")!;
        Assert.True((double)weather["recall"]! > 0.5, weather.ToJsonString());
    }

    [Fact]
    public async Task Cancelling_a_running_job_ends_it_cancelled_mid_training_with_its_progress_frozen_and_its_events_kept()
    {
        string dataset = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv(Labels, 400, seed: 6));
        var created = await JobsApi.CreateAsync(Client, new { training_dataset_id = dataset, model = "cancelled", hyperparameters = new { epochs = 200, batch_size = 8, early_stopping_patience = 0 } });
        string id = (string)created["id"]!;
        var running = await JobsApi.WaitAsync(Client, id, job => (string)job["status"]! == "running" && (long?)job["progress"]?["step"] > 0, JobTimeout);

        var sinceCancel = System.Diagnostics.Stopwatch.StartNew();
        var response = await (await Client.PostAsync($"/v1/fine-tuning/jobs/{id}/cancel", null)).ReadJsonAsync(HttpStatusCode.OK);
        Assert.True((bool)response["cancel_requested"]! || (string)response["status"]! == "cancelled");
        var job = await JobsApi.WaitForEndAsync(Client, id, CancelDeadline);
        sinceCancel.Stop();

        // Only the cancel path writes "cancelled"; a job that ignored the request would still be training.
        Assert.True((string)job["status"]! == "cancelled", $"after {sinceCancel.Elapsed.TotalSeconds:F1} s: {job.ToJsonString()}");
        long step = (long)job["progress"]!["step"]!;
        long totalSteps = (long)job["progress"]!["total_steps"]!;
        Assert.InRange(step, (long)running["progress"]!["step"]!, totalSteps - 1);
        var events = await JobsApi.EventsAsync(Client, id);
        Assert.Equal("Job cancelled.", (string)events[^1]!["message"]!);
        Assert.Contains(events, e => (string)e!["type"]! == "status_changed" && ((string)e["message"]!).StartsWith("Job running", StringComparison.Ordinal));

        // Training has stopped, not only the status: the job's progress and events stay as they were. A trainer
        // still running would add a loss event within five seconds (the reporter's interval for them; its progress
        // writes are refused once the lease is released), hence a six-second look.
        await Task.Delay(TimeSpan.FromSeconds(6));
        var later = await JobsApi.GetAsync(Client, id);
        Assert.Equal(step, (long)later["progress"]!["step"]!);
        Assert.Equal(events.ToJsonString(), (await JobsApi.EventsAsync(Client, id)).ToJsonString());

        // Cancelling an ended job changes nothing.
        var again = await (await Client.PostAsync($"/v1/fine-tuning/jobs/{id}/cancel", null)).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal("cancelled", (string)again["status"]!);
    }

    [Fact]
    public async Task Events_stream_live_as_server_sent_events_and_resume_after_last_event_id()
    {
        string dataset = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv(Labels, 25, seed: 7));
        string id = (string)(await JobsApi.CreateAsync(Client, new { training_dataset_id = dataset, model = "streamed", hyperparameters = new { epochs = 2 } }))["id"]!;

        var all = await ReadStreamAsync(id, lastEventId: null);

        Assert.Equal("end", all[^1].Type);
        var ids = all.Where(e => e.Id is not null).Select(e => e.Id!.Value).ToList();
        Assert.Equal(ids.Order(), ids);
        Assert.Contains(all, e => e.Type == "epoch_completed");
        Assert.Equal("succeeded", (string)(await JobsApi.GetAsync(Client, id))["status"]!);

        var resumed = await ReadStreamAsync(id, lastEventId: ids[2]);
        Assert.Equal(ids.Skip(3), resumed.Where(e => e.Id is not null).Select(e => e.Id!.Value));
    }

    [Fact]
    public async Task Listing_filters_by_status_and_pages_newest_first()
    {
        string dataset = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv(Labels, 10, seed: 8));
        var a = await JobsApi.CreateAsync(Client, new { training_dataset_id = dataset, model = "listed", hyperparameters = new { epochs = 1 } });
        var b = await JobsApi.CreateAsync(Client, new { training_dataset_id = dataset, model = "listed", hyperparameters = new { epochs = 1 } });
        await JobsApi.WaitForEndAsync(Client, (string)a["id"]!, JobTimeout);
        await JobsApi.WaitForEndAsync(Client, (string)b["id"]!, JobTimeout);

        var page = await (await Client.GetAsync("/v1/fine-tuning/jobs?limit=1&status=succeeded")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.True((bool)page["has_more"]!);
        string newest = (string)page["data"]![0]!["id"]!;
        var next = await (await Client.GetAsync($"/v1/fine-tuning/jobs?limit=100&status=succeeded&after={newest}")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.DoesNotContain(next["data"]!.AsArray(), j => (string)j!["id"]! == newest);
        Assert.All(next["data"]!.AsArray(), j => Assert.Equal("succeeded", (string)j!["status"]!));

        var none = await (await Client.GetAsync("/v1/fine-tuning/jobs?status=running&limit=100")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.All(none["data"]!.AsArray(), j => Assert.Equal("running", (string)j!["status"]!));
        await (await Client.GetAsync("/v1/fine-tuning/jobs?status=sleeping")).ReadProblemAsync(HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("{}", 400, "training_dataset_id")]
    [InlineData("""{"training_dataset_id":"ds_01kaq3m5t8y9c2b7n4x6r0w1zd"}""", 400, "model")]
    [InlineData("""{"training_dataset_id":"ds_01kaq3m5t8y9c2b7n4x6r0w1zd","model":"Bad Name"}""", 400, "model")]
    [InlineData("""{"training_dataset_id":"ds_01kaq3m5t8y9c2b7n4x6r0w1zd","model":"m","validation_split":0.9}""", 400, "validation_split")]
    [InlineData("""{"training_dataset_id":"ds_01kaq3m5t8y9c2b7n4x6r0w1zd","model":"m","base_model":"nocolon"}""", 400, "base_model")]
    [InlineData("""{"training_dataset_id":"ds_01kaq3m5t8y9c2b7n4x6r0w1zd","model":"m"}""", 404, "training_dataset_id")]
    [InlineData("""{"training_dataset_id":"DATASET","model":"m","hyperparameters":{"epochs":0}}""", 400, "hyperparameters.epochs")]
    [InlineData("""{"training_dataset_id":"DATASET","model":"m","hyperparameters":{"learning_rate":-1}}""", 400, "hyperparameters.learning_rate")]
    [InlineData("""{"training_dataset_id":"DATASET","model":"m","hyperparameters":{"epochs":"many"}}""", 400, "hyperparameters.epochs")]
    [InlineData("""{"training_dataset_id":"DATASET","model":"m","hyperparameters":{"lr_schedule":"zigzag"}}""", 400, "hyperparameters.lr_schedule")]
    [InlineData("""{"training_dataset_id":"DATASET","model":"m","architecture":"lstm"}""", 422, "architecture")]
    [InlineData("""{"training_dataset_id":"DATASET","model":"m","out_of_scope_label":"nothing_like_it"}""", 422, "out_of_scope_label")]
    [InlineData("""{"training_dataset_id":"DATASET","model":"m","validation_dataset_id":"ds_01kaq3m5t8y9c2b7n4x6r0w1zd"}""", 404, "validation_dataset_id")]
    [InlineData("""{"training_dataset_id":"DATASET","model":"m","base_model":"nothing:7"}""", 404, "base_model")]
    [InlineData("""{"training_dataset_id":"DATASET","model":"m","hyperparameters":{"word_vectors":"Not An Id"}}""", 400, "hyperparameters.word_vectors")]
    [InlineData("""{"training_dataset_id":"DATASET","model":"m","hyperparameters":{"word_vectors":"no-such-encoder"}}""", 404, "hyperparameters.word_vectors")]
    [InlineData("""{"training_dataset_id":"DATASET","model":"m","hyperparameters":{"word_vectors":"no-such-model:7"}}""", 404, "hyperparameters.word_vectors")]
    [InlineData("""{"training_dataset_id":"DATASET","model":"m","architecture":"transformer","hyperparameters":{"word_vectors":"minilm-l6"}}""", 422, "hyperparameters.word_vectors")]
    [InlineData("not json", 400, null)]
    public async Task Invalid_job_requests_are_refused_naming_the_field(string body, int status, string? field)
    {
        if (body.Contains("DATASET", StringComparison.Ordinal))
        {
            body = body.Replace("DATASET", await JobsApi.UploadAsync(Client, SyntheticIntents.Csv(Labels, 3, seed: 9)), StringComparison.Ordinal);
        }

        int before = await CountJobsAsync();
        var response = await Client.PostAsync("/v1/fine-tuning/jobs", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        var problem = await response.ReadProblemAsync((HttpStatusCode)status);
        if (field is not null)
        {
            Assert.Contains(problem["errors"]!.AsArray(), e => (string?)e!["field"] == field);
        }

        Assert.Equal(before, await CountJobsAsync());
    }

    [Theory]
    [InlineData("GET", "/v1/fine-tuning/jobs/ftjob_01kaq3m5t8y9c2b7n4x6r0w1zd")]
    [InlineData("POST", "/v1/fine-tuning/jobs/ftjob_01kaq3m5t8y9c2b7n4x6r0w1zd/cancel")]
    [InlineData("GET", "/v1/fine-tuning/jobs/ftjob_01kaq3m5t8y9c2b7n4x6r0w1zd/events")]
    [InlineData("GET", "/v1/fine-tuning/jobs/ftjob_01kaq3m5t8y9c2b7n4x6r0w1zd/checkpoints")]
    public async Task Unknown_job_ids_get_404(string method, string url)
    {
        await (await Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), url))).ReadProblemAsync(HttpStatusCode.NotFound);
    }

    private async Task<int> CountJobsAsync() =>
        (await (await Client.GetAsync("/v1/fine-tuning/jobs?limit=100")).ReadJsonAsync(HttpStatusCode.OK))["data"]!.AsArray().Count;

    private async Task<List<(long? Id, string Type)>> ReadStreamAsync(string jobId, long? lastEventId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/fine-tuning/jobs/{jobId}/events");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        using var timeout = new CancellationTokenSource(JobTimeout);
        using var response = await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        var events = new List<(long?, string)>();
        long? id = null;
        string? type = null;
        while (await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = long.Parse(line[4..], System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                type = line[7..];
            }
            else if (line.Length == 0 && type is not null)
            {
                events.Add((id, type));
                id = null;
                type = null;
            }
        }

        return events;
    }

    [Fact]
    public async Task Preflight_refuses_jobs_whose_data_cannot_train_a_meaningful_classifier()
    {
        // Every row a label of its own (a label column that holds ids): accepted as a dataset, refused as training data.
        string singletons = "text,label\n" + string.Concat(Enumerable.Range(0, 50_000).Select(i => $"customer message {i},ticket_{i}\n"));
        string unique = await JobsApi.UploadAsync(Client, singletons, "tickets.csv");
        var refused = await (await Client.PostAsync("/v1/fine-tuning/jobs", HttpAssertions.JsonBody(new { training_dataset_id = unique, model = "tickets" })))
            .ReadProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Contains("every_label_unique", refused.AllText(), StringComparison.Ordinal);

        // A label with one example cannot be held out for validation.
        string thin = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv(Labels, 20, seed: 3) + "my card was swallowed by the machine,card_swallowed\n", "thin.csv");
        var single = await (await Client.PostAsync("/v1/fine-tuning/jobs", HttpAssertions.JsonBody(new { training_dataset_id = thin, model = "thin" })))
            .ReadProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Contains("'card_swallowed'", single.AllText(), StringComparison.Ordinal);
        Assert.Contains("single_example_labels", single.AllText(), StringComparison.Ordinal);

        // A dry run checks everything, says what the job would do, and queues nothing.
        string sound = await JobsApi.UploadAsync(Client, SyntheticIntents.Csv(Labels, 20, seed: 4) + "!!!,balance\n", "sound.csv");
        var preflight = await (await Client.PostAsync("/v1/fine-tuning/jobs", HttpAssertions.JsonBody(new
        {
            training_dataset_id = sound, model = "dry", dry_run = true, hyperparameters = new { epochs = 2 },
        }))).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal("fine_tuning.job.preflight", (string)preflight["object"]!);
        Assert.Equal(2, (int)preflight["hyperparameters"]!["epochs"]!);
        Assert.Equal(Labels.Length, (int)preflight["labels"]!);
        // 10 % of each label's 20 rows (21 for balance) held out: 2 each.
        Assert.Equal((Labels.Length * 20) + 1 - (Labels.Length * 2), (int)preflight["training_rows"]!);
        Assert.Equal(Labels.Length * 2, (int)preflight["validation_rows"]!);
        Assert.Contains(preflight["findings"]!.AsArray(), f => (string)f!["code"]! == "training.text_without_letters");

        var jobs = await (await Client.GetAsync("/v1/fine-tuning/jobs?limit=100")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.DoesNotContain(jobs["data"]!.AsArray(), j => (string)j!["model"]! is "tickets" or "thin" or "dry");

        // Warnings do not refuse a job: they come back with it and are its first event. Two validation texts are
        // training texts (leakage), one validation label is never trained.
        string[] trainingLines = (SyntheticIntents.Csv(Labels, 20, seed: 4) + "!!!,balance\n").Split('\n');
        string leaky = await JobsApi.UploadAsync(Client, $"text,label\n{trainingLines[1]}\n{trainingLines[2]}\nwhen does the branch open,branch_hours\n", "leaky.csv");
        var warned = await JobsApi.CreateAsync(Client, new { training_dataset_id = sound, validation_dataset_id = leaky, model = "warned", hyperparameters = new { epochs = 1 } });
        var codes = warned["warnings"]!.AsArray().Select(w => (string)w!["code"]!).ToList();
        Assert.Contains("training.text_without_letters", codes);
        Assert.Contains("validation_labels_not_in_training", codes);
        Assert.Contains("training_labels_not_in_validation", codes);
        var leak = warned["warnings"]!.AsArray().Single(w => (string)w!["code"]! == "validation_texts_in_training")!;
        Assert.Equal(2, (int)leak["count"]!);
        var first = (await JobsApi.EventsAsync(Client, (string)warned["id"]!))[0]!;
        Assert.Equal("warning", (string)first["type"]!);
        Assert.Contains("validation_texts_in_training", (string)first["message"]!, StringComparison.Ordinal);
        await Client.PostAsync($"/v1/fine-tuning/jobs/{warned["id"]}/cancel", null);
        await JobsApi.WaitForEndAsync(Client, (string)warned["id"]!, JobTimeout);
    }
}

public sealed class FineTuningJobsApiOnSqliteTests(SqliteServiceFixture service) : FineTuningJobsApiTests<SqliteServiceFixture>(service);

public sealed class FineTuningJobsApiOnPostgresTests(PostgresServiceFixture service) : FineTuningJobsApiTests<PostgresServiceFixture>(service);
