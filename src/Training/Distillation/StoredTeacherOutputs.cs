using Microsoft.EntityFrameworkCore;
using TextClassification.Persistence;
using TextClassification.Persistence.Entities;

namespace TextClassification.Training.Distillation;

/// <summary>
/// The kept teacher outputs (<see cref="TeacherOutputCache"/>) that no job can read again once a version or a dataset is
/// deleted: a deleted teacher's outputs over every dataset (its logits over MiniLM's words for <c>word_vectors</c>
/// included), and every teacher's outputs over a deleted dataset. A transfer set's outputs go with their teacher; they
/// are identified by the transfer set, not by one dataset. The caller removes the rows with its own and deletes their
/// files after saving, as for its own files: a crash in between leaves unreferenced files, never a row without its file.
/// </summary>
public static class StoredTeacherOutputs
{
    /// <summary>Those computed by <paramref name="version"/>, unless another version has the very same ONNX file.</summary>
    public static async Task<List<TeacherOutputs>> ComputedByAsync(ServiceDbContext db, ModelVersion version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(version);
        if (version.OnnxSha256 is not { } sha256
            || await db.ModelVersions.AnyAsync(v => v.OnnxSha256 == sha256 && (v.ModelName != version.ModelName || v.Version != version.Version), cancellationToken))
        {
            return [];
        }

        return await db.TeacherOutputs.Where(t => t.TeacherOnnxSha256 == sha256).ToListAsync(cancellationToken);
    }

    /// <summary>Those computed over <paramref name="dataset"/>, unless another dataset has the very same stored file.</summary>
    public static async Task<List<TeacherOutputs>> ComputedOverAsync(ServiceDbContext db, Dataset dataset, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(dataset);
        if (await db.Datasets.AnyAsync(d => d.Sha256 == dataset.Sha256 && d.Id != dataset.Id, cancellationToken))
        {
            return [];
        }

        return await db.TeacherOutputs.Where(t => t.DatasetSha256 == dataset.Sha256).ToListAsync(cancellationToken);
    }
}
