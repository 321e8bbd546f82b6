#!/usr/bin/env bash
# Serving speed on CLINC150, side by side in one run: raw in-process ONNX Runtime against the service's /v1 predict
# over HTTP at concurrency 1, 16 and 64 (wrk, batching on and off). Publishes the service in Release, trains the
# default model through the API on loopback, then measures. Figures go to docs/benchmarks.md.
# The service runs with a fresh admin key and Security:RateLimit:PermitsPerSecond=0 (see Benchmarks/ServiceProcess.cs):
# wrk sends ~25k requests/s with that one key, which the default per-key limit would refuse.
# Usage: benchmarks/run-serving-benchmark.sh [seconds per concurrency level, default 15]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v wrk >/dev/null; then
  echo "wrk is needed: apt-get install wrk" >&2
  exit 2
fi
out=artifacts/benchmark-api
dotnet publish src/Api/Api.csproj -c Release -o "$out" -v quiet -nologo >/dev/null
dotnet run -c Release --project benchmarks/Benchmarks -- serving "$out/TextClassification.Api.dll" ../shared/datasets/clinc150 "$@"
