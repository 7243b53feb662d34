#!/usr/bin/env bash
# Crash-safety experiment (not a test: it trains the full preset twice). Trains shakespeare-char uninterrupted,
# then again while SIGKILLing the process at random moments and resuming with --resume; after every kill the
# checkpoint must load (hashes verified), and the final weights must equal the uninterrupted run's.
#   bench/kill-resume-check.sh [KILLS=2] [OUT=out/kill-resume]
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-2}; out=${2:-out/kill-resume}
dotnet build -c Release src/SharpLM.Cli -v q -nologo >/dev/null
cli=src/SharpLM.Cli/bin/Release/net10.0/linux-x64/SharpLM.Cli
rm -rf "$out"; mkdir -p "$out"
$cli data prepare --input tinyshakespeare --out "$out/data" >/dev/null
args=(pretrain --preset shakespeare-char --data "$out/data")

echo "uninterrupted run…"
$cli "${args[@]}" --out "$out/straight" >"$out/straight.log" 2>&1

first=1
for k in $(seq 1 "$kills"); do
  delay=$(( (RANDOM % 40) + 15 ))
  flag=(); [[ $first -eq 0 ]] && flag=(--resume); first=0
  $cli "${args[@]}" --out "$out/killed" "${flag[@]}" >>"$out/killed.log" 2>&1 &
  pid=$!
  sleep "$delay"
  if kill -9 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || true
    if [[ -f "$out/killed/checkpoint.json" ]]; then
      step=$(grep -o '"step": *[0-9]*' "$out/killed/checkpoint.json" | head -1 | grep -o '[0-9]*$')
      echo "kill $k: SIGKILL after ${delay}s; checkpoint.json names step $step"
      $cli sample --checkpoint "$out/killed" --max-new-tokens 1 >/dev/null   # fails if any file is corrupt
    else
      echo "kill $k: SIGKILL after ${delay}s, before the first checkpoint"
    fi
  else
    echo "kill $k: run had already finished"
  fi
done
echo "resuming to the end…"
$cli "${args[@]}" --out "$out/killed" --resume >>"$out/killed.log" 2>&1
leftovers=$(find "$out/killed" -maxdepth 1 -name '*.tmp-*' | wc -l)
a=$(grep -o '"model_sha256": *"[0-9a-f]*"' "$out/straight/checkpoint.json")
b=$(grep -o '"model_sha256": *"[0-9a-f]*"' "$out/killed/checkpoint.json")
echo "uninterrupted: $a"
echo "killed+resumed: $b"
echo "temporary files left: $leftovers"
[[ "$a" == "$b" && "$leftovers" -eq 0 ]] && echo "IDENTICAL" || { echo "DIFFERENT"; exit 1; }
