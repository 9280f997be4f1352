#!/usr/bin/env bash
# Installs the Debian packages the test suite needs on a fresh machine (idempotent; needs root + apt).
# With --bench also what the benchmarks compare against: Debian's PyTorch on OpenBLAS and tcmalloc (`npm run bench:setup`).
set -euo pipefail
need=()
if [ "${1:-}" = --bench ]; then
  /usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || need+=(python3-torch)
  # Debian's torch links libblas.so.3, which is the netlib reference BLAS unless OpenBLAS provides it
  [ -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ] || [ -e /usr/lib/aarch64-linux-gnu/openblas-pthread/libblas.so.3 ] \
    || need+=(libopenblas0-pthread)
  # bench:train preloads tcmalloc into torch, as PyTorch's CPU tuning guide recommends (glibc malloc refaults its
  # activations every step)
  [ -e /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 ] || [ -e /usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4 ] \
    || need+=(libtcmalloc-minimal4)
fi
# Local S3 for the storage tests and bench:store (scripts/rgw/start.sh): Ceph mon + OSD + RADOS Gateway.
for bin in radosgw radosgw-admin ceph ceph-mon ceph-osd monmaptool; do
  if ! command -v "$bin" >/dev/null 2>&1; then need+=(radosgw ceph-mon ceph-osd ceph-common); break; fi
done
command -v curl >/dev/null 2>&1 || need+=(curl)
# Headless browser for the dashboard end-to-end test (test/dashboard, driven by playwright-core).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing system packages: ${need[*]} (install them with apt-get as root)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
