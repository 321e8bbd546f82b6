#!/usr/bin/env bash
# A hyperparameter sweep of the n-gram bag on CLINC150 through the API (learning rate, dropout, embedding size, epochs;
# TPE, chosen on validation within a wall-time budget), then the best trial's model and the defaults scored on the
# test split. Publishes the service in Release and runs it on loopback with a fresh SQLite data directory. Figures go
# to docs/benchmarks.md. Usage: benchmarks/run-sweep-benchmark.sh [--minutes 20] [--method tpe] [--seed 7] [--max-trials 30] [--with-defaults]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=artifacts/benchmark-api
dotnet publish src/Api/Api.csproj -c Release -o "$out" -v quiet -nologo >/dev/null
dotnet run -c Release --project benchmarks/Benchmarks -- sweep "$out/TextClassification.Api.dll" ../shared/datasets/clinc150 "$@"
