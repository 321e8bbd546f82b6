using System.Text.Json;
using System.Text.Json.Serialization;
using Hangfire;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using TextClassification.Api.Endpoints;
using TextClassification.Api.Problems;
using TextClassification.Api.Security;

namespace TextClassification.Api.Hosting;

internal static class ApiHostExtensions
{
    /// <summary>
    /// The HTTP surface shared by every endpoint: snake_case JSON, problem details with request ids, the exception
    /// mapping, API keys and the rest of <see cref="SecurityServiceCollectionExtensions"/>, the OpenAPI document and the
    /// datasets options.
    /// </summary>
    public static IServiceCollection AddApiHost(this IServiceCollection services)
    {
        services.Configure<JsonOptions>(options => ConfigureJson(options.SerializerOptions));

        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            context.ProblemDetails.Instance ??= context.HttpContext.Request.Path;
            context.ProblemDetails.Extensions["request_id"] = context.HttpContext.TraceIdentifier;
        });
        services.AddExceptionHandler<ProblemExceptionHandler>();
        // A query string that does not bind (limit=abc) becomes a problem-details 400 like every other refusal.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);

        services.AddScoped<FineTuningJobRequests>();
        services.AddScoped<SweepRequests>();
        services.AddApiSecurity();

        services.AddOptions<DatasetsOptions>()
            .BindConfiguration(DatasetsOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.AddOpenApi("v1", options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "Text classification service",
                    Version = "v1",
                    Description = "Upload labelled text, fine-tune classifiers on it, and serve their predictions. "
                        + "Errors are RFC 9457 problem details whose `errors` list says what was wrong and where.",
                };
                return Task.CompletedTask;
            });
            OpenApiSecurity.Configure(options);
        });
        return services;
    }

    /// <summary>The one JSON shape of the API: snake_case names and enum values, nulls written out.</summary>
    public static void ConfigureJson(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.DictionaryKeyPolicy = null;
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        options.Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
    }

    /// <summary>
    /// The pipeline in front of every endpoint. Behind trusted proxies, the client's address comes first; then the
    /// serving counters, outermost so that they see the status of every refusal; then errors, all shaped by
    /// <see cref="ErrorResponses"/> (exceptions, and statuses set without a body: unknown paths, wrong methods); then
    /// the documentation and the security middleware.
    /// </summary>
    public static WebApplication UseApiHost(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<SecurityOptions>>().Value.ForwardedHeaders.Enabled)
        {
            app.UseForwardedHeaders();
        }

        app.UseMiddleware<ProtocolRequestCounting>();
        app.UseExceptionHandler();
        app.UseStatusCodePages(context => ErrorResponses.WriteForStatusCodeAsync(context.HttpContext));

        // The documentation is public (its Authorize button takes a key); everything after the security middleware
        // that names no policy of its own needs an admin key (the fallback policy), the Hangfire dashboard included.
        // Swagger UI's middleware looks at every request; only its own path needs it.
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/swagger"), swagger => swagger.UseSwaggerUI(options =>
        {
            options.SwaggerEndpoint("/swagger/v1/swagger.json", "Text classification service v1");
            options.RoutePrefix = "swagger";
            options.DocumentTitle = "Text classification service";
        }));
        app.UseApiSecurity();
        app.MapOpenApi("/swagger/{documentName}/swagger.json").AllowAnonymous();

        app.UseHangfireDashboard("/hangfire", new DashboardOptions { Authorization = [new HangfireDashboardAuthorization()] },
            app.Services.GetRequiredService<JobStorage>());
        return app;
    }
}
