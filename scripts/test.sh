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

echo "scripts/test.sh: building (npm run build: tsc, the CLI bundle, its code cache)" >&2
npm run --silent build
echo "scripts/test.sh: type-checking the tests (tsc -p tsconfig.test.json)" >&2
npx tsc -p tsconfig.test.json

echo "scripts/test.sh: running vitest (unit + integration)" >&2
report=$(mktemp -t rulesctl-vitest-XXXXXX.json)
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
# The plain closing line CI reads: counts from vitest's JSON report (skipped tests are not passes).
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$report" || { echo "scripts/test.sh: vitest wrote no report" >&2; status=1; }
rm -f "$report"
exit "$status"
