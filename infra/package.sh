#!/usr/bin/env bash
# `make package`: builds every task as an AWS Lambda (provided.al2023) zip holding one
# `bootstrap`, in dist/<task>.zip, the CodeUri of each function in infra/template.yaml.
#
#   ARCH=arm64 (default) or ARCH=x86_64   must match the stack's Architecture parameter
#   TASKS="classify isolate"              build only these (default: every task)
#
# cargo-lambda and zig (its cross-linker) come from PyPI into .venv, pinned below. Cross
# compiling also needs the Rust standard library of the target (rustup target add): if this
# machine cannot download it, build with ARCH matching the machine instead.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv="$root/.venv"

CARGO_LAMBDA_VERSION=1.9.2
ZIGLANG_VERSION=0.15.2
ALL_TASKS="classify check-exemption isolate snapshot tag restore revoke contain-function contain-bucket contain-database contain-task notify await-approval approval-callback update-security-hub feedback"
ARCH=${ARCH:-arm64}
TASKS=${TASKS:-$ALL_TASKS}

case "$ARCH" in
  arm64) flag=--arm64 target=aarch64-unknown-linux-gnu ;;
  x86_64) flag=--x86-64 target=x86_64-unknown-linux-gnu ;;
  *) echo "ARCH is '$ARCH'; expected arm64 or x86_64" >&2; exit 2 ;;
esac

run() {
  echo "+ $*"
  "$@"
}

echo "== tools"
if [ ! -x "$venv/bin/python" ]; then
  run python3 -m venv "$venv"
fi
stamp="$venv/.installed-cargo-lambda-$CARGO_LAMBDA_VERSION-zig-$ZIGLANG_VERSION"
if [ ! -f "$stamp" ]; then
  run "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "cargo-lambda==$CARGO_LAMBDA_VERSION" "ziglang==$ZIGLANG_VERSION"
  touch "$stamp"
fi
# cargo-lambda runs as `cargo lambda`; it finds zig through `python3 -m ziglang` of the venv.
export PATH="$venv/bin:$PATH"
if ! rustup target list --installed | grep -qx "$target"; then
  if ! run rustup target add "$target"; then
    echo "cannot install the Rust standard library for $target; build with ARCH matching this machine ($(uname -m))" >&2
    exit 1
  fi
fi

for task in $TASKS; do
  if [ ! -f "tasks/$task/Cargo.toml" ]; then
    echo "tasks/$task does not exist" >&2
    exit 1
  fi
done

echo "== build ($ARCH)"
# One task per build: Cargo unifies the features of every package built together, so one
# build of all tasks links each SDK feature any task needs into every binary (aws-sdk-lambda's
# event-stream signing made isolate 0.56 MB larger). Built alone, each task links only its own.
lambda_dir="target/lambda-$ARCH"
for task in $TASKS; do
  run cargo lambda build --release "$flag" --output-format zip --lambda-dir "$lambda_dir" -p "$task"
done

echo "== dist"
mkdir -p dist
for task in $TASKS; do
  zip="$lambda_dir/$task/bootstrap.zip"
  if [ ! -f "$zip" ]; then
    echo "$zip was not produced" >&2
    exit 1
  fi
  cp "$zip" "dist/$task.zip"
done
printf '%-28s %12s %12s\n' zip bytes unzipped
for task in $TASKS; do
  size=$(stat -c %s "dist/$task.zip")
  unzipped=$(python3 -c 'import sys,zipfile; print(sum(i.file_size for i in zipfile.ZipFile(sys.argv[1]).infolist()))' "dist/$task.zip")
  printf '%-28s %12s %12s\n' "dist/$task.zip" "$size" "$unzipped"
done
