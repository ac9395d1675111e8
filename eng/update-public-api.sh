#!/usr/bin/env bash
# Rewrites each package's src/<package>/PublicAPI.Unshipped.txt from the code as it is: every public symbol that is not
# in PublicAPI.Shipped.txt. Run it after changing (or merging a change to) a public API, then review the diff and
# commit it: that diff is the change to the public surface. PublicAPI.Shipped.txt is never touched here; it changes
# only at a release (docs/releasing.md).
#
# How: empty the Unshipped files, build the packages once with the public-API warnings (RS0016) left as warnings,
# and write the symbols they name, sorted, into each package's file. Exits non-zero when the build fails for any
# other reason, or when the packages still do not build cleanly afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(src/Dogpile src/Dogpile.Redis src/Dogpile.Memcached)
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

for package in "${packages[@]}"; do
  printf '#nullable enable\n' > "$package/PublicAPI.Unshipped.txt"
done

# Dogpile builds as a dependency of the other two. Every project compiles again (analyzers report only on a real
# compile): the Unshipped files just rewritten are inputs of its compilation.
for project in src/Dogpile.Redis src/Dogpile.Memcached; do
  if ! dotnet build "$project" -c Release -p:TreatWarningsAsErrors=false -clp:NoSummary >>"$log" 2>&1; then
    grep -E ': error ' "$log" | sort -u >&2 || true
    echo "update-public-api: the build of $project failed (errors above); the Unshipped files are left empty." >&2
    exit 1
  fi
done

for package in "${packages[@]}"; do
  name="$(basename "$package")"
  {
    printf '#nullable enable\n'
    # "...: warning RS0016: Symbol '<api line>' is not part of the declared public API (...) [.../<name>.csproj]"
    sed -nE "s/.*warning RS0016: Symbol '(.*)' is not part of the declared public API.*\[.*\/${name//./\\.}\.csproj\]\$/\1/p" "$log" |
      LC_ALL=C sort -u
  } > "$package/PublicAPI.Unshipped.txt"
  echo "$package/PublicAPI.Unshipped.txt: $(($(wc -l < "$package/PublicAPI.Unshipped.txt") - 1)) symbols"
done

# The files must now describe the code exactly: a clean build with the warnings as errors again.
for project in src/Dogpile.Redis src/Dogpile.Memcached; do
  if ! dotnet build "$project" -c Release -clp:NoSummary >"$log" 2>&1; then
    grep -E ': (error|warning) ' "$log" | sort -u >&2 || true
    echo "update-public-api: $project does not build cleanly with the regenerated files (above)." >&2
    exit 1
  fi
done
echo "update-public-api: done; review and commit the diff of src/*/PublicAPI.Unshipped.txt."
