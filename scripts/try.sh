#!/bin/bash
# try.sh is the README's first command: it provisions this machine
# (scripts/provision.sh), then starts a first container and shows, the host
# beside the container, what isolation changed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
"$repo/scripts/provision.sh"

ROOTFS=${CONTAIN_ROOTFS:-/var/lib/contain/rootfs/busybox}
host=$(mktemp)
ctr=$(mktemp)
trap 'rm -f "$host" "$ctr"' EXIT
# The same probe program runs twice: once on the host, once as the
# container's first process.
"$ROOTFS/usr/local/bin/probe" -summary >"$host"
contain run --rootfs "$ROOTFS" --hostname demo -- probe -summary | cut -c17- >"$ctr"
echo
printf '%-16s%-44s%s\n' "" "HOST" "CONTAINER (contain run --hostname demo)"
paste -d '\t' "$host" "$ctr" | awk -F'\t' '{ printf "%-60s%s\n", $1, $2 }'
cat <<'MSG'

Same kernel, same binary: the container has its own hostname, is pid 1 of
its own PID namespace, sees its rootfs as / and only its own pids in /proc.
Now open a shell inside one (exit leaves it):

    contain run --rootfs /var/lib/contain/rootfs/busybox --hostname demo -- sh

and read chapters/00-setup.md. The container had its own network too, on
the contain0 bridge, made on first use and kept like lxcbr0 or docker0;
`contain reset` removes it and anything else contain left on the host.
MSG
