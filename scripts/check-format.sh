#!/bin/sh
# Fails when a C source or header differs from .clang-format (STYLE.md habit 1).
set -eu
cd "$(dirname "$0")/.."
CF=${CLANG_FORMAT:-clang-format}
command -v "$CF" >/dev/null 2>&1 || { echo "check-format: $CF not found" >&2; exit 1; }
bad=0
for f in $(git ls-files '*.c' '*.h' 2>/dev/null || find src include tests tools bench examples -name '*.[ch]'); do
    if ! "$CF" --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "needs clang-format: $f"
        bad=1
    fi
done
exit $bad
