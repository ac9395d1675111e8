#!/usr/bin/env bash
# Runs on the 16-core machine, from the repository root, with .publish/scaling.tar.gz (bench/scaling/publish.sh):
# the Zipf hit benchmark at 1 to 16 threads, in process (there is no SDK there to build BenchmarkDotNet's child
# processes). Writes BenchmarkDotNet's brief JSON and machine.md to $OUT; commit them as bench/scaling/results/,
# which bench/run.sh renders into docs/benchmarks.md.
#   OUT=/tmp/out COMMIT=abc1234 bench/scaling/run-on-device.sh
set -euo pipefail
out=${OUT:?set OUT to the results folder}
work=$(mktemp -d)
tar -C "$work" -xzf .publish/scaling.tar.gz
{
  echo "| | |"
  echo "| --- | --- |"
  echo "| CPU | $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) |"
  echo "| Logical CPUs (nproc) | $(nproc) |"
  echo "| Memory | $(free -g | awk '/Mem:/{print $2}') GiB |"
  echo "| OS | $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r) |"
  echo "| .NET runtime | self-contained linux-x64 publish of commit ${COMMIT:-unknown} |"
  echo "| Run | $(date -u '+%Y-%m-%d %H:%M') UTC |"
} > "$out/machine.md"
DOGPILE_BENCH_THREADS=${DOGPILE_BENCH_THREADS:-1,2,4,8,16} "$work/bench/Dogpile.Benchmarks" \
  --in-process --filter '*Zipf*' --artifacts "$work/artifacts" > "$out/zipf.log" 2>&1
cp "$work"/artifacts/results/*-report-brief.json "$out/"
grep -E '^\|' "$out/zipf.log" || true
