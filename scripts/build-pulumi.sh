#!/usr/bin/env bash
# Builds the real Pulumi CLI (and our language host) from the Go module proxy, at the
# version of the installed @pulumi/pulumi SDK, into a cache outside the work tree.
# Usage: build-pulumi.sh VERSION OUT_DIR   (OUT_DIR/bin/pulumi is the result)
set -euo pipefail
V="$1"; OUT="$2"
here="$(cd "$(dirname "$0")/.." && pwd)"
src="$OUT/src"
mkdir -p "$src" "$OUT/bin"
cd "$src"

modfile() { go mod download -json "$1" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p'; }
pkgmod=$(modfile "github.com/pulumi/pulumi/pkg/v3@v$V")
sdkmod=$(modfile "github.com/pulumi/pulumi/sdk/v3@v$V")
goversion=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$pkgmod" | head -1)

{
  echo "module local/pulumibuild"
  echo
  echo "go $goversion"
  echo
  echo "require ("
  echo "	github.com/pulumi/pulumi/pkg/v3 v$V"
  echo "	github.com/pulumi/pulumi/sdk/v3 v$V"
  echo ")"
  # Copy the tag's non-local replace directives (a local '=> ../x' is ignored for dependencies).
  cat "$pkgmod" "$sdkmod" | grep -E '^replace ' | grep -v '=> \.' | sort -u
} > go.mod

mkdir -p languagehost
cp "$here"/tools/pulumi-language-nodejs/*.go languagehost/ 2>/dev/null || true
printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"\n' > tools.go
# Quiet on success (hundreds of "go: downloading" lines); the whole log on failure.
go mod tidy >"$src/tidy.log" 2>&1 || { cat "$src/tidy.log" >&2; exit 1; }

flags=(-trimpath -tags osusergo,grpcnotrace)
ld="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$V"
CGO_ENABLED=0 go build "${flags[@]}" -ldflags "$ld" -o "$OUT/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
if ls languagehost/*.go >/dev/null 2>&1; then
  CGO_ENABLED=0 go build "${flags[@]}" -ldflags "$ld" -o "$OUT/bin/pulumi-language-nodejs" ./languagehost
fi
