#!/usr/bin/env bash
# `npm run infra:check`: compile every Bicep entry point and lint every Bicep file under infra/
# with the real compiler, failing on any error or warning (infra/bicepconfig.json raises the rules
# that matter to errors; BCP081, an API version the compiler has no types for, is a warning, so it
# fails too). Info-level findings are printed and do not fail.
#
# The compiler: `bicep` or `az bicep` from PATH when present, else the pinned
# Azure.Bicep.CommandLine.linux-x64 NuGet package, fetched once by `dotnet restore` of
# scripts/bicep-tool into tools/ (gitignored) and reused from there.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's:.*<BicepVersion>\(.*\)</BicepVersion>.*:\1:p' scripts/bicep-tool/bicep-tool.csproj)

if command -v bicep >/dev/null 2>&1; then
  bicep=(bicep)
elif command -v az >/dev/null 2>&1 && az bicep version >/dev/null 2>&1; then
  bicep=(az bicep)
else
  if [ ! -x tools/bicep ] || ! tools/bicep --version 2>/dev/null | grep -qF "$version"; then
    if ! command -v dotnet >/dev/null 2>&1; then
      echo "infra:check: no bicep or az on PATH, and no dotnet to fetch Azure.Bicep.CommandLine.linux-x64 $version from NuGet." >&2
      exit 1
    fi
    echo "Fetching the Bicep compiler $version from NuGet into tools/ ..."
    dotnet restore scripts/bicep-tool/bicep-tool.csproj --packages tools/nuget --nologo -v quiet
    rm -rf scripts/bicep-tool/obj
    cp "tools/nuget/azure.bicep.commandline.linux-x64/$version/tools/bicep" tools/bicep
    chmod +x tools/bicep
  fi
  bicep=(tools/bicep)
fi
"${bicep[@]}" --version

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

status=0
# One compiler run per step; diagnostics go to stderr as "<file>(line,col) : <Level> <code>: ...".
check() {
  local what=$1 failed=0
  shift
  "${bicep[@]}" "$@" 2>"$out/diagnostics.txt" || failed=1
  cat "$out/diagnostics.txt" >&2
  grep -qE ' : (Error|Warning) ' "$out/diagnostics.txt" && failed=1
  if [ $failed -eq 0 ]; then echo "ok: $what"; else status=1; fi
}

# Entry points: the deployable templates at the top of infra/ (modules are compiled through them).
for entry in infra/*.bicep; do
  check "$entry compiles" build "$entry" --outfile "$out/$(basename "$entry" .bicep).json"
done
# Every file on its own, so a module no entry point uses yet is linted too.
check "infra/**/*.bicep pass the linter" lint --pattern 'infra/**/*.bicep'

if [ $status -ne 0 ]; then
  echo "infra:check failed: fix the errors and warnings above (infra/bicepconfig.json sets the rule levels)." >&2
fi
exit $status
