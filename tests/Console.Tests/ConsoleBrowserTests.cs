using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using TextClassification.TestSupport;
using static Microsoft.Playwright.Assertions;

namespace TextClassification.Console.Tests;

/// <summary>
/// The console in headless chromium against the real service: the path a newcomer takes from a CSV file to a
/// promoted model and a prediction, and the refusals a console must show. One service and one browser for the class.
/// </summary>
public sealed class ConsoleBrowserTests(ConsoleService service) : IClassFixture<ConsoleService>
{
    private static readonly TimeSpan TrainingTimeout = TimeSpan.FromMinutes(5);

    private static string Clinc150(string file) => Path.Combine(RepositoryPaths.SharedDatasets, "clinc150", file);

    [Fact]
    public async Task The_console_is_served_to_anyone_with_a_content_security_policy_and_the_root_redirects_to_it()
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = service.Address };

        using var root = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.Found, root.StatusCode);
        Assert.Equal("/console/", root.Headers.Location!.OriginalString);

        using var index = await client.GetAsync("/console/");
        Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        Assert.Equal("text/html", index.Content.Headers.ContentType!.MediaType);
        string policy = string.Join(' ', index.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", policy, StringComparison.Ordinal);
        Assert.Contains("script-src 'self';", policy, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", policy, StringComparison.Ordinal);
        Assert.Equal("nosniff", index.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", index.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("no-referrer", index.Headers.GetValues("Referrer-Policy").Single());
        Assert.Equal("no-cache", index.Headers.CacheControl!.ToString());

        // Revalidation is answered from the ETag; unknown files are 404 and the API stays closed without a key.
        using var again = new HttpRequestMessage(HttpMethod.Get, "/console/");
        again.Headers.IfNoneMatch.Add(index.Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, (await client.SendAsync(again)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/v1/datasets")).StatusCode);

        // The policy is on every answer under /console and on the redirects, not on the page alone.
        using var script = await client.GetAsync("/console/js/app.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType!.MediaType);
        using var missing = await client.GetAsync("/console/js/missing.js");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using var bare = await client.GetAsync("/console");
        Assert.Equal("/console/", bare.Headers.Location!.OriginalString);
        foreach (var response in new[] { root, script, missing, bare })
        {
            Assert.Equal(policy, string.Join(' ', response.Headers.GetValues("Content-Security-Policy")));
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        }
    }

    [Fact]
    public async Task A_revoked_key_is_refused_with_a_message_at_sign_in_and_ends_the_session_it_was_signed_in_with()
    {
        var created = await (await service.AdminClient.PostAsJsonAsync("/v1/api-keys", new { name = "soon-revoked", scopes = new[] { "predict" } })).Content.ReadFromJsonAsync<JsonNode>();
        string secret = (string)created!["secret"]!;
        string id = (string)created["key"]!["id"]!;
        var (page, errors) = await service.NewPageAsync();
        await page.GotoAsync("/");
        await SignInAsync(page, secret);
        await Expect(page.Locator("#nav a")).ToHaveTextAsync(["Models", "Playground"]);

        // Revoked while the tab is signed in: the next call is refused and the tab is back at sign-in, saying why.
        Assert.Equal(HttpStatusCode.NoContent, (await service.AdminClient.DeleteAsync($"/v1/api-keys/{id}")).StatusCode);
        await page.GetByRole(AriaRole.Link, new() { Name = "Playground" }).ClickAsync();
        var alert = page.GetByRole(AriaRole.Alert);
        await Expect(alert).ToContainTextAsync("Your key was refused");
        await Expect(alert).ToContainTextAsync("revoked");
        await Expect(page.Locator("#nav a")).ToHaveCountAsync(0);
        Assert.Null(await page.EvaluateAsync<string?>("() => sessionStorage.getItem('tcs.apiKey')"));

        // Signing in with it again says the same.
        await page.GetByLabel("API key", new() { Exact = true }).FillAsync(secret);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert).Last).ToContainTextAsync("This key was refused");
        await Expect(page.GetByRole(AriaRole.Alert).Last).ToContainTextAsync("revoked");

        // A good key then goes back to where the refused one was.
        await SignInAsync(page, ConsoleService.AdminKey);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Playground", Exact = true })).ToBeVisibleAsync();
        Assert.Empty(errors);
    }

    [Fact]
    public async Task A_dataset_is_deleted_after_confirmation_and_a_running_job_is_cancelled_from_its_page()
    {
        string rows = string.Concat(Enumerable.Range(0, 20).Select(i => $"where is my parcel number {i},delivery\nmy card {i} was charged twice,billing\nhello there friend {i},greeting\n"));
        string doomed = await service.UploadDatasetAsync("delete-me", "text,label\n" + rows);
        string training = await service.UploadDatasetAsync("cancel-me", "text,label\n" + rows);
        var (page, errors) = await service.NewPageAsync();
        await page.GotoAsync("/");
        await SignInAsync(page, ConsoleService.AdminKey);

        await page.GotoAsync($"/console/#/datasets/{doomed}");
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete…" }).ClickAsync();
        await page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Delete dataset" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "All datasets" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "delete-me", Exact = true })).ToHaveCountAsync(0);
        Assert.Equal(HttpStatusCode.NotFound, (await service.AdminClient.GetAsync($"/v1/datasets/{doomed}")).StatusCode);

        // Far more epochs than the test waits for, with early stopping off, so the job is still active when cancelled.
        var job = await (await service.AdminClient.PostAsJsonAsync("/v1/fine-tuning/jobs", new
        {
            training_dataset_id = training,
            model = "cancelled-intents",
            hyperparameters = new { epochs = 1000, early_stopping_patience = 0 },
        })).Content.ReadFromJsonAsync<JsonNode>();
        await page.GotoAsync($"/console/#/jobs/{(string)job!["id"]!}");
        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel job…" }).ClickAsync();
        await page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Cancel job", Exact = true }).ClickAsync();
        await Expect(page.Locator("#main .facts .badge-cancelled")).ToBeVisibleAsync(new() { Timeout = 60_000 });
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Cancel job…" })).ToHaveCountAsync(0);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task A_wrong_key_is_refused_with_a_message_and_nothing_else_is_shown()
    {
        var (page, errors) = await service.NewPageAsync();

        await page.GotoAsync("/");
        await page.GetByLabel("API key", new() { Exact = true }).FillAsync("tcs_not-a-key-anyone-was-given");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();

        var alert = page.GetByRole(AriaRole.Alert);
        await Expect(alert).ToContainTextAsync("This key was refused");
        await Expect(alert).ToContainTextAsync("not valid");
        await Expect(page.Locator("#nav a")).ToHaveCountAsync(0);
        Assert.Null(await page.EvaluateAsync<string?>("() => sessionStorage.getItem('tcs.apiKey')"));
        await Screenshots.SaveAsync(page, "sign-in-refused");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task A_newcomer_goes_from_csv_files_to_a_promoted_model_and_a_prediction_and_a_predict_key_sees_no_admin_pages()
    {
        var (page, errors) = await service.NewPageAsync();

        // Sign in with the admin key; the root redirects to the console.
        await page.GotoAsync("/");
        await Screenshots.SaveAsync(page, "sign-in");
        await SignInAsync(page, ConsoleService.AdminKey);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Datasets", Exact = true })).ToBeVisibleAsync();

        // Upload CLINC150's training and validation files.
        await UploadAsync(page, Clinc150("train.csv"), "clinc150-train");
        await UploadAsync(page, Clinc150("validation.csv"), "clinc150-validation");
        await Expect(page.Locator(".result")).ToContainTextAsync("3,100");
        await Screenshots.SaveAsync(page, "datasets", fullPage: true);

        await page.GetByRole(AriaRole.Link, new() { Name = "clinc150-train", Exact = true }).Last.ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Label distribution" })).ToBeVisibleAsync();
        await Expect(page.Locator("svg.bars g")).ToHaveCountAsync(151);
        await Expect(page.Locator("caption")).ToContainTextAsync("Rows 1–20 of 15,100");
        await Screenshots.SaveAsync(page, "dataset");
        await page.GetByRole(AriaRole.Button, new() { Name = "Next" }).ClickAsync();
        await Expect(page.Locator("caption")).ToContainTextAsync("Rows 21–40 of 15,100");

        // Start a job on the default fast architecture, with the validation file and the out-of-scope label.
        var datasets = (await service.AdminClient.GetFromJsonAsync<JsonNode>("/v1/datasets"))!["data"]!.AsArray();
        string Id(string name) => (string)datasets.Single(d => (string)d!["name"]! == name)!["id"]!;
        await page.GetByRole(AriaRole.Link, new() { Name = "Fine-tuning" }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "New fine-tuning job" }).ClickAsync();
        await page.GetByLabel("Training dataset", new() { Exact = true }).SelectOptionAsync(Id("clinc150-train"));
        await page.GetByLabel("Validation dataset", new() { Exact = true }).SelectOptionAsync(Id("clinc150-validation"));
        await page.GetByLabel("Model name", new() { Exact = true }).FillAsync("support-intents");
        await page.GetByLabel("Out-of-scope label", new() { Exact = true }).FillAsync("oos");
        await page.GetByLabel("Out-of-scope label", new() { Exact = true }).BlurAsync();
        // Four epochs instead of the default ten keep the suite quick; the model still knows a lost card.
        await page.GetByLabel("epochs", new() { Exact = true }).FillAsync("4");
        // The dry run fills in the service's defaults.
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Dry run" })).ToBeVisibleAsync();
        await Expect(page.GetByLabel("epochs", new() { Exact = true })).ToHaveAttributeAsync("placeholder", new Regex("^[0-9]+$"));
        await Screenshots.SaveAsync(page, "new-job", fullPage: true);
        await page.GetByRole(AriaRole.Button, new() { Name = "Start job" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("#/jobs/ftjob_"));

        // The loss curve gains points from the event stream while the job runs.
        var points = page.Locator("#loss-chart svg");
        int first = await WaitForPointsAsync(points, n => n > 0);
        await Screenshots.SaveAsync(page, "job-running");
        await WaitForPointsAsync(points, n => n > first);

        // When it succeeds: the evaluation, with the per-class table and the confusion matrix.
        await Expect(page.Locator("#evaluation")).ToBeVisibleAsync(new() { Timeout = (float)TrainingTimeout.TotalMilliseconds });
        await Expect(page.Locator("#per-class tbody tr")).ToHaveCountAsync(50);
        await Expect(page.Locator("#per-class")).ToContainTextAsync("of 151");
        await Expect(page.Locator("#confusion canvas")).ToBeVisibleAsync();
        await Expect(page.Locator("#confusion tbody tr").First).ToBeVisibleAsync();
        await Expect(page.Locator("#threshold-curve")).ToBeVisibleAsync();
        await Screenshots.SaveAsync(page, "job-evaluation", fullPage: true);

        // Promote the version to production after the comparison.
        await page.GetByRole(AriaRole.Link, new() { Name = "support-intents version 1" }).First.ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Promote to production…" }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog);
        await Expect(dialog).ToContainTextAsync("Macro-F1");
        await Screenshots.SaveAsync(page, "promote");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Promote version 1" }).ClickAsync();
        await Expect(page.Locator(".actions .badge-production")).ToBeVisibleAsync();
        await Screenshots.SaveAsync(page, "model-version");

        // Ask the playground.
        await page.GetByRole(AriaRole.Link, new() { Name = "Try it in the playground" }).ClickAsync();
        await page.GetByLabel("Texts, one per line").FillAsync("I lost my card\nwhat's the weather like tomorrow");
        await page.GetByRole(AriaRole.Button, new() { Name = "Classify" }).ClickAsync();
        await Expect(page.Locator("#predictions .prediction").First).ToContainTextAsync("report_lost_card");
        await Screenshots.SaveAsync(page, "playground");

        // Score the version on a small labelled CSV: accuracy, row count and the mistakes (or none).
        await page.GetByLabel("CSV file").SetInputFilesAsync(new FilePayload
        {
            Name = "check.csv",
            MimeType = "text/csv",
            Buffer = Encoding.UTF8.GetBytes("text,label\nI lost my card,report_lost_card\n\"where is my card, I lost it\",report_lost_card\nwhat's the weather like tomorrow,weather\n"),
        });
        await page.GetByRole(AriaRole.Button, new() { Name = "Score", Exact = true }).ClickAsync();
        await Expect(page.Locator("#score-accuracy")).ToHaveTextAsync(new Regex(@"^[0-9]+\.[0-9] %$"));
        await Expect(page.GetByRole(AriaRole.Group, new() { Name = "Rows", Exact = true })).ToContainTextAsync("3");
        await Expect(page.Locator("#score-result table, #score-result p").First).ToBeVisibleAsync();

        // Make a predict-only key on the admin page; the secret is shown once.
        await page.GetByRole(AriaRole.Link, new() { Name = "Admin" }).ClickAsync();
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("support-bot");
        await page.GetByRole(AriaRole.Button, new() { Name = "Make key" }).ClickAsync();
        string predictKey = await page.Locator("#new-secret").InputValueAsync();
        Assert.StartsWith("tcs_", predictKey);
        await Screenshots.SaveAsync(page, "admin-keys");
        await page.GetByRole(AriaRole.Link, new() { Name = "Audit log" }).ClickAsync();
        await Expect(page.Locator("#audit")).ToContainTextAsync("model_alias.set");
        await Screenshots.SaveAsync(page, "admin-audit");

        // The Hangfire dashboard opens from the tools tab in a tab of its own, though a page sends no key header.
        await page.GotoAsync("/console/#/admin/tools");
        var dashboard = await page.Context.RunAndWaitForPageAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Open the Hangfire dashboard" }).ClickAsync());
        await dashboard.WaitForURLAsync(new Regex("/hangfire"));
        await Expect(dashboard.Locator("body")).ToContainTextAsync("Hangfire");
        await dashboard.CloseAsync();

        // Signed in with it, the console offers models and the playground only, and refuses the admin pages.
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        Assert.Null(await page.EvaluateAsync<string?>("() => sessionStorage.getItem('tcs.apiKey')"));
        await SignInAsync(page, predictKey);
        await Expect(page.Locator("#nav a")).ToHaveTextAsync(["Models", "Playground"]);
        await page.GotoAsync("/console/#/admin/keys");
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Not allowed with this key");
        await page.GotoAsync("/console/#/datasets");
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Not allowed with this key");
        await page.GotoAsync("/console/#/models");
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "support-intents", Exact = true })).ToBeVisibleAsync();
        await Screenshots.SaveAsync(page, "predict-key-models");

        // At phone width the playground still works.
        await page.SetViewportSizeAsync(390, 844);
        await page.GotoAsync("/console/#/playground");
        await page.GetByLabel("Texts, one per line").FillAsync("I lost my card");
        await page.GetByRole(AriaRole.Button, new() { Name = "Classify" }).ClickAsync();
        await Expect(page.Locator("#predictions")).ToContainTextAsync("report_lost_card");
        await Screenshots.SaveAsync(page, "playground-phone", fullPage: true);

        Assert.Empty(errors);
    }

    private static async Task SignInAsync(IPage page, string key)
    {
        await page.GetByLabel("API key", new() { Exact = true }).FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Sign out" })).ToBeVisibleAsync();
    }

    private static async Task UploadAsync(IPage page, string file, string name)
    {
        await page.Locator("input[type=file]").SetInputFilesAsync(file);
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync(name);
        await page.GetByRole(AriaRole.Button, new() { Name = "Upload", Exact = true }).ClickAsync();
        await Expect(page.Locator(".result h3")).ToContainTextAsync(name, new() { Timeout = 60_000 });
    }

    private static async Task<int> WaitForPointsAsync(ILocator chart, Func<int, bool> done)
    {
        var deadline = DateTime.UtcNow + TrainingTimeout;
        int points;
        do
        {
            points = int.Parse(await chart.GetAttributeAsync("data-points") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
            if (done(points))
            {
                return points;
            }

            await Task.Delay(250);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Fail($"The loss chart stayed at {points} points.");
        return points;
    }
}
