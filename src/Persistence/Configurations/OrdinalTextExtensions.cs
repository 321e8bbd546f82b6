using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace TextClassification.Persistence.Configurations;

internal static class OrdinalTextExtensions
{
    /// <summary>
    /// Ids are compared and sorted for cursor paging. PostgreSQL would otherwise use the database's locale collation,
    /// whose order need not be the ordinal order the ids are built for; SQLite compares bytes already.
    /// The annotation is read by <see cref="PostgresServiceDbContext"/>, which turns it into <c>COLLATE "C"</c>.
    /// </summary>
    public static PropertyBuilder<T> IsOrdinalText<T>(this PropertyBuilder<T> property) =>
        property.HasAnnotation(OrdinalTextAnnotation, true);

    public const string OrdinalTextAnnotation = "TextClassification:OrdinalText";
}
