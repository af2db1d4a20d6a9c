#!/bin/sh
# ThreadSanitizer run (STYLE.md habit 4): builds with -fsanitize=thread (ASOCK_SANITIZE=thread)
# and runs, on both engines, the loop tests (posts from threads), the stress tests (close with
# operations in flight) and the race tests (tests/tsan: 4 threads posting at full speed, cancel
# racing completion, close from inside callbacks).
#
#   scripts/tsan.sh            clang (default; CC=gcc works too)
# Environment: BUILD (default build/tsan), ASOCK_RACE_POSTS, ASOCK_RACE_REPEAT.
# Suppressions, if any are ever needed for liburing or c-ares, go in tests/tsan/tsan.supp (none
# are needed today: asock's own code is what runs on several threads).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/tsan}
CC=${CC:-clang} cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DASOCK_SANITIZE=thread -DASOCK_WERROR=ON >/dev/null
targets=$(ls tests/loop/test_*.c tests/stress/test_*.c tests/tsan/test_*.c |
    sed 's|tests/\([a-z]*\)/\(test_[a-z_]*\)\.c|\1_\2|')
# shellcheck disable=SC2086
cmake --build "$BUILD" --target $targets
supp=""
[ -f tests/tsan/tsan.supp ] && supp=":suppressions=$(pwd)/tests/tsan/tsan.supp"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:history_size=4${supp}"
cd "$BUILD"
ctest --output-on-failure -L 'loop|stress|races' -LE 'long' --timeout 600
