#!/bin/sh
# Instructions per operation under valgrind --tool=callgrind, and where they go.
#
#   bench/callgrind.sh [-b ASOCK_BENCH] [-w WORKLOAD] [-n OPS] [-k] [IMPL...]
#
# For each implementation (default: all six) runs WORKLOAD (default tcp_ping_pong/1; also
# udp_ping_pong/1) for exactly OPS operations (default 20000) with collection switched on only
# inside the measured window (asock-bench toggles it), prints user-space instructions per
# operation, then the top functions by self cost (callgrind_annotate, --dump-instr=yes so the
# output files can be opened in kcachegrind for per-instruction detail).  -k keeps the output
# files (in $TMPDIR, named in the report).  User-space only: the kernel's side of a system
# call is not counted, which is why this is a regression guard and not a speed measurement.
set -eu
bench=""
workload="tcp_ping_pong/1"
ops=20000
keep=0
while getopts b:w:n:k opt; do
    case $opt in
    b) bench=$OPTARG ;;
    w) workload=$OPTARG ;;
    n) ops=$OPTARG ;;
    k) keep=1 ;;
    *) echo "usage: $0 [-b asock-bench] [-w workload] [-n ops] [-k] [impl...]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if [ -z "$bench" ]; then
    for c in ./bench/asock-bench ./asock-bench "$(dirname "$0")/../build/bench/asock-bench"; do
        if [ -x "$c" ]; then bench=$c; break; fi
    done
fi
[ -n "$bench" ] && [ -x "$bench" ] || { echo "$0: asock-bench not found (use -b)" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "$0: valgrind is not installed" >&2; exit 2; }
impls=${*:-"asock_uring asock_epoll raw_epoll raw_uring blocking libuv"}
tmp=${TMPDIR:-/tmp}
printf '%-12s %-18s %12s %10s\n' impl workload instructions instr/op
for impl in $impls; do
    out="$tmp/asock-cg.$impl.$$.out"
    opsf="$tmp/asock-cg.$impl.$$.ops"
    valgrind -q --tool=callgrind --collect-atstart=no --dump-instr=yes \
        --callgrind-out-file="$out" "$bench" --cg-child "$opsf" --workload "$workload" \
        --impl "$impl" --ops "$ops"
    n=$(cat "$opsf")
    total=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p; s/^summary: *\([0-9]*\).*/\1/p' "$out" | tail -1)
    printf '%-12s %-18s %12s %10s\n' "$impl" "$workload" "$total" "$((total / n))"
    echo "--- $impl: top functions by self instructions (per op = Ir / $n)"
    callgrind_annotate --threshold=99 "$out" 2>/dev/null |
        awk -v n="$n" '$2 ~ /^\(/ && $0 !~ /PROGRAM TOTALS/ && shown < 20 {
            ir = $1; gsub(",", "", ir); shown++
            printf "%8.1f/op  %s\n", ir / n, $0 }'
    if [ "$keep" = 1 ]; then echo "kept: $out"; else rm -f "$out"; fi
    rm -f "$opsf"
done
