using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace TextClassification.Persistence.Artifacts;

/// <summary>
/// Keeps a computed matrix (a teacher's logits over a dataset, a base model's outputs over its words) for whoever needs
/// it next: the floats as a <see cref="FloatMatrixFile"/> in the artifact store, and a row of a cache table that
/// identifies them and records the file's SHA-256 and length.
/// </summary>
public static class CachedMatrices
{
    /// <summary>
    /// Reads a stored matrix back, or null when it cannot be: its file is missing, does not match the SHA-256 and
    /// length its row records (damage, or two processes that stored it at once and computed it on different hardware),
    /// or holds another shape. The caller computes the matrix again and <see cref="SaveAsync"/> replaces the row, so a
    /// bad file costs one computation instead of failing every later reader.
    /// </summary>
    public static async Task<float[]?> TryReadAsync(IArtifactStore artifacts, string key, string sha256, long sizeBytes, int rows, int columns, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(artifacts);
        try
        {
            await using var stream = await artifacts.OpenReadAsync(key, sha256, sizeBytes, cancellationToken);
            return await FloatMatrixFile.ReadAsync(stream, rows, columns, cancellationToken);
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>
    /// Writes the file under <paramref name="key"/>, then records it: a row with the same identity (whose file went
    /// missing) is replaced; a row another process stored at the same moment wins, since it holds the same floats.
    /// </summary>
    /// <param name="artifacts">Where the file goes.</param>
    /// <param name="scopes">For the database context the row is saved with.</param>
    /// <param name="key">The file's artifact key, the same for the same identity.</param>
    /// <param name="values">Row-major <c>[rows, columns]</c>.</param>
    /// <param name="rows">Rows of the matrix.</param>
    /// <param name="columns">Columns of the matrix.</param>
    /// <param name="table">The cache table.</param>
    /// <param name="sameIdentity">Matches a row that identifies the same matrix.</param>
    /// <param name="row">The row for the stored file.</param>
    /// <param name="cancellationToken">Stops the write; a file not committed is not kept.</param>
    public static async Task SaveAsync<TRow>(
        IArtifactStore artifacts, IServiceScopeFactory scopes, string key, float[] values, int rows, int columns,
        Func<ServiceDbContext, DbSet<TRow>> table, Expression<Func<TRow, bool>> sameIdentity, Func<StoredArtifact, TRow> row,
        CancellationToken cancellationToken)
        where TRow : class
    {
        ArgumentNullException.ThrowIfNull(artifacts);
        ArgumentNullException.ThrowIfNull(scopes);
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(row);
        StoredArtifact stored;
        await using (var write = artifacts.BeginWrite(key))
        {
            await FloatMatrixFile.WriteAsync(write, values, rows, columns, cancellationToken);
            stored = await write.CommitAsync(cancellationToken);
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ServiceDbContext>();
        var set = table(db);
        var previous = await set.FirstOrDefaultAsync(sameIdentity, cancellationToken);
        if (previous is not null)
        {
            set.Remove(previous);
            await db.SaveChangesAsync(cancellationToken);
        }

        set.Add(row(stored));
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // Another process stored the same matrix at the same moment (the identity is unique); its floats are ours.
        }
    }
}
