#!/usr/bin/env bash
# Proves the CPU image and docker-compose.yml with podman, without a registry: builds the base images locally
# (build-local-bases.sh), builds deploy/Dockerfile from them, starts PostgreSQL + API + worker with podman-compose,
# checks that the named volume at /data belongs to the app user, and runs the README's flow through HTTP: upload a
# dataset, fine-tune the default n-gram model on it, predict. Its output is recorded in docs/deploy.md.
#   deploy/scripts/prove-compose.sh              run everything, remove the stack and its volumes at the end
#   TCS_KEEP=1 deploy/scripts/prove-compose.sh   leave the stack running (podman-compose -p tcs-proof down -v)
# Needs podman, podman-compose, debootstrap, curl and jq (Debian: apt-get install podman podman-compose debootstrap
# runc curl jq), and root for debootstrap.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
export CONTAINERS_CONF=${CONTAINERS_CONF:-$repo/deploy/podman/containers.conf}
export TCS_HTTP_PORT=${TCS_HTTP_PORT:-18080}
image=localhost/text-classification-service:cpu
project=tcs-proof
compose=(podman-compose -p "$project" -f docker-compose.yml -f deploy/podman/compose.local.yml)
base=http://localhost:$TCS_HTTP_PORT

step() { printf '\n== %s\n' "$*"; }

step "versions"
podman --version
podman-compose version 2>/dev/null | grep -i podman-compose || true
runc --version | head -1
echo "host: $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r), dotnet $(dotnet --version)"

step "local base images (no registry)"
deploy/scripts/build-local-bases.sh | tail -n 5

step "build $image from deploy/Dockerfile"
# The host's NuGet cache is lent to the build so that restore does not download again what this machine has.
nice -n 10 podman build --format docker -f deploy/Dockerfile \
  --build-arg ACCELERATOR=cpu \
  --build-arg SDK_IMAGE=localhost/tcs-sdk:10.0 \
  --build-arg RUNTIME_IMAGE=localhost/tcs-aspnet:10.0 \
  -v "$HOME/.nuget/packages:/root/.nuget/packages" \
  -t "$image" . > /tmp/tcs-proof-build.log 2>&1 || { tail -n 40 /tmp/tcs-proof-build.log; exit 1; }
grep -E '^\[[0-9]/[0-9]\] STEP|libLibTorchSharp|Successfully tagged' /tmp/tcs-proof-build.log || true
podman image inspect "$image" --format 'user={{.Config.User}} volumes={{.Config.Volumes}} entrypoint={{.Config.Entrypoint}} size={{.Size}}'

cleanup() {
  if [[ ${TCS_KEEP:-0} != 1 ]]; then
    step "tear down"
    "${compose[@]}" down -v > /dev/null 2>&1 || true
    podman volume rm -f "${project}_artifacts" "${project}_postgres-data" > /dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
"${compose[@]}" down -v > /dev/null 2>&1 || true

step "start PostgreSQL"
TCS_BOOTSTRAP_ADMIN_KEY=$(openssl rand -base64 32)
export TCS_BOOTSTRAP_ADMIN_KEY
"${compose[@]}" up -d postgres 2>&1 | grep -v '^podman' | tail -n 3 || true
for _ in $(seq 60); do
  podman exec "${project}_postgres_1" pg_isready -h 127.0.0.1 -U service -d service > /dev/null 2>&1 && break
  sleep 1
done
podman exec "${project}_postgres_1" pg_isready -h 127.0.0.1 -U service -d service

step "start the API and the worker"
"${compose[@]}" up -d api worker 2>&1 | grep -v '^podman' | tail -n 3 || true
for _ in $(seq 120); do
  curl -fsS "$base/health/ready" > /dev/null 2>&1 && break
  sleep 1
done
curl -fsS "$base/health/ready"; echo
podman ps --filter "name=${project}_" --format '{{.Names}}  {{.Image}}  {{.Status}}'

step "the named volume at /data belongs to the app user"
for service in api worker; do
  podman exec "${project}_${service}_1" sh -c \
    'touch /data/.write-check && rm /data/.write-check && echo "'$service': runs as uid $(id -u); /data owned by $(stat -c %u:%g /data), mode $(stat -c %a /data), writable"'
done
podman volume inspect "${project}_artifacts" --format 'volume {{.Name}} at {{.Mountpoint}}'
# Docker copies the image's /data (content and owner) into a new named volume. podman chowns a fresh volume to the
# container's user by itself, so it cannot show the old fault; what Docker relies on is the image's own /data:
podman run --rm --user 0 --entrypoint stat "$image" -c "the image's /data: owner %u:%g, mode %a" /data

auth=(-H "Authorization: Bearer $TCS_BOOTSTRAP_ADMIN_KEY")

step "upload a dataset"
dataset_file=$(mktemp --suffix=.csv)
{
  echo "text,label"
  for place in Paris London Tokyo Berlin Madrid Rome Oslo Lima; do
    echo "what is the weather in $place today,weather"
    echo "will it rain in $place tomorrow,weather"
    echo "is it sunny in $place,weather"
    echo "my card was charged twice in $place,billing"
    echo "I need a refund for my order from $place,billing"
    echo "why is my invoice from $place so high,billing"
    echo "hello from $place,greeting"
    echo "good morning from $place,greeting"
    echo "hi there I am in $place,greeting"
  done
} > "$dataset_file"
dataset=$(curl -fsS "${auth[@]}" -F "file=@$dataset_file;filename=proof.csv" -F name=proof "$base/v1/datasets")
rm -f "$dataset_file"
echo "$dataset" | jq -c '{id, status, row_count, labels: [.labels[] | {(.label): .count}] | add}'
dataset_id=$(echo "$dataset" | jq -r .id)

step "fine-tune the default n-gram bag in the worker"
job=$(curl -fsS "${auth[@]}" -H 'Content-Type: application/json' "$base/v1/fine-tuning/jobs" \
  -d "{\"training_dataset_id\": \"$dataset_id\", \"model\": \"proof-intents\", \"hyperparameters\": {\"epochs\": 10, \"batch_size\": 8, \"learning_rate\": 0.02, \"seed\": 7}}")
job_id=$(echo "$job" | jq -r .id)
echo "$job" | jq -c '{id, status, model}'
status=queued
for _ in $(seq 300); do
  job=$(curl -fsS "${auth[@]}" "$base/v1/fine-tuning/jobs/$job_id")
  status=$(echo "$job" | jq -r .status)
  [[ $status == succeeded || $status == failed || $status == cancelled ]] && break
  sleep 2
done
echo "$job" | jq -c '{id, status, device, result: .result, error: .error}'
[[ $status == succeeded ]]
"${compose[@]}" logs worker 2>/dev/null | grep -E '"(EventId|Message)"' | jq -r 'select(.Message != null) | .Message' 2>/dev/null | grep -i -E 'job|train|export|epoch' | head -n 8 || true

step "predict through the API"
curl -fsS "${auth[@]}" -H 'Content-Type: application/json' "$base/v1/models/proof-intents/predict" \
  -d '{"inputs": ["will it rain in Paris", "I was charged twice", "good morning"]}' |
  jq -c '{model: .model, version: .version, predictions: [.predictions[] | {label: .label, score: ((.score * 1000 | round) / 1000)}]}'

step "artifacts on the shared volume"
podman exec "${project}_worker_1" sh -c 'find /data/artifacts -type f | sed "s|/[0-9a-f]\{64\}.*|/<sha256>|" | sort | uniq -c'

echo
echo "proof complete"
