#!/usr/bin/env bash
# The one benchmark command: builds Release, runs the BenchmarkDotNet micro suite, the in-process scenarios and the
# distributed scenarios (bench/run-distributed.sh: its own redis-server and memcached on loopback ports), and rewrites
# docs/benchmarks.md. Needs redis-server and memcached (apt-get install redis-server memcached).
# Usage: bench/run.sh [--quick]   (--quick: in-process scenarios at 30% of their durations, micro suite filtered to
# hot hits, no distributed scenarios)
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

distributed_args=()
if [[ "$time_scale" == 1 ]]; then
  echo "== distributed scenarios =="
  bench/run-distributed.sh | tee "$artifacts/distributed.log"
  distributed_args=(--distributed "$artifacts/distributed")
fi

echo "== scenarios =="
dotnet bench/Dogpile.Scenarios/bin/Release/net10.0/Dogpile.Scenarios.dll \
  --micro "$micro_dir/results" \
  --doc "$root/docs/benchmarks.md" \
  --sdk "$(dotnet --version)" \
  --repo "$root" \
  --time-scale "$time_scale" "${distributed_args[@]}" | tee "$artifacts/scenarios.md"

echo "wrote docs/benchmarks.md"
