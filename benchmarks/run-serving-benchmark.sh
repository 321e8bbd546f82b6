#!/usr/bin/env bash
# Serving speed on CLINC150, side by side in one run. Publishes the service in Release, trains through the API on
# loopback, then measures. Figures go to docs/benchmarks.md.
#   (default)  the n-gram bag: raw in-process ONNX Runtime against /v1 predict over HTTP at concurrency 1, 16 and 64
#              (wrk, batching on and off).
#   --minilm   MiniLM (frozen encoder, 10 texts per intent; float32 and dynamic INT8) beside the n-gram bag and the
#              default Transformer: raw Run at batch 1 and 32, pre-tokenized and tokenize + run, at 1 and 2 intra-op
#              threads; /v1 predict at concurrency 1, 16 and 64 with each thread setting, in fresh serving-only
#              processes whose peak RSS is reported (see Benchmarks/EncoderServingBenchmark.cs). 10-25 minutes at
#              5 s per level, depending on other load.
#   --overhead what the service costs beyond a bare ASP.NET Core floor (issue 13): /v1 predict and /v2 infer on the
#              n-gram bag with a key on every request, beside a minimal app answering the same bodies with a constant,
#              at concurrency 1, 16 and 64, in turns over several rounds (medians); bytes allocated per request with
#              dotnet-counters when installed. Arguments: [--hey] [seconds per level, default 5] [rounds, default 3];
#              --hey drives the load with hey (apt-get install hey), the generator the issue's figures came from,
#              instead of wrk; --baseline <older TextClassification.Api.dll> measures an older build beside this one
#              (its own process and model), e.g. one published from `git worktree add /tmp/old <commit>`.
# The service runs with a fresh admin key whose own rate limit is a million requests a second (see
# Benchmarks/ServiceProcess.cs): wrk sends ~25k requests/s with that one key, beyond the default per-key limit.
# Usage: benchmarks/run-serving-benchmark.sh [--minilm | --overhead] [seconds per level and per raw case; default 15, 5 with --minilm or --overhead] [rounds]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v wrk >/dev/null || { [[ " $* " == *" --hey "* ]] && ! command -v hey >/dev/null; }; then
  echo "wrk (and hey with --hey) is needed: apt-get install wrk hey" >&2
  exit 2
fi
out=artifacts/benchmark-api
dotnet publish src/Api/Api.csproj -c Release -o "$out" -v quiet -nologo >/dev/null
dotnet run -c Release --project benchmarks/Benchmarks -- serving "$out/TextClassification.Api.dll" ../shared/datasets/clinc150 "$@"
