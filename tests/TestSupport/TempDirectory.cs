namespace TextClassification.TestSupport;

/// <summary>
/// A uniquely named directory under the system temporary directory, removed with everything in it on dispose.
/// </summary>
public sealed class TempDirectory : IDisposable
{
    /// <param name="prefix">Starts the directory's name, to tell leftovers apart when a run is killed.</param>
    public TempDirectory(string? prefix = null) =>
        Path = Directory.CreateTempSubdirectory($"{prefix ?? "test"}-").FullName;

    /// <summary>The directory's absolute path.</summary>
    public string Path { get; }

    /// <summary>The absolute path of <paramref name="relativePath"/> inside this directory.</summary>
    public string Combine(string relativePath) => System.IO.Path.Combine(Path, relativePath);

    /// <summary>
    /// Deletes the directory. Best effort: a file still being written can make one attempt fail, and a test must not
    /// fail over cleaning up, so it retries briefly and then leaves the directory behind.
    /// </summary>
    public void Dispose() => DeleteBestEffort(Path);

    internal static void DeleteBestEffort(string path)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                Directory.Delete(path, recursive: true);
                return;
            }
            catch (DirectoryNotFoundException)
            {
                return;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                if (attempt == 3)
                {
                    return;
                }

                Thread.Sleep(50 * attempt);
            }
        }
    }
}
