#!/usr/bin/env bash
# Packs the three packages (Release, version from the git tags through MinVer) with their symbol packages into one
# folder: eng/pack.sh [output folder, default artifacts/packages]. Tests, samples and benchmarks are not packable.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-artifacts/packages}"
for package in Dogpile Dogpile.Redis Dogpile.Memcached; do
  dotnet pack "src/$package/$package.csproj" -c Release -o "$out" -clp:NoSummary
done
ls -1 "$out"
