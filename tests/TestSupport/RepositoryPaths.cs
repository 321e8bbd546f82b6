namespace TextClassification.TestSupport;

/// <summary>Where the repository and the data shared beside it are, found from the test binaries' location.</summary>
public static class RepositoryPaths
{
    private const string SolutionFile = "Service.sln";

    private static readonly Lazy<string> RootDirectory = new(FindRoot);

    /// <summary>The directory that holds <c>Service.sln</c>.</summary>
    public static string Root => RootDirectory.Value;

    /// <summary>The data sets kept outside the repository, in <c>&lt;root&gt;/../shared/datasets</c>.</summary>
    public static string SharedDatasets => Path.GetFullPath(Path.Combine(Root, "..", "shared", "datasets"));

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, SolutionFile)))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException(
            $"No {SolutionFile} in {AppContext.BaseDirectory} or any directory above it; the tests must run from a build inside the repository.");
    }
}
