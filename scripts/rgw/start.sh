#!/usr/bin/env bash
# Starts a throwaway single-node Ceph cluster (1 monitor, 1 memstore OSD, no mgr) and a RADOS Gateway
# bound to 127.0.0.1, all state under DIR (wiped first). Returns once the gateway answers HTTP.
# Usage: scripts/rgw/start.sh DIR   env: RGW_PORT (default 7480), MON_PORT (default 6789),
#        OBJECTSTORE=memstore|bluestore (default memstore), RGW_START_TIMEOUT_S (default 90)
# Stop with scripts/rgw/stop.sh DIR. Needs radosgw, ceph-mon, ceph-osd, ceph-common and curl
# (scripts/install-system-deps.sh installs them).
# Exit status: 0 started (prints the endpoint), 3 tools missing, 4 timed out, 5 RGW_PORT or MON_PORT was taken
# by another process before the daemon could bind it (start again with other ports), anything else failed.
#
# Every process of the cluster runs with --no-mon-config: its config, fsid included, comes from DIR/ceph.conf
# alone. Without it each one first fetches config from the monitor and then builds its monitor map from the
# monitor addresses only, with fsid 0; with auth none nothing makes it wait for the monitor's own map before
# its first command, so about every other start the OSD's boot-time 'osd crush set-device-class' went out
# with fsid 0, the monitor answered 'wrong fsid' and the OSD exited ("mon_cmd_maybe_osd_create fail: 'wrong
# fsid'"). With the fsid from the start, a command also cannot be served by another cluster's monitor.
set -euo pipefail
# fd 3: the caller's stderr, for failures found inside wait_for (which silences its command). The daemons get
# it closed (3>&-): one holding the caller's pipe open would keep the caller waiting for the end of its output.
exec 3>&2
dir=${1:?usage: start.sh DIR}
rgw_port=${RGW_PORT:-7480}
mon_port=${MON_PORT:-6789}
store=${OBJECTSTORE:-memstore}
deadline=$(( $(date +%s) + ${RGW_START_TIMEOUT_S:-90} ))

for bin in ceph-mon ceph-osd ceph radosgw monmaptool curl; do
  command -v "$bin" >/dev/null 2>&1 || { echo "start.sh: '$bin' not found; run scripts/install-system-deps.sh" >&2; exit 3; }
done

KEEP_DIR=0 bash "$(dirname "$0")/stop.sh" "$dir" >&2 # an earlier cluster's processes in a reused DIR, if any
mkdir -p "$dir/mon" "$dir/osd" "$dir/run" "$dir/log"
dir=$(cd "$dir" && pwd)
fsid=$(cat /proc/sys/kernel/random/uuid)
conf="$dir/ceph.conf"

cat >"$conf" <<CONF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$mon_port
public addr = 127.0.0.1
ms bind ipv4 = true
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
keyring = $dir/keyring
run dir = $dir/run
admin socket = $dir/run/\$cluster-\$name.asok
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
mon data = $dir/mon/\$name
osd data = $dir/osd/\$name
osd objectstore = $store
memstore device bytes = 4294967296
bluestore block create = true
bluestore block size = 10737418240
bluestore fsck on mkfs = false
bdev aio = true
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
osd op num shards = 1
osd op num threads per shard = 2
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 2000
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0

[client.rgw.local]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw dns name = localhost
rgw enable usage log = false
rgw thread pool size = 32
CONF

port_taken() { # daemon, port, log files...: exits 5 if the daemon's log says it could not bind its port
  local daemon=$1 port=$2; shift 2
  if grep -qsE "(unable to bind|failed to bind address).*127\.0\.0\.1:$port([^0-9]|\$)" "$@"; then
    echo "start.sh: port $port for the $daemon is taken by another process" >&3; exit 5
  fi
}

