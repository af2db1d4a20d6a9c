#!/bin/sh
# Builds asock and runs the whole test suite: a RelWithDebInfo build with -Werror, then an
# AddressSanitizer + UndefinedBehaviorSanitizer build; every behavioural test on both engines.
# Usage: scripts/test.sh            (set ASOCK_TEST_SKIP_SANITIZE=1 to skip the sanitizer build)
set -eu
cd "$(dirname "$0")/.."
TOP=$(pwd)
sh scripts/deps.sh
JOBS=${JOBS:-$(nproc)}
CTEST_ARGS="--output-on-failure -j$JOBS --timeout 300"

echo "== build: gcc, -Werror"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DASOCK_WERROR=ON
cmake --build build/release -j "$JOBS"
echo "== tests: release build, both engines"
(cd build/release && ctest $CTEST_ARGS)

if [ "${ASOCK_TEST_SKIP_SANITIZE:-0}" != 1 ]; then
    echo "== build: clang, AddressSanitizer + UndefinedBehaviorSanitizer"
    CC=clang cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DASOCK_WERROR=ON \
        -DASOCK_SANITIZE=address,undefined
    cmake --build build/asan -j "$JOBS"
    echo "== tests: sanitizer build, both engines"
    (cd build/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        LSAN_OPTIONS=suppressions=$TOP/tests/lsan.supp \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest $CTEST_ARGS)
fi
echo "== format"
sh scripts/check-format.sh
