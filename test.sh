#!/usr/bin/env bash
# The README's test command: make sure the test prerequisites are present, then run the whole suite
# (dotnet test Service.sln) and exit with its status. CI runs it through .ci/run on a clean clone, as root, no stdin.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
export DEBIAN_FRONTEND=noninteractive

# The account the suite's PostgreSQL cluster runs as when the tests run as root (PostgreSQL refuses root);
# tests/TestSupport/PostgresServerTools.cs names the same one.
readonly postgres_test_user=pgtest

as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n env DEBIAN_FRONTEND=noninteractive "$@"
  else
    echo "need root for: $*" >&2
    return 1
  fi
}

# The directory holding initdb, pg_ctl and postgres: PATH first, then Debian's versioned directories, newest first.
find_postgres_bin() {
  local initdb
  if initdb=$(command -v initdb 2>/dev/null); then
    dirname "$(readlink -f "$initdb")"
    return 0
  fi
  local dir
  while read -r dir; do
    if [[ -x $dir/initdb && -x $dir/pg_ctl && -x $dir/postgres ]]; then
      echo "$dir"
      return 0
    fi
  done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV)
  return 1
}

if ! command -v dotnet >/dev/null 2>&1; then
  echo "dotnet is not on PATH; install the SDK that global.json pins." >&2
  exit 1
fi

if ! postgres_bin=$(find_postgres_bin); then
  echo "PostgreSQL server programs not found; installing them."
  as_root apt-get update
  as_root apt-get install -y --no-install-recommends postgresql
  postgres_bin=$(find_postgres_bin)
fi

# The console's browser tests (tests/Console.Tests) drive Debian's chromium headless; Playwright never downloads one.
if ! command -v chromium >/dev/null 2>&1; then
  echo "chromium not found; installing it for the console's browser tests."
  as_root apt-get update
  as_root apt-get install -y --no-install-recommends chromium
fi

if [[ $(id -u) -eq 0 ]] && ! id -u "$postgres_test_user" >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /usr/sbin/nologin "$postgres_test_user"
fi

echo "dotnet $(dotnet --version)"
"$postgres_bin/postgres" --version
chromium --version 2>/dev/null || true

exec dotnet test Service.sln "$@"
