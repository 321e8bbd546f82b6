using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TextClassification.Persistence.Migrations.Sqlite
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
                type: "TEXT",
                maxLength: 80,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "DistillFrom",
                table: "fine_tuning_jobs",
                type: "TEXT",
                maxLength: 80,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "UnlabelledDatasetId",
                table: "fine_tuning_jobs",
                type: "TEXT",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "TextOnly",
                table: "datasets",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);

            migrationBuilder.CreateTable(
                name: "teacher_outputs",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    TeacherOnnxSha256 = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    DatasetSha256 = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Rows = table.Column<int>(type: "INTEGER", nullable: false),
                    Labels = table.Column<int>(type: "INTEGER", nullable: false),
                    ArtifactKey = table.Column<string>(type: "TEXT", maxLength: 512, nullable: false),
                    Sha256 = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    SizeBytes = table.Column<long>(type: "INTEGER", nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false)
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
