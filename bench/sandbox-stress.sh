#!/usr/bin/env bash
# Runs every sandbox containment test (tests/.../ContainmentTests.cs) for N rounds (default 50), P rounds at a time
# (default 4), while CPU hogs keep every core busy, and prints the pass count: the stdout flood test once failed
# only on a loaded machine. One test host runs all rounds (ContainmentStress), so rounds cost test bodies only.
# Usage: bench/sandbox-stress.sh [rounds] [parallel]      (build first: dotnet build tests/SharpLM.Tests)
set -u
cd "$(dirname "$0")/.."
rounds=${1:-50}
parallel=${2:-4}
hogs=()
# One busy loop per core plus one, so the sandboxes and the test host compete for CPU.
for _ in $(seq 0 "$(nproc)"); do (while :; do :; done) & hogs+=($!); done
stop_hogs() { for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null; done; }
trap stop_hogs EXIT
echo "$(date -u +%FT%TZ): $rounds rounds, $parallel at a time, ${#hogs[@]} CPU hogs on $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
SHARPLM_SANDBOX_STRESS=$rounds SHARPLM_SANDBOX_STRESS_PARALLEL=$parallel \
    dotnet test tests/SharpLM.Tests --no-build --filter "FullyQualifiedName~ContainmentStress" --logger "console;verbosity=detailed" 2>&1 |
    grep -E "^ *(round [0-9]+:|sandbox stress:)|Passed!|Failed!"
status=${PIPESTATUS[0]}
echo "$(date -u +%FT%TZ): done, load $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
