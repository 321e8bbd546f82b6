using System.Diagnostics;
using Npgsql;

namespace TextClassification.Persistence.Backup;

/// <summary>
/// PostgreSQL's own client programs, <c>pg_dump</c> and <c>pg_restore</c>: found in
/// <see cref="PersistenceOptions.PostgresToolsDirectory"/>, else on PATH, else in the newest
/// <c>/usr/lib/postgresql/*/bin</c> (Debian's layout). Connection settings go through libpq's environment variables,
/// so the password never appears on a command line.
/// </summary>
internal static class PostgresTools
{
    public static async Task RunAsync(
        string program, string? toolsDirectory, string connectionString, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        string path = Find(program, toolsDirectory) ?? throw new BackupException(
            $"{program} was not found (Persistence:PostgresToolsDirectory, PATH, /usr/lib/postgresql/*/bin). Install the PostgreSQL client programs "
            + "of the server's major version or newer, or back up with your own tooling as docs/reliability.md describes.");
        var connection = new NpgsqlConnectionStringBuilder(connectionString);
        var start = new ProcessStartInfo(path) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["PGHOST"] = connection.Host;
        start.Environment["PGPORT"] = connection.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["PGDATABASE"] = connection.Database;
        start.Environment["PGUSER"] = connection.Username;
        start.Environment["PGPASSWORD"] = connection.Password;
        start.Environment["PGSSLMODE"] = connection.SslMode switch
        {
            SslMode.Disable => "disable",
            SslMode.Require => "require",
            SslMode.VerifyCA => "verify-ca",
            SslMode.VerifyFull => "verify-full",
            _ => "prefer",
        };
        using var process = Process.Start(start) ?? throw new BackupException($"Could not start {path}.");
        var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var error = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        await output;
        if (process.ExitCode != 0)
        {
            throw new BackupException($"{program} failed (exit code {process.ExitCode}): {(await error).Trim()}");
        }
    }

    private static string? Find(string program, string? toolsDirectory)
    {
        IEnumerable<string> directories = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        if (!string.IsNullOrWhiteSpace(toolsDirectory))
        {
            directories = [toolsDirectory];
        }
        else if (Directory.Exists("/usr/lib/postgresql"))
        {
            directories = directories.Concat(Directory.GetDirectories("/usr/lib/postgresql")
                .OrderByDescending(d => int.TryParse(Path.GetFileName(d), out int major) ? major : 0)
                .Select(d => Path.Combine(d, "bin")));
        }

        return directories.Select(d => Path.Combine(d, program)).FirstOrDefault(File.Exists);
    }
}
