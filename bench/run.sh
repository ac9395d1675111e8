#!/usr/bin/env bash
# Builds Release, runs the BenchmarkDotNet micro suite and the scenarios, and rewrites docs/benchmarks.md.
# Usage: bench/run.sh [--quick]   (--quick: scenarios at 30% of their durations, micro suite filtered to hot hits)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
artifacts="$root/artifacts/bench"
micro_dir="$artifacts/micro"
filter='*'
time_scale=1
if [[ "${1:-}" == "--quick" ]]; then
  filter='*HotHit*'
  time_scale=0.3
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build -c Release bench/Dogpile.Benchmarks/Dogpile.Benchmarks.csproj -nologo -v quiet
dotnet build -c Release bench/Dogpile.Scenarios/Dogpile.Scenarios.csproj -nologo -v quiet

rm -rf "$micro_dir"
mkdir -p "$micro_dir" docs
echo "== micro benchmarks (BenchmarkDotNet) =="
dotnet bench/Dogpile.Benchmarks/bin/Release/net10.0/Dogpile.Benchmarks.dll \
  --filter "$filter" --artifacts "$micro_dir" > "$artifacts/micro.log"
grep -E '^\|' "$artifacts/micro.log" || true

echo "== scenarios =="
dotnet bench/Dogpile.Scenarios/bin/Release/net10.0/Dogpile.Scenarios.dll \
  --micro "$micro_dir/results" \
  --doc "$root/docs/benchmarks.md" \
  --sdk "$(dotnet --version)" \
  --repo "$root" \
  --time-scale "$time_scale" | tee "$artifacts/scenarios.md"

echo "wrote docs/benchmarks.md"
