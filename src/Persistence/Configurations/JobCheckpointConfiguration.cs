using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using TextClassification.Persistence.Entities;

namespace TextClassification.Persistence.Configurations;

internal sealed class JobCheckpointConfiguration : IEntityTypeConfiguration<JobCheckpoint>
{
    public void Configure(EntityTypeBuilder<JobCheckpoint> builder)
    {
        builder.ToTable("job_checkpoints");
        builder.HasKey(c => c.Id);
        builder.Property(c => c.Id).ValueGeneratedOnAdd();
        builder.Property(c => c.JobId).HasMaxLength(64).IsOrdinalText();
        builder.Property(c => c.ArtifactKey).HasMaxLength(512);
        builder.Property(c => c.Sha256).HasMaxLength(64);
        builder.HasIndex(c => new { c.JobId, c.Epoch }).IsUnique();
        builder.HasOne<FineTuningJob>().WithMany().HasForeignKey(c => c.JobId).OnDelete(DeleteBehavior.Cascade);
    }
}
