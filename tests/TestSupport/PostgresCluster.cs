using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace TextClassification.TestSupport;

/// <summary>
/// A throwaway PostgreSQL cluster that the suite starts itself from the local server programs: <c>initdb</c> into a
/// fresh temporary directory, then a server on a free port of 127.0.0.1 with trust authentication for the
/// <c>postgres</c> superuser and durability switched off (a test database never has to survive a crash).
/// Dispose stops the server and deletes every file.
/// </summary>
/// <remarks>
/// PostgreSQL refuses to run as root. When the test process is root (as in CI) the server programs run through
/// <c>runuser</c> as the system user <c>pgtest</c>, created if missing, which owns the cluster's directory; otherwise
/// they run as the current user. A cluster whose test process died without disposing it is removed by the next
/// <see cref="StartAsync"/>.
/// </remarks>
public sealed class PostgresCluster : IAsyncDisposable
{
    private const string Superuser = "postgres";
    private const string MaintenanceDatabase = "postgres";
    private const string DirectoryPrefix = "pgcluster-";
    private const int PortAttempts = 3;
    private const int LogTailCharacters = 8_000;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    private readonly PostgresServerTools _tools;
    private readonly string _rootDirectory;

    // Serialises stop, start again and dispose, so that a test simulating an outage cannot race the teardown.
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private bool _disposed;

    private PostgresCluster(PostgresServerTools tools, string rootDirectory)
    {
        _tools = tools;
        _rootDirectory = rootDirectory;
    }

    /// <summary>The TCP port on 127.0.0.1; it stays the same across <see cref="StopAsync"/> and <see cref="StartAgainAsync"/>.</summary>
    public int Port { get; private set; }

    /// <summary>Whether the server is up: true after start, false between <see cref="StopAsync"/> and <see cref="StartAgainAsync"/>.</summary>
    public bool IsRunning { get; private set; }

    private string DataDirectory => Path.Combine(_rootDirectory, "data");

    private string SocketDirectory => Path.Combine(_rootDirectory, "socket");

    private string LogFile => Path.Combine(_rootDirectory, "postgres.log");

    private string AdminConnectionString =>
        new NpgsqlConnectionStringBuilder(ConnectionStringFor(MaintenanceDatabase)) { Pooling = false }.ConnectionString;

