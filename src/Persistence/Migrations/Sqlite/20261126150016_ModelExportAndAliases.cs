using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TextClassification.Persistence.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class ModelExportAndAliases : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "OnnxArtifactKey",
                table: "model_versions",
                type: "TEXT",
                maxLength: 512,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "OnnxSha256",
                table: "model_versions",
                type: "TEXT",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "OnnxSizeBytes",
                table: "model_versions",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "Opset",
                table: "model_versions",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "ParityJson",
                table: "model_versions",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "QuantizationJson",
                table: "model_versions",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "QuantizedOnnxArtifactKey",
                table: "model_versions",
                type: "TEXT",
                maxLength: 512,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "QuantizedOnnxSha256",
                table: "model_versions",
                type: "TEXT",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "QuantizedOnnxSizeBytes",
                table: "model_versions",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "Quantization",
                table: "fine_tuning_jobs",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddUniqueConstraint(
                name: "AK_model_versions_ModelName_Version",
                table: "model_versions",
                columns: new[] { "ModelName", "Version" });

            migrationBuilder.CreateTable(
                name: "model_aliases",
                columns: table => new
                {
                    ModelName = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Alias = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Version = table.Column<int>(type: "INTEGER", nullable: false),
                    UpdatedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_model_aliases", x => new { x.ModelName, x.Alias });
                    table.ForeignKey(
                        name: "FK_model_aliases_model_versions_ModelName_Version",
                        columns: x => new { x.ModelName, x.Version },
                        principalTable: "model_versions",
                        principalColumns: new[] { "ModelName", "Version" },
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateIndex(
                name: "IX_model_aliases_ModelName_Version",
                table: "model_aliases",
                columns: new[] { "ModelName", "Version" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "model_aliases");

            migrationBuilder.DropUniqueConstraint(
                name: "AK_model_versions_ModelName_Version",
                table: "model_versions");

            migrationBuilder.DropColumn(
                name: "OnnxArtifactKey",
                table: "model_versions");

            migrationBuilder.DropColumn(
                name: "OnnxSha256",
                table: "model_versions");

            migrationBuilder.DropColumn(
                name: "OnnxSizeBytes",
                table: "model_versions");

            migrationBuilder.DropColumn(
                name: "Opset",
                table: "model_versions");

            migrationBuilder.DropColumn(
                name: "ParityJson",
                table: "model_versions");

            migrationBuilder.DropColumn(
                name: "QuantizationJson",
                table: "model_versions");

            migrationBuilder.DropColumn(
                name: "QuantizedOnnxArtifactKey",
                table: "model_versions");

            migrationBuilder.DropColumn(
                name: "QuantizedOnnxSha256",
                table: "model_versions");

            migrationBuilder.DropColumn(
                name: "QuantizedOnnxSizeBytes",
                table: "model_versions");

            migrationBuilder.DropColumn(
                name: "Quantization",
                table: "fine_tuning_jobs");
        }
    }
}
