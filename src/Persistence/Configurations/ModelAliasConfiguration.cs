using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using TextClassification.Persistence.Entities;

namespace TextClassification.Persistence.Configurations;

internal sealed class ModelAliasConfiguration : IEntityTypeConfiguration<ModelAlias>
{
    public void Configure(EntityTypeBuilder<ModelAlias> builder)
    {
        builder.ToTable("model_aliases");
        builder.HasKey(a => new { a.ModelName, a.Alias });
        builder.Property(a => a.ModelName).HasMaxLength(64).IsOrdinalText();
        builder.Property(a => a.Alias).HasMaxLength(64).IsOrdinalText();

        // An alias always names a version that exists: deleting a version an alias points at fails in the database
        // too, not only in the endpoint's check, so a race between the two cannot leave an alias dangling.
        builder.HasOne<ModelVersion>()
            .WithMany()
            .HasForeignKey(a => new { a.ModelName, a.Version })
            .HasPrincipalKey(v => new { v.ModelName, v.Version })
            .OnDelete(DeleteBehavior.Restrict);
    }
}
