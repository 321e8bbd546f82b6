using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using TextClassification.Persistence.Entities;

namespace TextClassification.Persistence.Configurations;

internal sealed class WordVectorSetConfiguration : IEntityTypeConfiguration<WordVectorSet>
{
    public void Configure(EntityTypeBuilder<WordVectorSet> builder)
    {
        builder.ToTable("word_vector_sets");
        builder.HasKey(w => w.Id);
        builder.Property(w => w.Id).ValueGeneratedOnAdd();
        builder.Property(w => w.BaseModelSha256).HasMaxLength(64).IsOrdinalText();
        builder.Property(w => w.SettingsSha256).HasMaxLength(64).IsOrdinalText();
        builder.Property(w => w.ArtifactKey).HasMaxLength(512);
        builder.Property(w => w.Sha256).HasMaxLength(64);
        builder.HasIndex(w => new { w.BaseModelSha256, w.SettingsSha256 }).IsUnique();
    }
}
