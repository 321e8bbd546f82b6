using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using TextClassification.Persistence.Entities;

namespace TextClassification.Persistence.Configurations;

internal sealed class DatasetConfiguration : IEntityTypeConfiguration<Dataset>
{
    public void Configure(EntityTypeBuilder<Dataset> builder)
    {
        builder.ToTable("datasets");
        builder.HasKey(d => d.Id);
        builder.Property(d => d.Id).HasMaxLength(64).IsOrdinalText();
        builder.Property(d => d.Name).HasMaxLength(256);
        builder.Property(d => d.Format).HasMaxLength(16);
        builder.Property(d => d.Status).HasConversion<string>().HasMaxLength(16);
        builder.Property(d => d.Sha256).HasMaxLength(64);
        builder.Property(d => d.ArtifactKey).HasMaxLength(512);
        builder.Property(d => d.PiiRedacted).HasJsonConversion();
        builder.Property(d => d.Labels).HasJsonConversion();
        builder.Property(d => d.TextLength).HasJsonConversion();
        builder.Property(d => d.Problems).HasJsonConversion();
    }
}
