#!/usr/bin/env bash
# Builds, without any container registry, local stand-ins for the images deploy/Dockerfile starts from:
#   localhost/tcs-debian:bookworm   Debian 12 from Debian's mirror (debootstrap), with what .NET needs (ICU, OpenSSL)
#   localhost/tcs-sdk:10.0          + this machine's .NET SDK (the stand-in for mcr.microsoft.com/dotnet/sdk:10.0)
#   localhost/tcs-aspnet:10.0       + only the .NET and ASP.NET Core runtimes, and the user "app" with APP_UID=1654
#                                   (the stand-in for mcr.microsoft.com/dotnet/aspnet:10.0, which has the same user)
#   localhost/tcs-postgres:15       + Debian's postgresql-15 (the stand-in for postgres:15; same environment variables)
# Run as root (debootstrap). The .NET files are copied from the SDK on PATH, so the images match what this machine
# builds and tests with. Extra CA certificates under /usr/local/share/ca-certificates (a proxy's, say) are trusted
# in the SDK image too, so that restore inside it reaches NuGet the way the host does.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/../podman/containers.conf}
work=${TCS_BASES_WORK:-/var/tmp/tcs-bases}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
app_uid=1654

mkdir -p "$work"

if ! podman image exists localhost/tcs-debian:bookworm; then
  rootfs=$work/bookworm
  if [[ ! -x $rootfs/bin/sh ]]; then
    rm -rf "$rootfs"
    debootstrap --variant=minbase \
      --include=ca-certificates,curl,libicu72,libssl3,libgomp1,tzdata \
      bookworm "$rootfs" "$mirror"
  fi
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - localhost/tcs-debian:bookworm
fi

# The SDK: the whole dotnet folder; the runtime: the muxer, hostfxr and the two shared frameworks.
cat > "$work/sdk.Containerfile" <<'CONTAINERFILE'
FROM localhost/tcs-debian:bookworm
RUN cp -a /host-dotnet /usr/share/dotnet \
    && ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet \
    && if ls /host-ca/*.crt >/dev/null 2>&1; then cp /host-ca/*.crt /usr/local/share/ca-certificates/ && update-ca-certificates; fi
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
CONTAINERFILE

cat > "$work/aspnet.Containerfile" <<CONTAINERFILE
FROM localhost/tcs-debian:bookworm
RUN mkdir -p /usr/share/dotnet/shared /usr/share/dotnet/host \\
    && cp -a /host-dotnet/dotnet /host-dotnet/LICENSE.txt /host-dotnet/ThirdPartyNotices.txt /usr/share/dotnet/ \\
    && cp -a /host-dotnet/host/fxr /usr/share/dotnet/host/ \\
    && cp -a /host-dotnet/shared/Microsoft.NETCore.App /host-dotnet/shared/Microsoft.AspNetCore.App /usr/share/dotnet/shared/ \\
    && ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet \\
    && groupadd --gid $app_uid app && useradd --uid $app_uid --gid app --no-create-home --shell /usr/sbin/nologin app
ENV APP_UID=$app_uid DOTNET_RUNNING_IN_CONTAINER=true ASPNETCORE_HTTP_PORTS=8080
CONTAINERFILE

# PostgreSQL as the official image runs it: initdb on first start from POSTGRES_USER/PASSWORD/DB, data in PGDATA.
cat > "$work/postgres-entrypoint.sh" <<'ENTRYPOINT'
#!/bin/bash
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
export PGDATA=${PGDATA:-/var/lib/postgresql/data}
mkdir -p "$PGDATA" /run/postgresql
chown -R postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"
if [[ ! -s $PGDATA/PG_VERSION ]]; then
  echo "$POSTGRES_PASSWORD" > /tmp/pwfile
  chown postgres /tmp/pwfile
  runuser -u postgres -- "$bin/initdb" -D "$PGDATA" -U "$POSTGRES_USER" --pwfile=/tmp/pwfile --auth-host=scram-sha-256 --auth-local=trust
  rm /tmp/pwfile
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  runuser -u postgres -- "$bin/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=''" -w start
  if [[ ${POSTGRES_DB:-$POSTGRES_USER} != "$POSTGRES_USER" ]]; then
    runuser -u postgres -- psql -U "$POSTGRES_USER" -d postgres -c "CREATE DATABASE \"$POSTGRES_DB\""
  fi
  runuser -u postgres -- "$bin/pg_ctl" -D "$PGDATA" -m fast -w stop
fi
exec runuser -u postgres -- "$bin/postgres" -D "$PGDATA" -c listen_addresses='*'
ENTRYPOINT

cat > "$work/postgres.Containerfile" <<'CONTAINERFILE'
FROM localhost/tcs-debian:bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-15 postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/*
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
RUN chmod 755 /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
CONTAINERFILE

ca_mount=()
if [[ -d /usr/local/share/ca-certificates ]]; then
  ca_mount=(-v /usr/local/share/ca-certificates:/host-ca:ro)
fi

podman image exists localhost/tcs-sdk:10.0 ||
  podman build -f "$work/sdk.Containerfile" -v "$dotnet_root:/host-dotnet:ro" "${ca_mount[@]}" -t localhost/tcs-sdk:10.0 "$work"
podman image exists localhost/tcs-aspnet:10.0 ||
  podman build -f "$work/aspnet.Containerfile" -v "$dotnet_root:/host-dotnet:ro" -t localhost/tcs-aspnet:10.0 "$work"
podman image exists localhost/tcs-postgres:15 ||
  podman build -f "$work/postgres.Containerfile" -t localhost/tcs-postgres:15 "$work"

podman images --filter reference='localhost/tcs-*'
