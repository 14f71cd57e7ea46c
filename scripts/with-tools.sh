#!/usr/bin/env bash
# Runs a command with the project's Node >= 22, the built pulumi binary and the
# offline Pulumi environment on PATH (see tools-env.sh).
set -euo pipefail
source "$(dirname "$0")/tools-env.sh"
exec "$@"
