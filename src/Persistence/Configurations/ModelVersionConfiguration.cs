using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using TextClassification.Persistence.Entities;

namespace TextClassification.Persistence.Configurations;

internal sealed class ModelVersionConfiguration : IEntityTypeConfiguration<ModelVersion>
{
    public void Configure(EntityTypeBuilder<ModelVersion> builder)
    {
        builder.ToTable("model_versions");
        builder.HasKey(v => v.Id);
        builder.Property(v => v.Id).ValueGeneratedOnAdd();
        builder.Property(v => v.ModelName).HasMaxLength(64).IsOrdinalText();
        builder.Property(v => v.JobId).HasMaxLength(64).IsOrdinalText();
        builder.Property(v => v.Architecture).HasMaxLength(64);
        builder.Property(v => v.CheckpointArtifactKey).HasMaxLength(512);
        builder.Property(v => v.CheckpointSha256).HasMaxLength(64);
        builder.Property(v => v.OnnxArtifactKey).HasMaxLength(512);
        builder.Property(v => v.OnnxSha256).HasMaxLength(64);
        builder.Property(v => v.QuantizedOnnxArtifactKey).HasMaxLength(512);
        builder.Property(v => v.Teacher).HasMaxLength(80);
        builder.Property(v => v.QuantizedOnnxSha256).HasMaxLength(64);

        // Two jobs publishing under one name at once race for the next number; this index lets only one win.
        builder.HasIndex(v => new { v.ModelName, v.Version }).IsUnique();
        builder.HasIndex(v => v.JobId).IsUnique();
    }
}
