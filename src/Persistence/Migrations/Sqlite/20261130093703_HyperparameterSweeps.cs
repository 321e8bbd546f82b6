using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TextClassification.Persistence.Migrations.Sqlite
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
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "SweepId",
                table: "fine_tuning_jobs",
                type: "TEXT",
                maxLength: 64,
                nullable: true);

            migrationBuilder.CreateTable(
                name: "hyperparameter_sweeps",
                columns: table => new
                {
                    Id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Model = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Method = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    SpecJson = table.Column<string>(type: "TEXT", nullable: false),
                    CancelRequested = table.Column<bool>(type: "INTEGER", nullable: false),
                    BestTrialNumber = table.Column<int>(type: "INTEGER", nullable: true),
                    ResultModel = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    ResultVersion = table.Column<int>(type: "INTEGER", nullable: true),
                    EndReason = table.Column<string>(type: "TEXT", maxLength: 512, nullable: true),
                    LeaseOwner = table.Column<string>(type: "TEXT", maxLength: 256, nullable: true),
                    LeaseExpiresAt = table.Column<long>(type: "INTEGER", nullable: true),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    FinishedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    ConcurrencyStamp = table.Column<Guid>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_hyperparameter_sweeps", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "sweep_trials",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    SweepId = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Number = table.Column<int>(type: "INTEGER", nullable: false),
                    JobId = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    ParametersJson = table.Column<string>(type: "TEXT", nullable: false),
                    State = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Objective = table.Column<double>(type: "REAL", nullable: true),
                    PrunedAtEpoch = table.Column<int>(type: "INTEGER", nullable: true),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    FinishedAt = table.Column<long>(type: "INTEGER", nullable: true)
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
