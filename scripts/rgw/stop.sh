#!/usr/bin/env bash
# Stops the daemons that scripts/rgw/start.sh started under DIR (by their pid files only) and,
# unless KEEP_DIR=1, removes DIR.
set -uo pipefail
dir=${1:?usage: stop.sh DIR}
[ -d "$dir/run" ] || exit 0
pids=()
for f in "$dir"/run/*.pid; do
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && pids+=("$pid")
done
for _ in $(seq 1 40); do
  alive=0
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
  [ "$alive" = 0 ] && break
  sleep 0.25
done
for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
[ "${KEEP_DIR:-0}" = 1 ] || rm -rf "$dir"
exit 0
