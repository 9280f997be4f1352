#!/usr/bin/env bash
# Creates one node's gateway user: a read-write S3 key for the owner and a read-only subuser key for
# everyone else. Keys are given by the caller (so they can follow Templar's 32/32/64-char layout).
# Usage: scripts/rgw/create-node.sh DIR UID WRITE_KEY WRITE_SECRET READ_KEY READ_SECRET
set -euo pipefail
dir=${1:?usage: create-node.sh DIR UID WRITE_KEY WRITE_SECRET READ_KEY READ_SECRET}
uid=${2:?uid}; wk=${3:?write key}; ws=${4:?write secret}; rk=${5:?read key}; rs=${6:?read secret}
conf="$dir/ceph.conf" # --no-mon-config: see start.sh
radosgw-admin -c "$conf" --no-mon-config user create --uid="$uid" --display-name="$uid" \
  --access-key="$wk" --secret-key="$ws" >/dev/null
radosgw-admin -c "$conf" --no-mon-config subuser create --uid="$uid" --subuser="$uid:ro" --access=read \
  --key-type=s3 --access-key="$rk" --secret-key="$rs" >/dev/null
