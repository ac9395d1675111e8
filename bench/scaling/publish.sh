#!/usr/bin/env bash
# Builds the micro benchmarks self-contained for linux-x64 into .publish/scaling.tar.gz, for the 16-core machine,
# which has no .NET. Then run bench/scaling/run-on-device.sh there (it needs that tarball beside it in the tree).
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf .publish/bench
dotnet publish bench/Dogpile.Benchmarks -c Release -r linux-x64 --self-contained -o .publish/bench -nologo -v q
tar -C .publish -czf .publish/scaling.tar.gz bench
ls -l .publish/scaling.tar.gz
