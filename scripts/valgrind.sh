#!/bin/sh
# valgrind memcheck over the epoll-engine tests (STYLE.md habit 5): every test labelled
# engine:epoll, the unit tests and the fuzz corpus replays run under
#   valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99
# through `ctest -T memcheck` (fixtures such as the dnsmasq server start as usual), and any
# memcheck error or definite/indirect leak fails that test.  The io_uring engine is left out:
# the kernel's writes through the rings are invisible to memcheck (scripts/test.sh's ASan build
# covers it).  Left out: long tests (time), netns tests (root; nothing memory-specific), and the
# rlimit tests (valgrind emulates RLIMIT_NOFILE with descriptors of its own, so the limit the
# test sets up is not the one the kernel applies).  scripts/valgrind.supp holds the one
# suppression needed: a c-ares 1.18 leak (docs/RELIABILITY.md, F3).
#
#   scripts/valgrind.sh [extra ctest arguments, e.g. -R socket]
# Environment: BUILD (default build/valgrind), JOBS (default 2).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/valgrind}
JOBS=${JOBS:-2}
VALGRIND=$(command -v valgrind) || { echo "valgrind.sh: apt-get install valgrind" >&2; exit 1; }
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DASOCK_WERROR=ON >/dev/null
cmake --build "$BUILD"
OPTS="--leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect"
OPTS="$OPTS --error-exitcode=99 --num-callers=30 --track-origins=yes"
OPTS="$OPTS --suppressions=$(pwd)/scripts/valgrind.supp"
cd "$BUILD"
ASOCK_ENGINE=epoll ctest -T memcheck -j "$JOBS" --output-on-failure --timeout 1800 \
    --overwrite "MemoryCheckCommand=$VALGRIND" \
    --overwrite "MemoryCheckCommandOptions=$OPTS" \
    -L '^(engine:epoll|unit|fuzz)$' -LE '^(long|netns|rlimit|engine:io_uring)$' "$@"
