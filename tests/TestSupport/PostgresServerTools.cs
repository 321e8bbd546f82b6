namespace TextClassification.TestSupport;

/// <summary>
/// The local PostgreSQL server programs (<c>initdb</c>, <c>pg_ctl</c>, <c>postgres</c>) and the account they run as.
/// PostgreSQL refuses to run as root, and the suite runs as root in CI, so a root process runs them through
/// <c>runuser</c> as <see cref="UnprivilegedUser"/>, creating that system account if it is missing; any other user
/// runs them directly.
/// </summary>
internal sealed class PostgresServerTools
{
    /// <summary>The account a root process runs the server as; <c>.ci/run</c> creates it too.</summary>
    public const string UnprivilegedUser = "pgtest";

    private static readonly string[] SystemBinDirectories = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

    private readonly string _binDirectory;
    private readonly string? _runuser;

    private PostgresServerTools(string binDirectory, string? runAsUser, string? runuser)
    {
        _binDirectory = binDirectory;
        RunAsUser = runAsUser;
        _runuser = runuser;
    }

    /// <summary>The account the server runs as, or null when it runs as the current user.</summary>
    public string? RunAsUser { get; }

    public static async Task<PostgresServerTools> LocateAsync(CancellationToken cancellationToken)
    {
        var binDirectory = FindBinDirectory();
        if (!Environment.IsPrivilegedProcess)
        {
            return new PostgresServerTools(binDirectory, runAsUser: null, runuser: null);
        }

        var runuser = ExternalCommand.Find("runuser", SystemBinDirectories)
            ?? throw new InvalidOperationException(
                "The tests run as root, and PostgreSQL must not: runuser (util-linux) is needed to start it as another user.");
        await EnsureUserExistsAsync(UnprivilegedUser, cancellationToken);
        return new PostgresServerTools(binDirectory, UnprivilegedUser, runuser);
    }

    /// <summary>Runs one of the server programs as <see cref="RunAsUser"/>.</summary>
    public Task<CommandResult> RunAsync(
        string program, IEnumerable<string> arguments, string workingDirectory, CancellationToken cancellationToken)
    {
        var programPath = Path.Combine(_binDirectory, program);
        return _runuser is null
            ? ExternalCommand.RunAsync(programPath, arguments, workingDirectory, cancellationToken)
            : ExternalCommand.RunAsync(
                _runuser, ["-u", RunAsUser!, "--", programPath, .. arguments], workingDirectory, cancellationToken);
    }

    /// <summary>Hands <paramref name="directory"/> and everything in it to <see cref="RunAsUser"/>.</summary>
    public async Task GiveOwnershipAsync(string directory, CancellationToken cancellationToken)
    {
        if (RunAsUser is null)
        {
            return;
        }

        // "user:" is the user and its login group.
        var result = await ExternalCommand.RunAsync("chown", ["-R", $"{RunAsUser}:", directory], null, cancellationToken);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"chown of {directory} to {RunAsUser} failed: {result.Output}");
        }
    }

    /// <summary>
    /// The directory of the first <c>initdb</c> on PATH, symbolic links resolved so that <c>pg_ctl</c> and
    /// <c>postgres</c> come from the same installation; else the newest <c>/usr/lib/postgresql/*/bin</c>.
    /// </summary>
    private static string FindBinDirectory()
    {
        if (ExternalCommand.Find("initdb") is { } initdb)
        {
            var target = File.ResolveLinkTarget(initdb, returnFinalTarget: true)?.FullName ?? initdb;
            var directory = Path.GetDirectoryName(target)!;
            if (HasServerPrograms(directory))
            {
                return directory;
            }
        }

        const string DebianRoot = "/usr/lib/postgresql";
        var installed = Directory.Exists(DebianRoot)
            ? Directory.GetDirectories(DebianRoot)
                .Select(version => (Version: int.TryParse(Path.GetFileName(version), out var number) ? number : 0,
                    Bin: Path.Combine(version, "bin")))
                .Where(candidate => HasServerPrograms(candidate.Bin))
                .OrderByDescending(candidate => candidate.Version)
                .Select(candidate => candidate.Bin)
                .FirstOrDefault()
            : null;
        return installed ?? throw new InvalidOperationException(
            "No PostgreSQL server programs (initdb, pg_ctl, postgres) on PATH or in /usr/lib/postgresql/*/bin. " +
            "Install the server (apt-get install postgresql), as .ci/run does.");
    }

    private static bool HasServerPrograms(string directory) =>
        new[] { "initdb", "pg_ctl", "postgres" }.All(program => File.Exists(Path.Combine(directory, program)));

    /// <summary>
    /// Creates the system account when it is missing. Test assemblies run in parallel processes that may all try at
    /// once; useradd then fails on its lock or on the name already taken, so a failure is checked again, not trusted.
    /// </summary>
    private static async Task EnsureUserExistsAsync(string user, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            if ((await ExternalCommand.RunAsync("id", ["-u", user], null, cancellationToken)).Succeeded)
            {
                return;
            }

            var useradd = ExternalCommand.Find("useradd", SystemBinDirectories) ?? "useradd";
            var added = await ExternalCommand.RunAsync(
                useradd,
                ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
                null,
                cancellationToken);
            if (added.Succeeded)
            {
                return;
            }

            if (attempt == 5)
            {
                throw new InvalidOperationException($"Could not create the system user '{user}': {added.Output}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), cancellationToken);
        }
    }
}
