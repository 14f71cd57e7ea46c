#!/usr/bin/env bash
# One idempotent setup for a fresh machine. Installs what the project needs and
# takes seconds when everything is already there:
#   1. Node >= 22 (the machine's if new enough, else node-<os>-<arch>@22 from npm)
#   2. npm dependencies and the TypeScript build
#   3. the real pulumi CLI at the @pulumi/pulumi version (on PATH, else built from
#      the Go module proxy into the cache, else Pulumi's installer)
#   4. moto server (pip install 'moto[server]' when missing)
#   5. the AWS CLI v1 (pip install awscli when missing), for the credential_process tests
#   6. Chromium (apt-get install chromium when missing), for the web UI's browser tests
#   7. fish (apt-get install fish when missing), to run `--format env --shell fish` output
#   8. script(1) (util-linux's bsdutils, when missing), to run the CLI on a pty (the spinner test)
set -euo pipefail
source "$(dirname "$0")/tools-env.sh"
say() { printf 'setup: %s\n' "$*" >&2; }
cd "$root"

# 1. Node >= 22
major=$machine_node_major
if [ "$major" -lt 22 ]; then
  if [ ! -x "$node22_bin/node" ]; then
    say "node $(node --version 2>/dev/null || echo none) is older than 22; installing $node_pkg@22 from the npm registry"
    mkdir -p "$cache/node22"
    (cd "$cache/node22" && npm install --silent --no-save --no-package-lock --no-audit --no-fund "$node_pkg@22" >/dev/null)
  fi
  PATH="$node22_bin:$PATH"
fi

# 2. dependencies and build
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ package.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
fi
if [ -x "$node22_bin/node" ] && [ "$major" -lt 22 ]; then
  # npm scripts and npx put node_modules/.bin first on PATH: this makes them use Node 22.
  ln -sf "$node22_bin/node" node_modules/.bin/node
fi
say "building TypeScript"
node_modules/.bin/tsc -p tsconfig.json

# 3. the pulumi CLI
V=$(pulumi_version)
pulumi_bin="$cache/pulumi/v$V/bin"
# Rebuild when the binary is missing or of another version, or when our language host's
# source changed (its hash is kept beside the binaries).
lh_hash=$(cat tools/pulumi-language-nodejs/*.go | sha256sum | cut -c1-16)
if [ ! -x "$pulumi_bin/pulumi" ] || [ "$("$pulumi_bin/pulumi" version 2>/dev/null)" != "v$V" ] || \
   [ ! -x "$pulumi_bin/pulumi-language-nodejs" ] || [ "$(cat "$pulumi_bin/.languagehost-hash" 2>/dev/null)" != "$lh_hash" ]; then
  existing=$(command -v pulumi || true)
  if [ -n "$existing" ] && [ "$(readlink -f "$existing")" != "$(readlink -f "$pulumi_bin/pulumi")" ] && \
     [ "$("$existing" version 2>/dev/null)" = "v$V" ] && [ -x "$(dirname "$(readlink -f "$existing")")/pulumi-language-nodejs" ]; then
    say "using pulumi v$V from $existing"
    mkdir -p "$pulumi_bin"; ln -sf "$(readlink -f "$existing")" "$pulumi_bin/pulumi"
    ln -sf "$(dirname "$(readlink -f "$existing")")/pulumi-language-nodejs" "$pulumi_bin/pulumi-language-nodejs"
  elif command -v go >/dev/null; then
    say "building pulumi v$V and the language host from the Go module proxy (first time only; takes minutes)"
    start=$(date +%s)
    bash scripts/build-pulumi.sh "$V" "$cache/pulumi/v$V" >&2
    say "built pulumi v$V in $(( $(date +%s) - start ))s"
  else
    say "no go toolchain: installing pulumi v$V with Pulumi's installer (needs internet)"
    curl -fsSL https://get.pulumi.com | sh -s -- --version "$V" --install-root "$cache/pulumi/v$V" >&2
  fi
  echo "$lh_hash" > "$pulumi_bin/.languagehost-hash"
fi
# Beside the binary so the engine finds the dynamic-provider plugin without a download.
cp -f node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs "$pulumi_bin/"
ln -sf "$pulumi_bin/pulumi" node_modules/.bin/pulumi

# 4. moto
if ! python3 -c 'import moto, moto.server, flask' 2>/dev/null; then
  say "installing moto[server] with pip"
  python3 -m pip install --quiet 'moto[server]>=5,<6' >&2
fi
# 5. the AWS CLI (v1, from PyPI): the credential_process e2e tests run `python3 -m awscli`
if ! python3 -c 'import awscli' 2>/dev/null; then
  say "installing awscli with pip"
  python3 -m pip install --quiet 'awscli>=1.30,<2' >&2
fi
# 6-8. Test tools from Debian's packages, each installed only when its command is missing.
apt_install() { # package
  local sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  say "installing $1 with apt-get"
  $sudo_cmd apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "$1" >&2
}
# 6. Chromium for the web UI's browser tests (playwright-core drives it)
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then apt_install chromium; fi
# 7. fish, whose `source` the env output for fish is tested with
if ! command -v fish >/dev/null 2>&1; then apt_install fish; fi
# 8. script(1), which gives the CLI a terminal in the spinner's e2e test
if ! command -v script >/dev/null 2>&1; then apt_install bsdutils; fi
say "ready: node $(node --version), pulumi $("$pulumi_bin/pulumi" version), moto $(python3 -c 'import moto; print(moto.__version__)')"
