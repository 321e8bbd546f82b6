#!/usr/bin/env bash
# Distillation on CLINC150 (issue 14): publishes the service in Release, runs it on loopback and trains through the
# API a MiniLM teacher (or uses an existing one), the plain n-gram bag and n-gram bags distilled from the teacher; scores
# each on the test split and serves each at concurrency 1 and 64 with wrk. Figures go to docs/benchmarks.md.
# Usage: benchmarks/run-distillation-benchmark.sh [--data-directory DIR --admin-key KEY] [--teacher NAME:VERSION |
#        --teacher-hyperparameters JSON] [--student JSON]... [--plain JSON]... [--no-plain] [--serving-seconds N]
# (see benchmarks/Benchmarks/DistillationBenchmark.cs). A data directory given is kept, so a teacher trained once
# serves several runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=artifacts/benchmark-api
dotnet publish src/Api/Api.csproj -c Release -o "$out" -v quiet -nologo >/dev/null
dotnet run -c Release --project benchmarks/Benchmarks -- distillation "$out/TextClassification.Api.dll" ../shared/datasets/clinc150 "$@"