alive() { # pid: running (a zombie has exited: nothing may have reaped it yet)
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# Whether process $1 holds a TCP socket listening on 127.0.0.1:$2 (read from /proc, so no ss/lsof needed).
listens_on() {
  local pid=$1 want local_addr state inode fd link
  want=$(printf '0100007F:%04X' "$2")
  local inodes=()
  while read -r _ local_addr _ state _ _ _ _ _ inode _; do
    if [ "$local_addr" = "$want" ] && [ "$state" = 0A ]; then inodes+=("$inode"); fi
  done </proc/net/tcp
  [ ${#inodes[@]} -gt 0 ] || return 1
  for fd in /proc/"$pid"/fd/*; do
    link=$(readlink "$fd" 2>/dev/null) || continue
    for inode in "${inodes[@]}"; do [ "$link" = "socket:[$inode]" ] && return 0; done
  done
  return 1
}

wait_for() { # description, command...
  local what=$1; shift
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "start.sh: timed out waiting for $what (logs in $dir/log)" >&3; exit 4
    fi
    sleep 0.25
  done
}

# The `ceph` CLI (python over librados) has the same race as the daemons had, and --no-mon-config does not close
# it there: its first message, the request for the monitor's command descriptions, can leave before the monitor's
# map has arrived and carry fsid 0, which the monitor refuses ("handle_command on fsid 0000…" in mon.a.log, "Error
# EPERM: problem getting command descriptions from mon." on stderr). Nothing has run then, so that one refusal is
# retried (every command here is idempotent); any other failure is final.
ceph_cli() {
  local err="$dir/log/ceph-cli.err" try status
  for try in 1 2 3 4 5 6 7 8; do
    status=0
    ceph -c "$conf" --no-mon-config "$@" 2>"$err" || status=$?
    [ "$status" -eq 0 ] && return 0
    grep -q 'problem getting command descriptions' "$err" || break
    sleep 0.2
  done
  cat "$err" >&2
  return "$status"
}

monmaptool --create --clobber --fsid "$fsid" --addv a "[v1:127.0.0.1:$mon_port]" "$dir/monmap" >/dev/null
ceph-mon -c "$conf" --no-mon-config -i a --mkfs --monmap "$dir/monmap" >"$dir/log/mkfs-mon.out" 2>&1
if ! ceph-mon -c "$conf" --no-mon-config -i a 2>>"$dir/log/daemons.err" 3>&-; then
  port_taken monitor "$mon_port" "$dir/log/daemons.err" "$dir/log/mon.a.log"
  echo "start.sh: the monitor did not start (logs in $dir/log)" >&2; exit 1
fi
wait_for "the monitor" ceph_cli --connect-timeout 5 mon stat

osd_uuid=$(cat /proc/sys/kernel/random/uuid)
osd_id=$(ceph_cli osd new "$osd_uuid")
mkdir -p "$dir/osd/osd.$osd_id"
ceph-osd -c "$conf" --no-mon-config -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" >"$dir/log/mkfs-osd.out" 2>&1
ceph_cli osd crush add-bucket localhost host >/dev/null
ceph_cli osd crush move localhost root=default >/dev/null
ceph_cli osd crush add "osd.$osd_id" 1.0 host=localhost >/dev/null
ceph-osd -c "$conf" --no-mon-config -i "$osd_id" 2>>"$dir/log/daemons.err" 3>&-
osd_up() { ceph_cli --connect-timeout 5 osd stat 2>/dev/null | grep -q '1 up'; }
wait_for "the OSD" osd_up

# radosgw returns before binding its port, and exits when the port is taken; whatever answers HTTP on the
# port may then be someone else (another cluster's gateway), so wait until this cluster's radosgw holds it.
radosgw -c "$conf" --no-mon-config -n client.rgw.local 2>>"$dir/log/daemons.err" 3>&-
rgw_pid_file="$dir/run/client.rgw.local.pid"
rgw_listening() {
  local pid
  if ! pid=$(cat "$rgw_pid_file" 2>/dev/null) || [ -z "$pid" ]; then
    port_taken gateway "$rgw_port" "$dir/log/client.rgw.local.log"
    return 1
  fi
  if ! alive "$pid"; then
    port_taken gateway "$rgw_port" "$dir/log/daemons.err" "$dir/log/client.rgw.local.log"
    echo "start.sh: the gateway exited (logs in $dir/log)" >&3; exit 1
  fi
  listens_on "$pid" "$rgw_port"
}
wait_for "the gateway to bind port $rgw_port" rgw_listening
wait_for "the gateway on port $rgw_port" curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$rgw_port/"
echo "http://127.0.0.1:$rgw_port"
