using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using TextClassification.Persistence.Entities;

namespace TextClassification.Persistence.Configurations;

internal sealed class TeacherOutputsConfiguration : IEntityTypeConfiguration<TeacherOutputs>
{
    public void Configure(EntityTypeBuilder<TeacherOutputs> builder)
    {
        builder.ToTable("teacher_outputs");
        builder.HasKey(t => t.Id);
        builder.Property(t => t.Id).ValueGeneratedOnAdd();
        builder.Property(t => t.TeacherOnnxSha256).HasMaxLength(64).IsOrdinalText();
        builder.Property(t => t.DatasetSha256).HasMaxLength(64).IsOrdinalText();
        builder.Property(t => t.ArtifactKey).HasMaxLength(512);
        builder.Property(t => t.Sha256).HasMaxLength(64);
        builder.HasIndex(t => new { t.TeacherOnnxSha256, t.DatasetSha256 }).IsUnique();
    }
}
