using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TextClassification.Persistence.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class ApiKeyRateLimits : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "RateLimitBurst",
                table: "api_keys",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "RateLimitRequestsPerSecond",
                table: "api_keys",
                type: "INTEGER",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "RateLimitBurst",
                table: "api_keys");

            migrationBuilder.DropColumn(
                name: "RateLimitRequestsPerSecond",
                table: "api_keys");
        }
    }
}
