#!/usr/bin/env bash
# Copies the built awslease (dist/, bin/, package.json, scripts/moto_server.py) to a
# temp dir with node_modules linked, so an experiment keeps running the same build
# while dist/ is rebuilt in the working tree. Prints the directory; pass it to the
# experiments as AWSLEASE_ROOT.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
snap="$(mktemp -d /tmp/awslease-snap-XXXXXX)"
cp -a "$root/dist" "$root/bin" "$root/package.json" "$snap/"
mkdir -p "$snap/scripts" && cp "$root/scripts/moto_server.py" "$snap/scripts/"
ln -s "$root/node_modules" "$snap/node_modules"
# The experiments themselves, so the provider launcher resolves the snapshot.
mkdir -p "$snap/scripts/experiments" && cp "$root"/scripts/experiments/*.js "$snap/scripts/experiments/"
echo "$snap"
