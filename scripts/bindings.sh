#!/usr/bin/env bash
# Generate (or check) the bpg/proxmox bindings in .gen/ from the schema kept in schemas/.
#
#   scripts/bindings.sh           regenerate .gen/ offline from schemas/
#   scripts/bindings.sh --check   fail if .gen/ differs from what schemas/ generates
#
# Online users can also run a plain `npx cdktf get`: cdktf.json pins bpg/proxmox to the same
# version, so the registry's schema yields the same bindings.
set -euo pipefail
cd "$(dirname "$0")/.."
export CHECKPOINT_DISABLE=1
schemas="$PWD/schemas"

if [ "${1:-}" = "--check" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  npx cdktf get --force --experimental-provider-schema-cache-path "$schemas" --output "$tmp/.gen" >/dev/null
  if ! diff -r -q "$tmp/.gen" .gen; then
    echo "bindings: .gen/ does not match schemas/; run scripts/bindings.sh and commit the result" >&2
    exit 1
  fi
  echo "bindings: .gen/ matches schemas/"
else
  npx cdktf get --force --experimental-provider-schema-cache-path "$schemas"
fi
