using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace TextClassification.Persistence.Migrations.PostgreSql
{
    /// <inheritdoc />
    public partial class ModelVersions : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "model_versions",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    ModelName = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false, collation: "C"),
                    Version = table.Column<int>(type: "integer", nullable: false),
                    JobId = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false, collation: "C"),
                    Architecture = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    LabelsJson = table.Column<string>(type: "text", nullable: false),
                    MetricsJson = table.Column<string>(type: "text", nullable: false),
                    OutOfScopeThreshold = table.Column<double>(type: "double precision", nullable: true),
                    CheckpointArtifactKey = table.Column<string>(type: "character varying(512)", maxLength: 512, nullable: false),
                    CheckpointSha256 = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    CheckpointSizeBytes = table.Column<long>(type: "bigint", nullable: false),
                    CreatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_model_versions", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_model_versions_JobId",
                table: "model_versions",
                column: "JobId",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_model_versions_ModelName_Version",
                table: "model_versions",
                columns: new[] { "ModelName", "Version" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "model_versions");
        }
    }
}
