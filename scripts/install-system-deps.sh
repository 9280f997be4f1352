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
# Software Vulkan adapter (Mesa lavapipe) for the WebGPU backend tests (Dawn, the `webgpu` package, needs Mesa >= 23:
# older lavapipe lacks shader*ArrayDynamicIndexing, so on Debian 12 it comes from bookworm-backports).
lavapipe_ok() {
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | sed -E 's/^[0-9]+://; s/^([0-9]+).*/\1/') || return 1
  [ -n "$v" ] && [ "$v" -ge 23 ]
}
backports=()
if ! lavapipe_ok; then
  if [ "$(. /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-}")" = bookworm ]; then backports=(mesa-vulkan-drivers); else need+=(mesa-vulkan-drivers); fi
fi
if [ ${#need[@]} -eq 0 ] && [ ${#backports[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing system packages: ${need[*]} ${backports[*]:+(bookworm-backports: ${backports[*]})} (install them with apt-get as root)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if [ ${#backports[@]} -gt 0 ] && ! grep -rqs '^deb .*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/bookworm-backports.list
fi
apt-get update -qq || true
if [ ${#need[@]} -gt 0 ]; then apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; fi
# without it the WebGPU tests skip, saying why; everything else still runs
if [ ${#backports[@]} -gt 0 ]; then
  apt-get install -y -qq --no-install-recommends -t bookworm-backports "${backports[@]}" >/dev/null ||
    echo "warning: mesa-vulkan-drivers from bookworm-backports could not be installed; the WebGPU tests will skip" >&2
fi
