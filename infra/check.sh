#!/usr/bin/env bash
# Checks of the deployment: cfn-lint and checkov on the templates, asl-validator on the state
# machines, and the least-privilege tests (infra/tests). Installs its tools on first use:
# cfn-lint, the SAM translator and pytest into .venv (the repo's venv), checkov into
# .venv/checkov (its pins conflict with the others), asl-validator into infra/node_modules.
# Needs python3, node and npm, and package registry access the first time. Exits non-zero on
# the first failing check.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv="$root/.venv"
ckv="$venv/checkov"

run() {
  echo "+ $*"
  "$@"
}

# Installs a requirements file into a venv unless the same file was installed before.
install_requirements() {
  local env=$1 req=$2 stamp
  stamp="$env/.installed-$(basename "$req" .txt)-$(sha256sum "$req" | cut -c1-16)"
  if [ ! -x "$env/bin/python" ]; then
    run python3 -m venv "$env"
  fi
  if [ ! -f "$stamp" ]; then
    run "$env/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
    touch "$stamp"
  fi
}

echo "== tools"
install_requirements "$venv" infra/requirements.txt
install_requirements "$ckv" infra/requirements-checkov.txt
# npm ci wipes node_modules: only when the lock changed since the last install.
if ! cmp -s infra/package-lock.json infra/node_modules/.installed-lock.json 2>/dev/null; then
  run npm ci --prefix infra --no-audit --no-fund --loglevel=error
  cp infra/package-lock.json infra/node_modules/.installed-lock.json
fi

echo "== cfn-lint"
# No error and no warning: a warning that must stay is ignored inline in the template with
# its reason (Metadata cfn-lint ignore_checks).
run "$venv/bin/cfn-lint" infra/*.yaml

echo "== checkov"
# --skip-download: no call home (no network but the package registries); the built-in checks
# run offline. Every skipped check is justified next to the resource (Metadata checkov skip).
run "$ckv/bin/checkov" -d infra --framework cloudformation --quiet --compact --skip-download

echo "== asl-validator"
for f in statemachines/*.asl.json; do
  run infra/node_modules/.bin/asl-validator --json-path "$f"
done

echo "== pytest infra/tests"
run "$venv/bin/python" -m pytest -q infra/tests
