#!/bin/sh
# Installs the Debian packages asock needs to build and test, when any is missing.
# Usage: scripts/deps.sh [--force]   (--force: apt-get update + install even if all are present)
set -eu
PKGS="build-essential cmake ninja-build pkg-config clang liburing-dev libc-ares-dev libuv1-dev \
libcmocka-dev dnsmasq-base ncat socat nftables iproute2 python3 clang-format"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ] && [ "${1:-}" != "--force" ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi
echo "deps: installing:${missing:- (forced)}" >&2
$SUDO apt-get update
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $PKGS
