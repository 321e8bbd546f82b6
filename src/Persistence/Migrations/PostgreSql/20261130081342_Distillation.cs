using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace TextClassification.Persistence.Migrations.PostgreSql
{
    /// <inheritdoc />
    public partial class Distillation : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "Teacher",
                table: "model_versions",
                type: "character varying(80)",
                maxLength: 80,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "DistillFrom",
                table: "fine_tuning_jobs",
                type: "character varying(80)",
                maxLength: 80,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "UnlabelledDatasetId",
                table: "fine_tuning_jobs",
                type: "character varying(64)",
                maxLength: 64,
                nullable: true,
                collation: "C");

            migrationBuilder.AddColumn<bool>(
                name: "TextOnly",
                table: "datasets",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.CreateTable(
                name: "teacher_outputs",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    TeacherOnnxSha256 = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false, collation: "C"),
                    DatasetSha256 = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false, collation: "C"),
                    Rows = table.Column<int>(type: "integer", nullable: false),
                    Labels = table.Column<int>(type: "integer", nullable: false),
                    ArtifactKey = table.Column<string>(type: "character varying(512)", maxLength: 512, nullable: false),
                    Sha256 = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    SizeBytes = table.Column<long>(type: "bigint", nullable: false),
                    CreatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_teacher_outputs", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_fine_tuning_jobs_UnlabelledDatasetId_Status",
                table: "fine_tuning_jobs",
                columns: new[] { "UnlabelledDatasetId", "Status" });

            migrationBuilder.CreateIndex(
                name: "IX_teacher_outputs_TeacherOnnxSha256_DatasetSha256",
                table: "teacher_outputs",
                columns: new[] { "TeacherOnnxSha256", "DatasetSha256" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "teacher_outputs");

            migrationBuilder.DropIndex(
                name: "IX_fine_tuning_jobs_UnlabelledDatasetId_Status",
                table: "fine_tuning_jobs");

            migrationBuilder.DropColumn(
                name: "Teacher",
                table: "model_versions");

            migrationBuilder.DropColumn(
                name: "DistillFrom",
                table: "fine_tuning_jobs");

            migrationBuilder.DropColumn(
                name: "UnlabelledDatasetId",
                table: "fine_tuning_jobs");

            migrationBuilder.DropColumn(
                name: "TextOnly",
                table: "datasets");
        }
    }
}
