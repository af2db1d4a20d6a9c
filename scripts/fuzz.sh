#!/bin/sh
# Builds the libFuzzer targets (clang, -fsanitize=fuzzer,address,undefined; LeakSanitizer on)
# and runs each for SECONDS (default 60), one after another (or ASOCK_FUZZ_PARALLEL at a time).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     default: every target in fuzz/
#
# Environment:
#   BUILD=dir            build directory (default build/fuzz)
#   ASOCK_FUZZ_MERGE=1   afterwards, merge inputs that add coverage into fuzz/corpus/<name>
#   ASOCK_FUZZ_JOBS=N    libFuzzer workers per target (default 1; the machine is shared)
#   ASOCK_FUZZ_PARALLEL=N  targets run at the same time (default 1; scripts/test.sh uses one per
#                        CPU, so every target gets its full time in a fraction of the wall time)
# New inputs go to $BUILD/corpus/<name> (the committed fuzz/corpus/<name> is read as seeds);
# crashes to $BUILD/artifacts/.  One line per run is appended to $BUILD/fuzz-stats.tsv
# (date, target, seconds, executions, exec/s, coverage, result), the figures RELIABILITY.md
# quotes.  Exits 1 if any target found a failure.
set -eu
cd "$(dirname "$0")/.."
SECONDS_PER=${1:-60}
[ $# -gt 0 ] && shift
BUILD=${BUILD:-build/fuzz}
JOBS=${ASOCK_FUZZ_JOBS:-1}
TARGETS=${*:-$(ls fuzz/fuzz_*.c | sed 's|fuzz/fuzz_||; s|\.c$||')}

command -v clang >/dev/null || { echo "fuzz.sh: clang is needed (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
CC=clang cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DASOCK_FUZZ=ON \
    -DASOCK_WERROR=ON >/dev/null
# shellcheck disable=SC2046
cmake --build "$BUILD" --target $(for t in $TARGETS; do printf 'fuzz_%s ' "$t"; done)

BUILD=$(cd "$BUILD" && pwd)
top=$(pwd)
mkdir -p "$BUILD/artifacts"
STATS="$BUILD/fuzz-stats.tsv"
[ -f "$STATS" ] || printf 'date\ttarget\tseconds\texecutions\texec_per_s\tcoverage\tresult\n' >"$STATS"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(pwd)/fuzz/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
PARALLEL=${ASOCK_FUZZ_PARALLEL:-1}

# Runs one target; its summary line goes to $BUILD/fuzz-$t.result, its stats line to the TSV.
run_target() {
    t=$1
    bin=$(find "$BUILD" -name "fuzz_$t" -type f -perm -u+x | head -n 1)
    if [ -z "$bin" ]; then
        echo "fuzz.sh: no binary for $t" >&2
        echo "FAILED (no binary)" >"$BUILD/fuzz-$t.result"
        return 1
    fi
    mkdir -p "$BUILD/corpus/$t"
    maxlen=4096
    [ "$t" = dns_reply ] && maxlen=16384
    log="$BUILD/fuzz-$t.log"
    set +e
    if [ "$JOBS" -gt 1 ]; then
        # parallel workers write fuzz-N.log in the current directory: keep them apart per target
        mkdir -p "$BUILD/jobs-$t"
        (cd "$BUILD/jobs-$t" && "$bin" -max_total_time="$SECONDS_PER" -timeout=30 \
            -max_len="$maxlen" -print_final_stats=1 -jobs="$JOBS" -workers="$JOBS" \
            -artifact_prefix="$BUILD/artifacts/$t-" "$BUILD/corpus/$t" \
            "$top/fuzz/corpus/$t") >"$log" 2>&1
        rc=$?
        cat "$BUILD/jobs-$t"/fuzz-[0-9]*.log >>"$log" 2>/dev/null || true
        rm -rf "$BUILD/jobs-$t"
    else
        "$bin" -max_total_time="$SECONDS_PER" -timeout=30 -max_len="$maxlen" \
            -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$t-" \
            "$BUILD/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1
        rc=$?
    fi
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | awk '{s+=$1} END {print s+0}')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | sed 's/cov: //')
    rate=$(awk -v e="$execs" -v s="$SECONDS_PER" 'BEGIN {printf "%.0f", e / s}')
    result=ok
    if [ $rc -ne 0 ]; then
        result="FAILED (rc $rc, see $log)"
        grep -E 'ERROR|fuzz check failed|SUMMARY|Test unit written' "$log" | head -n 20 >&2 || true
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$t" "$SECONDS_PER" \
        "$execs" "$rate" "${cov:-?}" "$result" >>"$STATS"
    echo "== fuzz $t, ${SECONDS_PER}s: $execs executions ($rate/s), coverage ${cov:-?}: $result"
    if [ "${ASOCK_FUZZ_MERGE:-0}" = 1 ] && [ $rc -eq 0 ]; then
        "$bin" -merge=1 -max_len="$maxlen" "fuzz/corpus/$t" "$BUILD/corpus/$t" >>"$log" 2>&1 || true
    fi
    echo "$result" >"$BUILD/fuzz-$t.result"
    [ $rc -eq 0 ]
}

# in batches of $PARALLEL targets (POSIX sh has no "wait for any one job")
echo "== fuzz: ${SECONDS_PER}s per target, $PARALLEL at a time: $(echo $TARGETS)"
running=0
for t in $TARGETS; do
    rm -f "$BUILD/fuzz-$t.result"
    run_target "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$PARALLEL" ]; then
        wait
        running=0
    fi
done
wait
failed=0
for t in $TARGETS; do
    case $(cat "$BUILD/fuzz-$t.result" 2>/dev/null || echo missing) in
    ok) ;;
    *) echo "fuzz.sh: $t failed" >&2; failed=1 ;;
    esac
done
exit $failed
