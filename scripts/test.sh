#!/bin/sh
# Builds asock and runs the whole test suite: a RelWithDebInfo build with -Werror, then an
# AddressSanitizer + UndefinedBehaviorSanitizer build (every behavioural test on both engines,
# and io_uring once more with every optional feature off), then ThreadSanitizer on the loop and
# race tests, valgrind memcheck on the epoll-engine tests, a short run of every fuzz target, and
# the format check.
# Usage: scripts/test.sh   (ASOCK_TEST_SKIP_SANITIZE / _TSAN / _VALGRIND / _FUZZ=1 skip a step;
#                           ASOCK_TEST_FUZZ_SECONDS sets the fuzz run per target, default 60)
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
if [ "${ASOCK_TEST_SKIP_TSAN:-0}" != 1 ]; then
    echo "== ThreadSanitizer: loop, posts from threads, stress and race tests"
    BUILD=build/tsan sh scripts/tsan.sh
fi
if [ "${ASOCK_TEST_SKIP_VALGRIND:-0}" != 1 ]; then
    echo "== valgrind memcheck: the epoll-engine tests"
    sh scripts/valgrind.sh
fi
if [ "${ASOCK_TEST_SKIP_FUZZ:-0}" != 1 ]; then
    # a minute of every libFuzzer target, one per CPU at a time (longer runs by hand:
    # scripts/fuzz.sh 3600)
    echo "== fuzz: ${ASOCK_TEST_FUZZ_SECONDS:-60} s per target"
    BUILD=build/fuzz ASOCK_FUZZ_PARALLEL=$JOBS sh scripts/fuzz.sh "${ASOCK_TEST_FUZZ_SECONDS:-60}"
fi
echo "== format"
sh scripts/check-format.sh
