using System.Formats.Tar;
using System.IO.Compression;

namespace TextClassification.Training.BaseModels;

/// <summary>The model folder taken out of an archive: where its files now are, and the names of every file it held.</summary>
/// <param name="Directory">Holds the extracted files the import reads (<see cref="HuggingFaceBertFolder.ReadFiles"/>).</param>
/// <param name="FileNames">Every file in the model folder, read or not (a pickle checkpoint is named, never extracted).</param>
public sealed record ExtractedFolder(string Directory, IReadOnlyList<string> FileNames);

/// <summary>
/// Takes a Hugging Face model folder out of an uploaded <c>.zip</c> or <c>.tar.gz</c>, defensively: an entry whose
/// name leaves the folder (<c>../</c>, an absolute path, a drive letter, a backslash), a link or a device is refused,
/// as is an archive that expands past <see cref="BaseModelsOptions.MaxExpandedBytes"/> (counted on the bytes actually
/// decompressed, never the sizes the archive claims) or holds more than <see cref="BaseModelsOptions.MaxArchiveEntries"/>
/// entries. Only the files the import reads are written out; the folder may sit at the archive's root or one or more
/// folders down (as <c>git archive</c> and <c>tar czf model.tar.gz bert-base-chinese/</c> make it).
/// </summary>
public static class ModelFolderArchive
{
    /// <summary>Takes the folder out of <paramref name="archivePath"/> into <paramref name="targetDirectory"/> (which must exist and be empty).</summary>
    /// <exception cref="BaseModelImportException">The archive is refused; the message names the entry.</exception>
    public static ExtractedFolder Extract(string archivePath, string targetDirectory, BaseModelsOptions limits)
    {
        ArgumentNullException.ThrowIfNull(archivePath);
        ArgumentNullException.ThrowIfNull(targetDirectory);
        ArgumentNullException.ThrowIfNull(limits);
        Span<byte> magic = stackalloc byte[4];
        int read;
        using (var probe = File.OpenRead(archivePath))
        {
            read = probe.ReadAtLeast(magic, 4, throwOnEndOfStream: false);
        }

        var extraction = new Extraction(targetDirectory, limits);
        try
        {
            if (read == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4)
            {
                extraction.ReadZip(archivePath);
            }
            else if (read >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
            {
                extraction.ReadTarGz(archivePath);
            }
            else
            {
                throw Invalid("file", "The upload is neither a .zip nor a .tar.gz archive.");
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
        {
            throw Invalid("file", $"The archive is damaged: {e.Message}");
        }

        return extraction.Finish();
    }

    /// <summary>
    /// The folder-relative name of an entry, or a refusal: names are '/'-separated and relative, with no '..' segment,
    /// no drive letter, no backslash and no NUL. A leading "./" and "." segments are dropped.
    /// </summary>
    internal static string Normalize(string entryName)
    {
        if (entryName.Length == 0 || entryName.Contains('\0') || entryName.Contains('\\'))
        {
            throw Invalid($"archive:{entryName}", $"The entry '{entryName}' has a name no model folder has (a backslash or NUL); it is refused.");
        }

        if (entryName.StartsWith('/') || (entryName.Length >= 2 && entryName[1] == ':'))
        {
            throw Invalid($"archive:{entryName}", $"The entry '{entryName}' has an absolute path; entries must stay inside the model folder.");
        }

        var segments = entryName.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(s => s != ".").ToList();
        if (segments.Contains(".."))
        {
            throw Invalid($"archive:{entryName}", $"The entry '{entryName}' climbs out of the folder with '..'; it is refused.");
        }

        return string.Join('/', segments);
    }

    private static BaseModelImportException Invalid(string where, string message) => new(BaseModelRefusal.Invalid, where, message);

    /// <summary>
    /// The state of one extraction: entries seen, files written, and the bytes decompressed (a zip's entries that are
    /// read, a tar.gz's whole stream, since skipping a tar entry still decompresses it).
    /// </summary>
    private sealed class Extraction(string targetDirectory, BaseModelsOptions limits)
    {
        private readonly string root = Path.GetFullPath(targetDirectory);
        private readonly List<string> files = [];
        private readonly Dictionary<string, string> extracted = new(StringComparer.Ordinal);
        // What every decompressing stream of this archive has yielded so far, counted against MaxExpandedBytes.
        private readonly ExpansionBudget budget = new(limits.MaxExpandedBytes);
        private int entries;

        public void ReadZip(string archivePath)
        {
            using var zip = ZipFile.OpenRead(archivePath);
            foreach (var entry in zip.Entries)
            {
                CountEntry(entry.FullName);
                // The upper half of the external attributes is the Unix mode when a Unix tool made the archive.
                int unixType = (int)((uint)entry.ExternalAttributes >> 16) & 0xF000;
                if (unixType == 0xA000)
                {
                    throw Invalid($"archive:{entry.FullName}", $"The entry '{entry.FullName}' is a symbolic link; links are refused.");
                }

                string name = Normalize(entry.FullName);
                if (entry.FullName.EndsWith('/') || name.Length == 0)
                {
                    continue;
                }

                files.Add(name);
                if (IsRead(name))
                {
                    using var source = new LimitedReadStream(entry.Open(), budget);
                    Write(name, source);
                }
            }
        }

        public void ReadTarGz(string archivePath)
        {
            using var file = File.OpenRead(archivePath);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            // Everything the gzip stream yields counts, skipped entries included: skipping still decompresses them.
            using var counted = new LimitedReadStream(gzip, budget);
            using var tar = new TarReader(counted);
            while (tar.GetNextEntry() is { } entry)
            {
                CountEntry(entry.Name);
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        Normalize(entry.Name);
                        continue;
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                        break;
                    case TarEntryType.SymbolicLink or TarEntryType.HardLink:
                        throw Invalid($"archive:{entry.Name}", $"The entry '{entry.Name}' is a link (to '{entry.LinkName}'); links are refused.");
                    default:
                        throw Invalid($"archive:{entry.Name}", $"The entry '{entry.Name}' is a {entry.EntryType}, not a file; it is refused.");
                }

                string name = Normalize(entry.Name);
                files.Add(name);
                if (IsRead(name) && entry.DataStream is { } data)
                {
                    Write(name, data);
                }
            }
        }

        /// <summary>The one folder that holds a config.json; its files are the model's.</summary>
        public ExtractedFolder Finish()
        {
            var folders = files.Where(f => FileName(f) == HuggingFaceBertFolder.ConfigFile).Select(Parent).Distinct().ToList();
            if (folders.Count == 0)
            {
                throw Invalid(HuggingFaceBertFolder.ConfigFile, "The archive holds no config.json: upload a Hugging Face model folder (config.json, model.safetensors, vocab.txt).");
            }

            if (folders.Count > 1)
            {
                throw Invalid("archive", $"The archive holds {folders.Count} model folders ({string.Join(", ", folders.Select(f => f.Length == 0 ? "(root)" : f))}); upload one.");
            }

            string folder = folders[0];
            string directory = folder.Length == 0 ? root : Path.Combine(root, folder);
            var names = files.Where(f => Parent(f) == folder).Select(FileName).ToList();
            return new ExtractedFolder(directory, names);
        }

        private void CountEntry(string name)
        {
            if (++entries > limits.MaxArchiveEntries)
            {
                throw new BaseModelImportException(BaseModelRefusal.TooLarge, $"archive:{name}",
                    $"The archive holds more than {limits.MaxArchiveEntries} entries (BaseModels:MaxArchiveEntries).");
            }
        }

        private static bool IsRead(string name) => HuggingFaceBertFolder.ReadFiles.Contains(FileName(name));

        private void Write(string name, Stream source)
        {
            if (!extracted.TryAdd(name, name))
            {
                throw Invalid($"archive:{name}", $"The archive holds '{name}' twice.");
            }

            string path = Path.GetFullPath(Path.Combine(root, name));
            // Normalize already refused every name that could leave the folder; this is the last line of defence.
            if (!path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw Invalid($"archive:{name}", $"The entry '{name}' would be written outside the folder.");
            }

            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using var target = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
            byte[] buffer = new byte[1 << 16];
            int read;
            while ((read = source.Read(buffer)) > 0)
            {
                target.Write(buffer, 0, read);
            }
        }


        private static string FileName(string name) => name[(name.LastIndexOf('/') + 1)..];

        private static string Parent(string name) => name.LastIndexOf('/') is var slash and >= 0 ? name[..slash] : string.Empty;
    }

    /// <summary>Bytes an archive may still expand to, shared by every stream that decompresses part of it.</summary>
    private sealed class ExpansionBudget(long limit)
    {
        private long used;

        public void Spend(int bytes)
        {
            used += bytes;
            if (used > limit)
            {
                throw new BaseModelImportException(BaseModelRefusal.TooLarge, "archive",
                    $"The archive expands past {limit} bytes (BaseModels:MaxExpandedBytes); it is refused.");
            }
        }
    }

    /// <summary>A read-only view of a decompressing stream that spends what it yields from the archive's budget; disposes the stream.</summary>
    private sealed class LimitedReadStream(Stream inner, ExpansionBudget budget) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int read = inner.Read(buffer);
            BytesRead += read;
            budget.Spend(read);
            return read;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
