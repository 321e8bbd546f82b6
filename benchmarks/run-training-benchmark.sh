#!/usr/bin/env bash
# CLINC150 through the API with default hyperparameters: publishes the service in Release, runs it on loopback with
# a fresh SQLite data directory, trains, and scores the published model on the test split. Figures go to
# docs/benchmarks.md. Usage: benchmarks/run-training-benchmark.sh [architecture] [--base-model ID] [--hyperparameters JSON] [--per-intent N]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=artifacts/benchmark-api
dotnet publish src/Api/Api.csproj -c Release -o "$out" -v quiet -nologo >/dev/null
dotnet run -c Release --project benchmarks/Benchmarks -- training "$out/TextClassification.Api.dll" ../shared/datasets/clinc150 "$@"
