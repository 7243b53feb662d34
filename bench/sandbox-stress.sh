#!/usr/bin/env bash
# Runs the sandbox containment tests N times (default 50) while CPU hogs keep every core busy, and prints the pass
# count: the flood test once failed only on a loaded machine. Build first: dotnet build tests/SharpLM.Tests
# Usage: bench/sandbox-stress.sh [runs] [filter]
set -u
cd "$(dirname "$0")/.."
runs=${1:-50}
filter=${2:-FullyQualifiedName~ContainmentTests}
hogs=()
# One busy loop per core plus one, so the sandbox and the test host compete for CPU.
for _ in $(seq 0 "$(nproc)"); do (while :; do :; done) & hogs+=($!); done
stop_hogs() { for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null; done; }
trap stop_hogs EXIT
passed=0
log=$(mktemp -d "${TMPDIR:-/tmp}/sandbox-stress-XXXXXX")
for i in $(seq 1 "$runs"); do
    start=$(date +%s)
    if dotnet test tests/SharpLM.Tests --no-build --filter "$filter" >"$log/run-$i.log" 2>&1; then
        passed=$((passed + 1)); verdict=passed
    else
        verdict="FAILED (log: $log/run-$i.log)"
        grep -E "^\s+Failed |Error Message" -A3 "$log/run-$i.log" | head -20
    fi
    echo "run $i/$runs: $verdict in $(( $(date +%s) - start )) s"
done
echo "sandbox stress: $passed/$runs passed under $(( ${#hogs[@]} )) CPU hogs on $(nproc) cores ($filter)"
[ "$passed" -eq "$runs" ]
