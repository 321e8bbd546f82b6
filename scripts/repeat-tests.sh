#!/usr/bin/env bash
# Runs the test suite (or part of it) N times and reports every test that failed in any run, so that a flaky test is
# caught before it lands. Each run goes through ./test.sh, the README's test command, with a TRX logger.
#
#   scripts/repeat-tests.sh                 # the whole suite, 3 times
#   scripts/repeat-tests.sh -n 10 -- --filter "FullyQualifiedName~FineTuning"    # one part, 10 times
#
# Arguments after -- go to dotnet test. Results (TRX files and each run's console output) stay under
# TestResults/repeat-<time>/ (or -o DIR). Exit status: 0 when every run passed, 1 when any test failed in any run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

runs=3
out=""
while [[ $# -gt 0 ]]; do
  case $1 in
    -n) runs=$2; shift 2 ;;
    -o) out=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "-n takes a positive count" >&2; exit 2; }
out=${out:-TestResults/repeat-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Builds once, so that every run tests the same binaries and no run pays for the build.
dotnet build Service.sln --nologo -v quiet >"$out/build.log" 2>&1 || { echo "build failed; see $out/build.log" >&2; exit 1; }

declare -a summary
for ((run = 1; run <= runs; run++)); do
  dir="$out/run-$run"
  mkdir -p "$dir"
  started=$(date +%s)
  set +e
  ./test.sh --no-build --logger trx --results-directory "$dir" "$@" >"$dir/console.log" 2>&1
  status=$?
  set -e
  seconds=$(($(date +%s) - started))
  counts=$(grep -hE '^(Passed|Failed)!' "$dir/console.log" | sed -E 's/ - [^ ]+\.dll.*//; s/^(Passed|Failed)! +- +//' | paste -sd ';' -)
  summary+=("run $run: exit $status, $((seconds / 60)) min $((seconds % 60)) s; $counts")
  echo "${summary[-1]}"
done

# One line per test result: "outcome<TAB>run<TAB>test name", from every TRX file.
results="$out/results.tsv"
: >"$results"
for ((run = 1; run <= runs; run++)); do
  for trx in "$out/run-$run"/*.trx; do
    [[ -e $trx ]] || continue
    # An assembly whose tests were all filtered out has no results: grep's "no match" is not an error.
    { grep -o '<UnitTestResult [^>]*>' "$trx" || true; } |
      sed -nE 's/.*testName="([^"]*)".*outcome="([^"]*)".*/\2\t'"$run"'\t\1/p' >>"$results"
  done
done

echo
echo "$runs runs, results in $out"
failures=$(awk -F'\t' '$1 == "Failed" { count[$3]++; runs[$3] = runs[$3] " " $2 } END { for (t in count) printf "%s\tfailed in %d run(s):%s\n", t, count[t], runs[t] }' "$results" | sort)
missing_logs=$(for ((run = 1; run <= runs; run++)); do ls "$out/run-$run"/*.trx >/dev/null 2>&1 || echo "run $run wrote no TRX file (see $out/run-$run/console.log)"; done)
if [[ -z $failures && -z $missing_logs ]] && ! grep -q 'exit [^0]' <<<"${summary[*]}"; then
  echo "No test failed in any run."
  exit 0
fi
[[ -z $failures ]] || { echo "Tests that failed:"; echo "$failures" | sed 's/^/  /'; }
[[ -z $missing_logs ]] || echo "$missing_logs"
exit 1
