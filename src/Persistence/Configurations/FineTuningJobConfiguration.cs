using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using TextClassification.Persistence.Entities;

namespace TextClassification.Persistence.Configurations;

internal sealed class FineTuningJobConfiguration : IEntityTypeConfiguration<FineTuningJob>
{
    public void Configure(EntityTypeBuilder<FineTuningJob> builder)
    {
        builder.ToTable("fine_tuning_jobs");
        builder.HasKey(j => j.Id);
        builder.Property(j => j.Id).HasMaxLength(64).IsOrdinalText();
        builder.Property(j => j.Status).HasConversion<string>().HasMaxLength(16);
        builder.Property(j => j.Model).HasMaxLength(64);
        builder.Property(j => j.BaseModel).HasMaxLength(80);
        builder.Property(j => j.Architecture).HasMaxLength(64);
        builder.Property(j => j.DistillFrom).HasMaxLength(80);
        builder.Property(j => j.UnlabelledDatasetId).HasMaxLength(64).IsOrdinalText();
        builder.Property(j => j.TrainingDatasetId).HasMaxLength(64).IsOrdinalText();
        builder.Property(j => j.ValidationDatasetId).HasMaxLength(64).IsOrdinalText();
        builder.Property(j => j.OutOfScopeLabel).HasMaxLength(256);
        builder.Property(j => j.Device).HasMaxLength(32);
        builder.Property(j => j.Worker).HasMaxLength(128);
        builder.Property(j => j.ErrorCode).HasMaxLength(64);
        builder.Property(j => j.LeaseOwner).HasMaxLength(256);
        builder.Property(j => j.BackgroundJobId).HasMaxLength(64);
        builder.Property(j => j.ConcurrencyStamp).IsConcurrencyToken();
        builder.Ignore(j => j.IsActive);

        // The datasets endpoint asks "is a queued or running job using this dataset?" before it deletes one.
        builder.HasIndex(j => new { j.TrainingDatasetId, j.Status });
        builder.HasIndex(j => new { j.ValidationDatasetId, j.Status });
        builder.HasIndex(j => new { j.UnlabelledDatasetId, j.Status });
        builder.HasIndex(j => j.Status);
        builder.Property(j => j.SweepId).HasMaxLength(64).IsOrdinalText();
        builder.HasIndex(j => j.SweepId);
    }
}
