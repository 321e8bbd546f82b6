using Microsoft.Extensions.Options;
using TextClassification.Api.Endpoints;
using TextClassification.Api.Hosting;
using TextClassification.Api.Maintenance;
using TextClassification.Api.WebConsole;
using TextClassification.Inference;
using TextClassification.Persistence;
using TextClassification.Training;
using TextClassification.Training.Jobs;
using TextClassification.Training.Jobs.TrainingProcess;

if (MaintenanceCommands.IsRequested(args))
{
    return await MaintenanceCommands.RunAsync(args);
}

if (TrainingProcessHost.IsRequested(args))
{
    // A worker's training child process: one job, given on stdin (see TrainingProcessSupervisor).
    return await TrainingProcessHost.RunAsync();
}

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddPersistence();
builder.Services.AddTraining(serviceExecutable: typeof(Program).Assembly);
builder.Services.AddInference();
builder.Services.AddApiHost();

var app = builder.Build();

app.UseApiHost();
app.MapHealthEndpoints();
if (app.Services.GetRequiredService<IOptions<JobsOptions>>().Value.ServesApi)
{
    app.MapDatasetsEndpoints();
    app.MapBaseModelsEndpoints();
    app.MapFineTuningJobsEndpoints();
    app.MapSweepsEndpoints();
    app.MapModelsEndpoints();
    app.MapPredictionsEndpoints();
    app.MapOpenInferenceEndpoints();
    app.MapMetricsEndpoint();
    app.MapApiKeysEndpoints();
    app.MapDashboardSessionEndpoints();
    app.MapAuditEndpoints();
    app.MapConsole();
}

await app.RunAsync();
return 0;

/// <summary>The entry point, public so that tests can host the application with WebApplicationFactory.</summary>
public partial class Program;
