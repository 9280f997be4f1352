#!/usr/bin/env bash
# Stops every process of the cluster that scripts/rgw/start.sh started under DIR and waits until they have all
# exited, then, unless KEEP_DIR=1, removes DIR. Exits 1 if a process outlived SIGKILL.
# The processes are found by their config file (`-c DIR/ceph.conf` on their command line), not by pid files:
# that also finds a daemon that never wrote its pid file (start.sh killed midway) and a `ceph`/`radosgw-admin`
# command still running, and never hits an unrelated process that reused a dead daemon's pid.
# Usage: scripts/rgw/stop.sh DIR
set -uo pipefail
dir=${1:?usage: stop.sh DIR}
if [ -d "$dir" ]; then dir=$(cd "$dir" && pwd); fi
conf="${dir%/}/ceph.conf"

cluster_pids() { # running (not zombie) processes that have $conf as an argument
  local p args arg stat
  for p in /proc/[0-9]*; do
    mapfile -d '' -t args 2>/dev/null <"$p/cmdline" || continue
    for arg in "${args[@]}"; do
      [ "$arg" = "$conf" ] || continue
      stat=$(cat "$p/stat" 2>/dev/null) || break
      stat=${stat##*) }
      [ "${stat%% *}" != Z ] && echo "${p#/proc/}"
      break
    done
  done
}

wait_gone() { # seconds: whether every process of the cluster exited within that time
  local deadline=$(( $(date +%s) + $1 ))
  while [ -n "$(cluster_pids)" ]; do
    [ "$(date +%s)" -ge "$deadline" ] && return 1
    sleep 0.25
  done
}

pids=$(cluster_pids)
if [ -n "$pids" ]; then
  # shellcheck disable=SC2086 # one pid a word
  kill -TERM $pids 2>/dev/null
  if ! wait_gone 10; then
    pids=$(cluster_pids)
    # shellcheck disable=SC2086
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
    if ! wait_gone 5; then
      echo "stop.sh: processes of $dir outlived SIGKILL: $(cluster_pids | tr '\n' ' ')" >&2
      exit 1
    fi
  fi
fi
[ "${KEEP_DIR:-0}" = 1 ] || rm -rf "$dir"
exit 0
