#!/usr/bin/env bash
# Scale-out: two API-only and two worker-only service processes (Jobs:Role Api and Worker) on one throwaway PostgreSQL
# and one shared artifacts directory, with the default lease (Jobs:LeaseSeconds 60) unless told otherwise. The
# scenario is the suite's own ScaleOutTests (tests/Api.Tests/Faults/ScaleOutTests.cs), run here with the longer lease
# and verbose output rather than written twice: six jobs through either API, a worker SIGKILLed mid-epoch and its job
# taken over by the other, an alias moved and a key revoked through one API and timed on the other, and predictions
# through both APIs all along. Prints the figures (docs/reliability.md has the recorded ones): jobs per worker, the
# takeover time after the kill, alias and revocation propagation times, predictions sent and failed.
#
# Usage: scripts/scale-out.sh [lease seconds, default 60]
# Environment: SCALE_OUT_OUT (where the report and the full test log are kept, default artifacts/scale-out),
#              SCALE_OUT_CONFIGURATION (Debug, as the suite builds, or Release; default Debug).
# Needs what the suite needs (./test.sh installs it): the .NET SDK and the PostgreSQL server programs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

lease=${1:-60}
configuration=${SCALE_OUT_CONFIGURATION:-Debug}
out=${SCALE_OUT_OUT:-artifacts/scale-out}
if ! [[ $lease =~ ^[0-9]+$ ]] || (( lease < 5 || lease > 3600 )); then
  echo "the lease is whole seconds from 5 to 3600 (Jobs:LeaseSeconds)" >&2
  exit 2
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "running ScaleOutTests with Jobs:LeaseSeconds=$lease ($configuration); full log: $out/test.log"
status=0
SCALE_OUT_LEASE_SECONDS=$lease dotnet test tests/Api.Tests -c "$configuration" -nologo \
  --filter "FullyQualifiedName~TextClassification.Api.Tests.Faults.ScaleOutTests" \
  --logger "console;verbosity=detailed" >"$out/test.log" 2>&1 || status=$?

{
  echo "scale-out $started: lease $lease s, $(nproc) cores, load average $load_before before and $(cut -d' ' -f1-3 /proc/loadavg) after, commit $(git rev-parse --short HEAD)"
  echo "command: scripts/scale-out.sh $lease"
  # The test writes each figure on a line of its own starting "scale-out:"; xunit may echo its output twice.
  grep -o 'scale-out: .*' "$out/test.log" | sed 's/^scale-out: //' | awk '!seen[$0]++'
  if (( status == 0 )); then echo "result: passed"; else echo "result: FAILED (exit $status); see $out/test.log"; fi
} | tee "$out/report.txt"
exit "$status"
