using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using TextClassification.Persistence.Entities;

namespace TextClassification.Persistence.Configurations;

internal sealed class UploadedBaseModelConfiguration : IEntityTypeConfiguration<UploadedBaseModel>
{
    public void Configure(EntityTypeBuilder<UploadedBaseModel> builder)
    {
        builder.ToTable("base_models");
        builder.HasKey(m => m.Id);
        builder.Property(m => m.Id).HasMaxLength(64).IsOrdinalText();
        builder.Property(m => m.Architecture).HasMaxLength(32);
        builder.Property(m => m.License).HasMaxLength(256);
        builder.Property(m => m.Source).HasMaxLength(1024);
        builder.Property(m => m.WeightsArtifactKey).HasMaxLength(512);
        builder.Property(m => m.WeightsSha256).HasMaxLength(64);
        builder.Property(m => m.VocabularyArtifactKey).HasMaxLength(512);
        builder.Property(m => m.VocabularySha256).HasMaxLength(64);
        builder.Property(m => m.ArchiveSha256).HasMaxLength(64);
    }
}
