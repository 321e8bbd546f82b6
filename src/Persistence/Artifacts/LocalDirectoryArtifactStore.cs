using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace TextClassification.Persistence.Artifacts;

/// <summary>
/// Artifacts as files under one directory. Writes go to a temporary file beside the target and are renamed into
/// place, so a reader never sees half a file and a crash leaves at worst a stray temporary file.
/// </summary>
public sealed class LocalDirectoryArtifactStore : IArtifactStore
{
    private const string TemporarySuffix = ".partial";
    private readonly string _root;

    public LocalDirectoryArtifactStore(IOptions<PersistenceOptions> options)
        : this(options.Value.ResolvedArtifactsDirectory)
    {
    }

    public LocalDirectoryArtifactStore(string rootDirectory)
    {
        _root = Path.GetFullPath(rootDirectory);
        Directory.CreateDirectory(_root);
    }

    public ArtifactWrite BeginWrite(string key)
    {
        string path = PathFor(key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return new LocalWrite(key, path, $"{path}.{Guid.NewGuid():N}{TemporarySuffix}");
    }

    public async Task<Stream> OpenReadAsync(string key, string expectedSha256, long expectedSizeBytes, CancellationToken cancellationToken = default)
    {
        string path = PathFor(key);
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ArtifactNotFoundException(key);
        }

        try
        {
            long length = file.Length;
            if (length != expectedSizeBytes)
            {
                throw new ArtifactIntegrityException(key, expectedSha256, $"unknown (the file holds {length} bytes, not {expectedSizeBytes})");
            }

            string actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken));
            if (!string.Equals(actual, expectedSha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new ArtifactIntegrityException(key, expectedSha256, actual);
            }

            file.Position = 0;
            return file;
        }
        catch
        {
            await file.DisposeAsync();
            throw;
        }
    }

    public void Delete(string key)
    {
        File.Delete(PathFor(key));
    }

    public bool Exists(string key) => File.Exists(PathFor(key));

    /// <summary>Keys are relative paths of lowercase letters, digits, '.', '_', '-' and '/'; nothing can climb out of the root.</summary>
    private string PathFor(string key)
    {
        if (string.IsNullOrEmpty(key)
            || key.Length > 400
            || key.StartsWith('/')
            || key.Contains("..", StringComparison.Ordinal)
            || key.AsSpan().IndexOfAnyExcept("abcdefghijklmnopqrstuvwxyz0123456789._-/") >= 0)
        {
            throw new ArgumentException($"'{key}' is not a valid artifact key.", nameof(key));
        }

        return Path.Combine(_root, key);
    }

    private sealed class LocalWrite(string key, string finalPath, string temporaryPath) : ArtifactWrite(key)
    {
        private readonly FileStream _file = new(temporaryPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);

        protected override Stream Destination => _file;

        protected override async Task PublishAsync(CancellationToken cancellationToken)
        {
            await _file.FlushAsync(cancellationToken);
            _file.Flush(flushToDisk: true);
            await _file.DisposeAsync();
            File.Move(temporaryPath, finalPath, overwrite: true);
        }

        protected override void Discard()
        {
            _file.Dispose();
            File.Delete(temporaryPath);
        }

        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            if (disposing)
            {
                _file.Dispose();
            }
        }
    }
}
