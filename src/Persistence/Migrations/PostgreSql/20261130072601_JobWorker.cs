using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TextClassification.Persistence.Migrations.PostgreSql
{
    /// <inheritdoc />
    public partial class JobWorker : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "Worker",
                table: "fine_tuning_jobs",
                type: "character varying(128)",
                maxLength: 128,
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "Worker",
                table: "fine_tuning_jobs");
        }
    }
}