    /// <summary>Creates a new cluster and returns once it accepts connections (a couple of seconds).</summary>
    /// <exception cref="InvalidOperationException">
    /// The server programs are missing or a step failed; the message holds the program's output and the server log.
    /// </exception>
    public static async Task<PostgresCluster> StartAsync(CancellationToken cancellationToken = default)
    {
        var tools = await PostgresServerTools.LocateAsync(cancellationToken);
        var parent = ParentDirectory(tools);
        RemoveAbandonedClusters(parent);

        // The owning process id is in the name so that a later run can tell an abandoned cluster from a live one.
        var root = Path.Combine(parent, $"{DirectoryPrefix}{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..12]}");
        var cluster = new PostgresCluster(tools, root);
        try
        {
            Directory.CreateDirectory(cluster.SocketDirectory);
            await tools.GiveOwnershipAsync(root, cancellationToken);
            await cluster.InitializeDataDirectoryAsync(cancellationToken);
            await cluster.StartOnFreePortAsync(cancellationToken);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>A connection string for <paramref name="database"/> as the superuser, over TCP.</summary>
    public string ConnectionStringFor(string database) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = IPAddress.Loopback.ToString(),
            Port = Port,
            Username = Superuser,
            Database = database,
            IncludeErrorDetail = true,
        }.ConnectionString;

    /// <summary>Creates an empty database with a unique name and returns its connection string.</summary>
    /// <param name="namePrefix">Starts the name, to tell the databases apart while debugging; made a valid identifier.</param>
    public async Task<string> CreateDatabaseAsync(string? namePrefix = null, CancellationToken cancellationToken = default)
    {
        var name = NewDatabaseName(namePrefix);
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return ConnectionStringFor(name);
    }

    /// <summary>
    /// Shuts the server down (fast mode: open sessions are ended), keeping its files, to simulate a database outage.
    /// Does nothing when it is already stopped.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!IsRunning)
            {
                return;
            }

            var logOffset = LogLength();
            var result = await _tools.RunAsync(
                "pg_ctl", ["stop", "-w", "-t", "60", "-m", "fast", "-D", DataDirectory], _rootDirectory, cancellationToken);
            if (!result.Succeeded)
            {
                throw new InvalidOperationException(Describe("pg_ctl stop", result, logOffset));
            }

            IsRunning = false;
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Starts the stopped server again on the same <see cref="Port"/> and returns once it accepts connections.
    /// Does nothing when it is running.
    /// </summary>
    public async Task StartAgainAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (IsRunning)
            {
                return;
            }

            if (await TryStartServerAsync(cancellationToken) is { } failure)
            {
                throw new InvalidOperationException(failure);
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Stops the server at once (immediate mode), kills it if that fails, and deletes the cluster's directory.
    /// Safe to call more than once.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await _lifecycle.WaitAsync();
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (File.Exists(PidFile(DataDirectory)))
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                try
                {
                    await _tools.RunAsync(
                        "pg_ctl", ["stop", "-w", "-t", "20", "-m", "immediate", "-D", DataDirectory], _rootDirectory, timeout.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or InvalidOperationException or Win32Exception)
                {
                    // Killed below.
                }
            }

            // Whatever pg_ctl managed, no server may outlive its directory.
            KillServer(DataDirectory);
            TempDirectory.DeleteBestEffort(_rootDirectory);
            IsRunning = false;
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private async Task InitializeDataDirectoryAsync(CancellationToken cancellationToken)
    {
        var result = await _tools.RunAsync(
            "initdb",
            ["-D", DataDirectory, "-A", "trust", "-U", Superuser, "-E", "UTF8", "--locale=C", "--no-sync"],
            _rootDirectory,
            cancellationToken);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException(Describe("initdb", result, logOffset: 0));
        }
    }

    private async Task StartOnFreePortAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            Port = FindFreePort();
            var failure = await TryStartServerAsync(cancellationToken);
            if (failure is null)
            {
                return;
            }

            // Another process can take the port between the probe and the server binding it; a new port fixes that.
            if (attempt == PortAttempts || !failure.Contains("Address already in use", StringComparison.Ordinal))
            {
                throw new InvalidOperationException(failure);
            }
        }
    }

    /// <summary>Starts the server on <see cref="Port"/>; returns null once it accepts connections, else why not.</summary>
    private async Task<string?> TryStartServerAsync(CancellationToken cancellationToken)
    {
        // pg_ctl hands these to the server through a shell, hence the quotes around the path.
        string[] options =
        [
            $"-p {Port}",
            $"-k '{SocketDirectory}'",
            "-c listen_addresses=127.0.0.1",
            "-c fsync=off",
            "-c synchronous_commit=off",
            "-c full_page_writes=off",
            "-c max_connections=200",
        ];
        var logOffset = LogLength();
        var result = await _tools.RunAsync(
            "pg_ctl",
            ["start", "-w", "-t", "60", "-D", DataDirectory, "-l", LogFile, "-o", string.Join(' ', options)],
            _rootDirectory,
            cancellationToken);
        if (!result.Succeeded)
        {
            return Describe("pg_ctl start", result, logOffset);
        }

        IsRunning = true;
        await WaitUntilAcceptingConnectionsAsync(logOffset, cancellationToken);
        return null;
    }

    /// <summary>pg_ctl -w already waits for the server to say it is ready; this proves a client gets in too.</summary>
    private async Task WaitUntilAcceptingConnectionsAsync(long logOffset, CancellationToken cancellationToken)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(AdminConnectionString);
                await connection.OpenAsync(cancellationToken);
                await using var command = new NpgsqlCommand("SELECT 1", connection);
                await command.ExecuteScalarAsync(cancellationToken);
                return;
            }
            catch (NpgsqlException e)
            {
                if (waited.Elapsed > ReadyTimeout)
                {
                    throw new InvalidOperationException(
                        $"The server on port {Port} did not accept connections within {ReadyTimeout.TotalSeconds} s." +
                        $"{Environment.NewLine}--- server log ({LogFile}) ---{Environment.NewLine}{ReadLog(logOffset)}",
                        e);
                }

                await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
            }
        }
    }

    private string Describe(string step, CommandResult result, long logOffset) =>
        $"{step} failed with exit code {result.ExitCode} (cluster {_rootDirectory}).{Environment.NewLine}" +
        $"{result.Output}{Environment.NewLine}--- server log ({LogFile}) ---{Environment.NewLine}{ReadLog(logOffset)}";

    private long LogLength() => File.Exists(LogFile) ? new FileInfo(LogFile).Length : 0;

    /// <summary>What the server logged since <paramref name="offset"/> (this attempt only), at most the last few KB.</summary>
    private string ReadLog(long offset)
    {
        if (!File.Exists(LogFile))
        {
            return "(none yet)";
        }

        try
        {
            using var stream = File.OpenRead(LogFile);
            stream.Seek(Math.Min(offset, stream.Length), SeekOrigin.Begin);
            var text = new StreamReader(stream).ReadToEnd();
            return text.Length > LogTailCharacters ? "…" + text[^LogTailCharacters..] : text;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"(not readable: {e.Message})";
        }
    }

    private static string NewDatabaseName(string? namePrefix)
    {
        var prefix = new string((namePrefix ?? "test").ToLowerInvariant()
            .Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_')
            .ToArray());
        if (prefix.Length == 0 || !char.IsAsciiLetter(prefix[0]))
        {
            prefix = "db_" + prefix;
        }

        // 63 bytes is PostgreSQL's limit on identifiers: at most 30 of prefix, a separator and 32 of unique part.
        return $"{prefix[..Math.Min(prefix.Length, 30)]}_{Guid.NewGuid():N}";
    }

    private static int FindFreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>
    /// The system temporary directory, unless the server's account could not reach into it (a TMPDIR private to
    /// root), in which case /tmp.
    /// </summary>
    private static string ParentDirectory(PostgresServerTools tools)
    {
        var temporary = Path.GetTempPath();
        return tools.RunAsUser is null || IsSearchableByEveryone(temporary) ? temporary : "/tmp";
    }

    private static bool IsSearchableByEveryone(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return true;
        }

        for (var directory = new DirectoryInfo(path); directory is not null; directory = directory.Parent)
        {
            if (!directory.UnixFileMode.HasFlag(UnixFileMode.OtherExecute))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Removes the clusters that test processes no longer alive left behind (a killed run never disposes).</summary>
    private static void RemoveAbandonedClusters(string parent)
    {
        try
        {
            foreach (var directory in Directory.EnumerateDirectories(parent, DirectoryPrefix + "*"))
            {
                var owner = Path.GetFileName(directory)[DirectoryPrefix.Length..].Split('-')[0];
                if (!int.TryParse(owner, out var ownerId) || Directory.Exists($"/proc/{ownerId}"))
                {
                    continue;
                }

                KillServer(Path.Combine(directory, "data"));
                TempDirectory.DeleteBestEffort(directory);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: another user's leftovers are not ours to remove.
        }
    }

    private static string PidFile(string dataDirectory) => Path.Combine(dataDirectory, "postmaster.pid");

    /// <summary>
    /// Kills the postmaster of <paramref name="dataDirectory"/> and its backends, if one is still running.
    /// postmaster.pid outlives a killed server and its number may since belong to another process, so only a process
    /// whose command line names this data directory is killed.
    /// </summary>
    private static void KillServer(string dataDirectory)
    {
        try
        {
            var firstLine = File.Exists(PidFile(dataDirectory)) ? File.ReadLines(PidFile(dataDirectory)).FirstOrDefault() : null;
            if (!int.TryParse(firstLine, out var processId))
            {
                return;
            }

            var commandLine = File.ReadAllText($"/proc/{processId}/cmdline").Replace('\0', ' ');
            if (!commandLine.Contains(dataDirectory, StringComparison.Ordinal))
            {
                return;
            }

            using var process = Process.GetProcessById(processId);
            process.Kill(entireProcessTree: true);
            process.WaitForExit(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException
                                      or InvalidOperationException or Win32Exception)
        {
            // Gone already, or not ours to kill.
        }
    }
}
