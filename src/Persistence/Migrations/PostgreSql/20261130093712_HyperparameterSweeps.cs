using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace TextClassification.Persistence.Migrations.PostgreSql
{
    /// <inheritdoc />
    public partial class HyperparameterSweeps : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "PendingVersionJson",
                table: "fine_tuning_jobs",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "SweepId",
                table: "fine_tuning_jobs",
                type: "character varying(64)",
                maxLength: 64,
                nullable: true,
                collation: "C");

            migrationBuilder.CreateTable(
                name: "hyperparameter_sweeps",
                columns: table => new
                {
                    Id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false, collation: "C"),
                    Status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    Model = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Method = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    SpecJson = table.Column<string>(type: "text", nullable: false),
                    CancelRequested = table.Column<bool>(type: "boolean", nullable: false),
                    BestTrialNumber = table.Column<int>(type: "integer", nullable: true),
                    ResultModel = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    ResultVersion = table.Column<int>(type: "integer", nullable: true),
                    EndReason = table.Column<string>(type: "character varying(512)", maxLength: 512, nullable: true),
                    LeaseOwner = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: true),
                    LeaseExpiresAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    CreatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    FinishedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    ConcurrencyStamp = table.Column<Guid>(type: "uuid", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_hyperparameter_sweeps", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "sweep_trials",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    SweepId = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false, collation: "C"),
                    Number = table.Column<int>(type: "integer", nullable: false),
                    JobId = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false, collation: "C"),
                    ParametersJson = table.Column<string>(type: "text", nullable: false),
                    State = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    Objective = table.Column<double>(type: "double precision", nullable: true),
                    PrunedAtEpoch = table.Column<int>(type: "integer", nullable: true),
                    CreatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    FinishedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sweep_trials", x => x.Id);
                    table.ForeignKey(
                        name: "FK_sweep_trials_fine_tuning_jobs_JobId",
                        column: x => x.JobId,
                        principalTable: "fine_tuning_jobs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_sweep_trials_hyperparameter_sweeps_SweepId",
                        column: x => x.SweepId,
                        principalTable: "hyperparameter_sweeps",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_fine_tuning_jobs_SweepId",
                table: "fine_tuning_jobs",
                column: "SweepId");

            migrationBuilder.CreateIndex(
                name: "IX_hyperparameter_sweeps_Status",
                table: "hyperparameter_sweeps",
                column: "Status");

            migrationBuilder.CreateIndex(
                name: "IX_sweep_trials_JobId",
                table: "sweep_trials",
                column: "JobId",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_sweep_trials_SweepId_Number",
                table: "sweep_trials",
                columns: new[] { "SweepId", "Number" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "sweep_trials");

            migrationBuilder.DropTable(
                name: "hyperparameter_sweeps");

            migrationBuilder.DropIndex(
                name: "IX_fine_tuning_jobs_SweepId",
                table: "fine_tuning_jobs");

            migrationBuilder.DropColumn(
                name: "PendingVersionJson",
                table: "fine_tuning_jobs");

            migrationBuilder.DropColumn(
                name: "SweepId",
                table: "fine_tuning_jobs");
        }
    }
}
