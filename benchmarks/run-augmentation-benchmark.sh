#!/usr/bin/env bash
# Data augmentation on CLINC150: every configuration x seed trained in process with the trainer jobs use (the n-gram
# bag's defaults), scored on test.csv; prints a line per run and the medians. Figures go to docs/benchmarks.md.
# Usage: benchmarks/run-augmentation-benchmark.sh [--per-intent N] [--seeds 1,2,3] [--configs "none;typos;name={json}"]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dotnet run -c Release --project benchmarks/Benchmarks -- augmentation ../shared/datasets/clinc150 "$@"
