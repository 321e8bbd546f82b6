using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TextClassification.Persistence.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class UploadedBaseModelsAndCheckpointRetention : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterColumn<string>(
                name: "ArtifactKey",
                table: "job_checkpoints",
                type: "TEXT",
                maxLength: 512,
                nullable: true,
                oldClrType: typeof(string),
                oldType: "TEXT",
                oldMaxLength: 512);

            migrationBuilder.CreateTable(
                name: "base_models",
                columns: table => new
                {
                    Id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Architecture = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    ConfigJson = table.Column<string>(type: "TEXT", nullable: false),
                    TokenizerJson = table.Column<string>(type: "TEXT", nullable: false),
                    Parameters = table.Column<long>(type: "INTEGER", nullable: false),
                    License = table.Column<string>(type: "TEXT", maxLength: 256, nullable: false),
                    Source = table.Column<string>(type: "TEXT", maxLength: 1024, nullable: false),
                    WeightsArtifactKey = table.Column<string>(type: "TEXT", maxLength: 512, nullable: false),
                    WeightsSha256 = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    WeightsSizeBytes = table.Column<long>(type: "INTEGER", nullable: false),
                    VocabularyArtifactKey = table.Column<string>(type: "TEXT", maxLength: 512, nullable: false),
                    VocabularySha256 = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    VocabularySizeBytes = table.Column<long>(type: "INTEGER", nullable: false),
                    ArchiveSha256 = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_base_models", x => x.Id);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "base_models");

            migrationBuilder.AlterColumn<string>(
                name: "ArtifactKey",
                table: "job_checkpoints",
                type: "TEXT",
                maxLength: 512,
                nullable: false,
                defaultValue: "",
                oldClrType: typeof(string),
                oldType: "TEXT",
                oldMaxLength: 512,
                oldNullable: true);
        }
    }
}
