#!/usr/bin/env bash
# The whole test run (`npm test`): install the registry tools when missing, build, run every vitest project.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || missing+=(skopeo)
command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/test.sh: missing ${missing[*]}; install them as root:" >&2
    echo "  apt-get update && apt-get install -y docker-registry skopeo apache2-utils openssl" >&2
    exit 1
  fi
  echo "scripts/test.sh: installing ${missing[*]} with apt-get" >&2
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y docker-registry skopeo apache2-utils openssl
fi

echo "scripts/test.sh: building (tsc -p tsconfig.json)" >&2
npx tsc -p tsconfig.json

echo "scripts/test.sh: running vitest (unit + integration)" >&2
npx vitest run "$@"
