#!/usr/bin/env bash
# Soak: steady concurrent /v1 predictions on loopback for a bounded time and request count, while the service's
# resident memory (VmRSS from /proc) is sampled every few seconds. Publishes the service in Release, starts it on a
# fresh data directory, trains a small model through the API, then loads it with wrk and reports requests, errors,
# p50/p99 latency and RSS at the start, middle and end of the load (docs/reliability.md has the recorded figures).
#
# Usage: scripts/soak.sh [seconds, default 300] [connections, default 16] [most requests, default 10000000]
# Environment: SOAK_SAMPLE_SECONDS (RSS sampling interval, default 5), SOAK_THREADS (wrk threads, default 2),
#              SOAK_OUT (where the report, RSS samples and service log are kept, default artifacts/soak).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${1:-300}
connections=${2:-16}
max_requests=${3:-10000000}
sample_seconds=${SOAK_SAMPLE_SECONDS:-5}
threads=${SOAK_THREADS:-2}
out=${SOAK_OUT:-artifacts/soak}
key="tcs_SoakAdminKey-$(date +%s)-0123456789abcdefghijklmnop"
model=soak-intents

for tool in wrk curl jq; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (apt-get install $tool)" >&2; exit 2; }
done
if (( threads > connections )); then threads=$connections; fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
publish=artifacts/soak-api
echo "publishing the service (Release) to $publish"
dotnet publish src/Api/Api.csproj -c Release -o "$publish" -v quiet -nologo >/dev/null

work=$(mktemp -d -t soak-XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
service_pid=""
sampler_pid=""
cleanup() {
  [[ -n "$sampler_pid" ]] && kill "$sampler_pid" 2>/dev/null || true
  [[ -n "$service_pid" ]] && kill "$service_pid" 2>/dev/null && wait "$service_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

Persistence__DataDirectory="$work/data" Logging__LogLevel__Default=Warning Logging__Console__FormatterName=simple \
  Security__BootstrapAdminKey="$key" ASPNETCORE_ENVIRONMENT=Production \
  dotnet "$publish/TextClassification.Api.dll" --urls "$base" >"$out/service.log" 2>&1 &
service_pid=$!
for _ in $(seq 1 600); do
  curl -fsS "$base/health/ready" >/dev/null 2>&1 && break
  kill -0 "$service_pid" 2>/dev/null || { echo "the service exited; see $out/service.log" >&2; exit 1; }
  sleep 0.1
done
api() { curl -fsS -H "Authorization: Bearer $key" "$@"; }

# A small made-up intent dataset: each label has its own key words among shared filler words.
awk 'BEGIN {
  srand(7); split("please could you help me with my the now today i want to a need", filler, " ");
  keys["balance"]="balance money account funds"; keys["transfer"]="transfer send wire move";
  keys["card_lost"]="lost card stolen missing"; keys["greeting"]="hello hi hey morning"; keys["weather"]="weather rain sunny forecast";
  print "text,label";
  for (label in keys) { split(keys[label], k, " "); for (i = 0; i < 40; i++) {
    line = ""; for (w = 0; w < 4; w++) line = line filler[int(rand() * 15) + 1] " ";
    print line k[int(rand() * 4) + 1] " " k[int(rand() * 4) + 1] " " i "," label } } }' >"$work/train.csv"
dataset=$(api -F file=@"$work/train.csv" -F name=soak "$base/v1/datasets" | jq -r .id)
job=$(api -H 'Content-Type: application/json' "$base/v1/fine-tuning/jobs" \
  -d "{\"training_dataset_id\": \"$dataset\", \"model\": \"$model\", \"hyperparameters\": {\"epochs\": 3, \"seed\": 1}}" | jq -r .id)
echo "training $model ($job)"
for _ in $(seq 1 600); do
  status=$(api "$base/v1/fine-tuning/jobs/$job" | jq -r .status)
  [[ "$status" == succeeded ]] && break
  [[ "$status" == failed || "$status" == cancelled ]] && { echo "the job ended $status" >&2; exit 1; }
  sleep 0.5
done
api -H 'Content-Type: application/json' "$base/v1/models/$model/predict" -d '{"inputs": ["warm up"]}' >/dev/null

# wrk: one to three texts per request, cycling; each thread stops after its share of the request budget.
cat >"$work/soak.lua" <<LUA
local bodies = {
  '{"inputs": ["what is the balance of my account"]}',
  '{"inputs": ["please send money and wire it now", "hello and good morning"]}',
  '{"inputs": ["my card was stolen", "is there rain in the forecast today", "play a song"], "top_k": 2}',
}
local limit = math.floor($max_requests / $threads)
local i = 0
local done = 0
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", "/v1/models/$model/predict",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer $key"}, bodies[i])
end
response = function(status, headers, body)
  done = done + 1
  if done >= limit then wrk.thread:stop() end
end
LUA

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$service_pid/status"; }
: >"$out/rss.tsv"
( start=$(date +%s); while kill -0 "$service_pid" 2>/dev/null; do
    printf '%s\t%s\n' "$(( $(date +%s) - start ))" "$(rss_kb)" >>"$out/rss.tsv"; sleep "$sample_seconds"; done ) &
sampler_pid=$!

echo "load: $connections connections, $threads threads, ${seconds} s or $max_requests requests, RSS every ${sample_seconds} s"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
wrk -t"$threads" -c"$connections" -d"${seconds}s" --timeout 5s --latency -s "$work/soak.lua" \
  "$base/v1/models/$model/predict" >"$out/wrk.txt"
kill "$sampler_pid" 2>/dev/null || true
sampler_pid=""
printf '%s\t%s\n' "end" "$(rss_kb)" >>"$out/rss.tsv"
ready=$(curl -s -o /dev/null -w '%{http_code}' "$base/health/ready")

requests=$(awk '/requests in/ {print $1}' "$out/wrk.txt")
non2xx=$(awk -F': ' '/Non-2xx/ {print $2}' "$out/wrk.txt")
socket=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$out/wrk.txt")
p50=$(awk '$1 == "50%" {print $2}' "$out/wrk.txt")
p99=$(awk '$1 == "99%" {print $2}' "$out/wrk.txt")
rate=$(awk '/Requests\/sec/ {print $2}' "$out/wrk.txt")
samples=$(grep -cv '^end' "$out/rss.tsv")
rss_at() { awk -v n="$1" 'NR == n {printf "%.1f MiB (t=%s s)", $2 / 1024, $1}' "$out/rss.tsv"; }
rss_max=$(awk '{ if ($2 > m) m = $2 } END {printf "%.1f MiB", m / 1024}' "$out/rss.tsv")

{
  echo "soak $started: $seconds s, $connections connections, $threads wrk threads, $(nproc) cores, loopback"
  echo "command: scripts/soak.sh $seconds $connections $max_requests"
  echo "requests: $requests ($rate/s); errors: ${non2xx:-0} non-2xx, ${socket:-0} socket errors"
  echo "latency: p50 $p50, p99 $p99"
  echo "RSS: start $(rss_at 1), middle $(rss_at $(( (samples + 1) / 2 ))), end $(rss_at "$samples"), after load $(awk '/^end/ {printf "%.1f MiB", $2 / 1024}' "$out/rss.tsv"), max $rss_max ($samples samples)"
  echo "readiness after the load: $ready"
} | tee "$out/report.txt"
[[ "${non2xx:-0}" == 0 && "${socket:-0}" == 0 && "$ready" == 200 ]]
