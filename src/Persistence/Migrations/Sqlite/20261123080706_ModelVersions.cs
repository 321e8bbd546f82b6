using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TextClassification.Persistence.Migrations.Sqlite
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
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    ModelName = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Version = table.Column<int>(type: "INTEGER", nullable: false),
                    JobId = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Architecture = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    LabelsJson = table.Column<string>(type: "TEXT", nullable: false),
                    MetricsJson = table.Column<string>(type: "TEXT", nullable: false),
                    OutOfScopeThreshold = table.Column<double>(type: "REAL", nullable: true),
                    CheckpointArtifactKey = table.Column<string>(type: "TEXT", maxLength: 512, nullable: false),
                    CheckpointSha256 = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    CheckpointSizeBytes = table.Column<long>(type: "INTEGER", nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false)
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
