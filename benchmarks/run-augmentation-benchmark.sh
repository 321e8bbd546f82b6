#!/usr/bin/env bash
# Data augmentation on CLINC150 through the API: the training benchmark (benchmarks/run-training-benchmark.sh) once per
# setting x seed x augmentation, the n-gram bag's defaults otherwise. Publishes and builds once, appends one line per
# run to artifacts/augmentation-benchmark.tsv and prints the medians over seeds at the end. Figures go to
# docs/benchmarks.md. Usage: benchmarks/run-augmentation-benchmark.sh [--settings "10 full"] [--seeds "1 2 3"] [--configs "none word_deletion ..."]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
settings="10 full"
seeds="1 2 3"
configs="none word_deletion word_swap word_insertion typos all"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --settings) settings="$2"; shift 2 ;;
    --seeds) seeds="$2"; shift 2 ;;
    --configs) configs="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

# The augmentation object of each configuration; the seed is added per run.
declare -A augmentation=(
  [none]=''
  [word_deletion]='"augmentation": {"word_deletion": 0.1}'
  [word_swap]='"augmentation": {"word_swap": 0.1}'
  [word_insertion]='"augmentation": {"word_insertion": 0.1}'
  [typos]='"augmentation": {"typos": 0.1}'
  [all]='"augmentation": {"word_deletion": 0.1, "word_swap": 0.1, "word_insertion": 0.1, "typos": 0.1}'
  [deletion_typos]='"augmentation": {"word_deletion": 0.1, "typos": 0.1}'
  [deletion_insertion_typos]='"augmentation": {"word_deletion": 0.1, "word_insertion": 0.1, "typos": 0.1}'
  [all_2_copies]='"augmentation": {"word_deletion": 0.1, "word_swap": 0.1, "word_insertion": 0.1, "typos": 0.1, "copies": 2}'
  [all_4_copies]='"augmentation": {"word_deletion": 0.1, "word_swap": 0.1, "word_insertion": 0.1, "typos": 0.1, "copies": 4}'
)

out=artifacts/benchmark-api
results=artifacts/augmentation-benchmark.tsv
mkdir -p artifacts
dotnet publish src/Api/Api.csproj -c Release -o "$out" -v quiet -nologo >/dev/null
dotnet build benchmarks/Benchmarks -c Release -v quiet -nologo >/dev/null
[[ -f "$results" ]] || printf 'setting\tconfiguration\tseed\tin_scope_accuracy\toos_recall\tepochs\tjob_seconds\n' >"$results"

for setting in $settings; do
  for seed in $seeds; do
    for config in $configs; do
      [[ -v "augmentation[$config]" ]] || { echo "unknown configuration $config" >&2; exit 2; }
      extra=${augmentation[$config]}
      json="{\"seed\": $seed${extra:+, $extra}}"
      args=(--hyperparameters "$json")
      [[ "$setting" == full ]] || args+=(--per-intent "$setting")
      log=$(dotnet benchmarks/Benchmarks/bin/Release/net10.0/Benchmarks.dll training "$out/TextClassification.Api.dll" ../shared/datasets/clinc150 "${args[@]}")
      figure() { grep "^$1" <<<"$log" | sed -E "s/^$1 *//" | grep -oE '^[0-9.]+' ; }
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$setting" "$config" "$seed" "$(figure 'test in-scope accuracy')" \
        "$(figure 'test oos recall')" "$(figure 'epochs run')" "$(figure 'job running \(s\)')" | tee -a "$results"
    done
  done
done

# Medians over seeds, per setting and configuration (the middle value; the lower middle for an even count).
echo
echo "setting | configuration | runs | in-scope accuracy (median) | oos recall (median)"
tail -n +2 "$results" | sort -t$'\t' -k1,1 -k2,2 | awk -F'\t' '
  function median(list,   n, a) { n = split(list, a, " "); asort(a); return a[int((n + 1) / 2)] }
  { key = $1 " | " $2; acc[key] = acc[key] " " $4; oos[key] = oos[key] " " $5; runs[key]++ }
  END { for (k in runs) printf "%s | %d | %.2f | %.1f\n", k, runs[k], median(acc[k]), median(oos[k]) }' | sort
