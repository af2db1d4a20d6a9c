#!/bin/sh
# Builds asock and runs the loopback demonstration on each engine (no outside server needed).
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j "$(nproc)" --target asock-demo
status=0
for engine in io_uring epoll; do
    echo "===================================================== engine: $engine"
    ./build/release/examples/asock-demo "$engine" || status=1
done
exit $status
