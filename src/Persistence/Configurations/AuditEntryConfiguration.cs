using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using TextClassification.Persistence.Entities;

namespace TextClassification.Persistence.Configurations;

internal sealed class AuditEntryConfiguration : IEntityTypeConfiguration<AuditEntry>
{
    public void Configure(EntityTypeBuilder<AuditEntry> builder)
    {
        builder.ToTable("audit_entries");
        builder.HasKey(e => e.Id);
        builder.Property(e => e.Id).HasMaxLength(64).IsOrdinalText();
        builder.Property(e => e.Actor).HasMaxLength(64);
        builder.Property(e => e.Action).HasMaxLength(64);
        builder.Property(e => e.ResourceType).HasMaxLength(64);
        builder.Property(e => e.ResourceId).HasMaxLength(256);
        builder.Property(e => e.RemoteIp).HasMaxLength(64);
        builder.Property(e => e.Details).HasJsonConversion();

        // The audit list filters by action or by resource, newest first.
        builder.HasIndex(e => new { e.Action, e.Id });
        builder.HasIndex(e => new { e.ResourceType, e.ResourceId, e.Id });
    }
}
