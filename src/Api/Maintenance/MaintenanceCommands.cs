using Microsoft.Extensions.Options;
using TextClassification.Persistence;
using TextClassification.Persistence.Backup;

namespace TextClassification.Api.Maintenance;

/// <summary>
/// The service executable's operator commands, run instead of the service when the first argument names one:
/// <code>
/// TextClassification.Api backup  &lt;directory&gt;   # the database and the artifacts, online, with a SHA-256 manifest
/// TextClassification.Api restore &lt;directory&gt;   # into an empty installation, every hash checked first
/// </code>
/// They read the same configuration as the service (appsettings, environment, the arguments after the directory), so
/// they act on the installation the service would use. Exit codes: 0 done, 1 refused or failed (the reason on
/// stderr, nothing half-written), 2 usage.
/// </summary>
internal static class MaintenanceCommands
{
    private static readonly string[] Commands = ["backup", "restore"];

    public static bool IsRequested(string[] args) => args.Length > 0 && Commands.Contains(args[0]);

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length < 2 || args[1].StartsWith('-'))
        {
            await Console.Error.WriteLineAsync($"Usage: {args[0]} <directory> [--Section:Key=value ...]");
            return 2;
        }

        var builder = WebApplication.CreateBuilder(args[2..]);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddPersistence();
        await using var app = builder.Build();
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancellation.Cancel();
        };

        try
        {
            // Reading the options validates them, as the service's start would.
            _ = app.Services.GetRequiredService<IOptions<PersistenceOptions>>().Value;
            var backup = app.Services.GetRequiredService<ServiceBackup>();
            string directory = Path.GetFullPath(args[1]);
            if (args[0] == "backup")
            {
                var manifest = await backup.BackupAsync(directory, cancellation.Token);
                await Console.Out.WriteLineAsync(
                    $"Backed up the {manifest.Provider} database and {manifest.Artifacts.Count} artifact file(s), {manifest.TotalBytes} bytes in all, to {directory} "
                    + $"(manifest: {Path.Combine(directory, BackupManifest.FileName)}).");
            }
            else
            {
                var manifest = await backup.RestoreAsync(directory, cancellation.Token);
                await Console.Out.WriteLineAsync(
                    $"Restored the {manifest.Provider} database and {manifest.Artifacts.Count} artifact file(s), {manifest.TotalBytes} bytes in all, every SHA-256 checked, "
                    + $"from the backup of {manifest.CreatedAt:u}. Start the service as usual.");
            }

            return 0;
        }
        catch (Exception e) when (e is BackupException or OptionsValidationException)
        {
            await Console.Error.WriteLineAsync($"{args[0]} refused: {e.Message}");
            return 1;
        }
    }
}
