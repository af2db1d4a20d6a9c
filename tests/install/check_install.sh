#!/bin/sh
# Installs asock from BUILD_DIR into a scratch prefix and builds a consumer against it three ways:
# CMake find_package (shared and static) and pkg-config.  Then checks that libasock.so exports
# nothing but asock_* symbols.
set -eu
build_dir=$1
src_dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
cmake --install "$build_dir" --prefix "$prefix" >/dev/null
libdir=$(find "$prefix" -name 'libasock.so' -printf '%h\n' | head -n 1)
[ -n "$libdir" ] || { echo "libasock.so not installed" >&2; exit 1; }
[ -f "$libdir/libasock.a" ] || { echo "libasock.a not installed" >&2; exit 1; }
[ -f "$prefix/include/asock/asock.h" ] || { echo "asock.h not installed" >&2; exit 1; }

echo "-- find_package(asock)"
cmake -S "$src_dir/consumer" -B "$work/cm" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cm" >/dev/null
LD_LIBRARY_PATH=$libdir "$work/cm/consumer_shared"
"$work/cm/consumer_static"

echo "-- pkg-config asock"
export PKG_CONFIG_PATH=$libdir/pkgconfig
cc -o "$work/pc" "$src_dir/consumer/main.c" $(pkg-config --cflags --libs asock)
LD_LIBRARY_PATH=$libdir "$work/pc"
cc -o "$work/pc_static" "$src_dir/consumer/main.c" -DASOCK_STATIC_BUILD \
    $(pkg-config --cflags asock) "$libdir/libasock.a" $(pkg-config --static --libs-only-l asock | sed 's/-lasock//')
"$work/pc_static"

echo "-- exported symbols"
bad=$(nm -D --defined-only "$libdir/libasock.so" | awk '{print $3}' | grep -v '^asock_' | grep -v '^ASOCK_' || true)
if [ -n "$bad" ]; then
    echo "libasock.so exports symbols outside asock_: $bad" >&2
    exit 1
fi
echo "install check passed"
