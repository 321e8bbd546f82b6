using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using TextClassification.Persistence.Entities;

namespace TextClassification.Persistence.Configurations;

internal sealed class HyperparameterSweepConfiguration : IEntityTypeConfiguration<HyperparameterSweep>
{
    public void Configure(EntityTypeBuilder<HyperparameterSweep> builder)
    {
        builder.ToTable("hyperparameter_sweeps");
        builder.HasKey(s => s.Id);
        builder.Property(s => s.Id).HasMaxLength(64).IsOrdinalText();
        builder.Property(s => s.Status).HasConversion<string>().HasMaxLength(16);
        builder.Property(s => s.Model).HasMaxLength(64);
        builder.Property(s => s.Method).HasMaxLength(16);
        builder.Property(s => s.ResultModel).HasMaxLength(64);
        builder.Property(s => s.EndReason).HasMaxLength(512);
        builder.Property(s => s.LeaseOwner).HasMaxLength(256);
        builder.Property(s => s.ConcurrencyStamp).IsConcurrencyToken();
        builder.Ignore(s => s.IsActive);

        // Every orchestrator tick asks for the running sweeps.
        builder.HasIndex(s => s.Status);
    }
}

internal sealed class SweepTrialConfiguration : IEntityTypeConfiguration<SweepTrial>
{
    public void Configure(EntityTypeBuilder<SweepTrial> builder)
    {
        builder.ToTable("sweep_trials");
        builder.HasKey(t => t.Id);
        builder.Property(t => t.SweepId).HasMaxLength(64).IsOrdinalText();
        builder.Property(t => t.JobId).HasMaxLength(64).IsOrdinalText();
        builder.Property(t => t.State).HasConversion<string>().HasMaxLength(16);

        // A trial number is taken once: two orchestrators that suggest the same trial cannot both save it.
        builder.HasIndex(t => new { t.SweepId, t.Number }).IsUnique();
        builder.HasIndex(t => t.JobId).IsUnique();
        builder.HasOne<HyperparameterSweep>().WithMany().HasForeignKey(t => t.SweepId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<FineTuningJob>().WithMany().HasForeignKey(t => t.JobId).OnDelete(DeleteBehavior.Cascade);
    }
}
