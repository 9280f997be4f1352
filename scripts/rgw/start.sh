#!/usr/bin/env bash
# Starts a throwaway single-node Ceph cluster (1 monitor, 1 memstore OSD, no mgr) and a RADOS Gateway
# bound to 127.0.0.1, all state under DIR (wiped first). Returns once the gateway answers HTTP.
# Usage: scripts/rgw/start.sh DIR   env: RGW_PORT (default 7480), MON_PORT (default 6789),
#        OBJECTSTORE=memstore|bluestore (default memstore), RGW_START_TIMEOUT_S (default 90)
# Stop with scripts/rgw/stop.sh DIR. Needs radosgw, ceph-mon, ceph-osd, ceph-common and curl
# (scripts/install-system-deps.sh installs them).
set -euo pipefail
dir=${1:?usage: start.sh DIR}
rgw_port=${RGW_PORT:-7480}
mon_port=${MON_PORT:-6789}
store=${OBJECTSTORE:-memstore}
deadline=$(( $(date +%s) + ${RGW_START_TIMEOUT_S:-90} ))

for bin in ceph-mon ceph-osd ceph radosgw monmaptool curl; do
  command -v "$bin" >/dev/null 2>&1 || { echo "start.sh: '$bin' not found; run scripts/install-system-deps.sh" >&2; exit 3; }
done

rm -rf "$dir"
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

wait_for() { # description, command...
  local what=$1; shift
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "start.sh: timed out waiting for $what (logs in $dir/log)" >&2; exit 4
    fi
    sleep 0.25
  done
}

monmaptool --create --clobber --fsid "$fsid" --addv a "[v1:127.0.0.1:$mon_port]" "$dir/monmap" >/dev/null
ceph-mon -c "$conf" -i a --mkfs --monmap "$dir/monmap" >"$dir/log/mkfs-mon.out" 2>&1
ceph-mon -c "$conf" -i a 2>>"$dir/log/daemons.err"
wait_for "the monitor" ceph -c "$conf" --connect-timeout 5 mon stat

osd_uuid=$(cat /proc/sys/kernel/random/uuid)
osd_id=$(ceph -c "$conf" osd new "$osd_uuid")
mkdir -p "$dir/osd/osd.$osd_id"
ceph-osd -c "$conf" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" >"$dir/log/mkfs-osd.out" 2>&1
ceph -c "$conf" osd crush add-bucket localhost host >/dev/null 2>&1 || true
ceph -c "$conf" osd crush move localhost root=default >/dev/null 2>&1 || true
ceph -c "$conf" osd crush add "osd.$osd_id" 1.0 host=localhost >/dev/null 2>&1
ceph-osd -c "$conf" -i "$osd_id" 2>>"$dir/log/daemons.err"
osd_up() { ceph -c "$conf" --connect-timeout 5 osd stat 2>/dev/null | grep -q '1 up'; }
wait_for "the OSD" osd_up

radosgw -c "$conf" -n client.rgw.local 2>>"$dir/log/daemons.err"
wait_for "the gateway on port $rgw_port" curl -s -o /dev/null "http://127.0.0.1:$rgw_port/"
echo "http://127.0.0.1:$rgw_port"
