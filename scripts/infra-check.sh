#!/usr/bin/env bash
# `npm run infra:check`: compile and lint every Bicep entry point with the real compiler.
# Uses bicep (or az bicep) from PATH when present, else fetches the compiler from NuGet into tools/.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's:.*<BicepVersion>\(.*\)</BicepVersion>.*:\1:p' scripts/bicep-tool/bicep-tool.csproj)
if command -v bicep >/dev/null; then
  bicep=(bicep)
elif command -v az >/dev/null && az bicep version >/dev/null 2>&1; then
  bicep=(az bicep)
else
  if [ ! -x tools/bicep ] || ! tools/bicep --version | grep -q "$version"; then
    dotnet restore scripts/bicep-tool/bicep-tool.csproj --packages tools/nuget --nologo -v quiet
    cp "tools/nuget/azure.bicep.commandline.linux-x64/$version/tools/bicep" tools/bicep
    chmod +x tools/bicep
    rm -rf scripts/bicep-tool/obj
  fi
  bicep=(tools/bicep)
fi
"${bicep[@]}" --version

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0
for entry in infra/main.bicep; do
  # Any diagnostic fails the check: errors, and warnings the linter config left as warnings.
  if ! "${bicep[@]}" build "$entry" --outdir "$out" 2>"$out/diagnostics.txt" || [ -s "$out/diagnostics.txt" ]; then
    cat "$out/diagnostics.txt" >&2
    status=1
  else
    echo "ok: $entry compiles and passes the linter"
  fi
done
exit $status
