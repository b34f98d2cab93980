#!/usr/bin/env bash
# Runs Eddy's whole test suite. Installs what the tests need first.
set -euo pipefail
cd "$(dirname "$0")"

need_apt=()
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || need_apt+=(nats-server)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "note: install ${need_apt[*]} (apt-get) for the benchmark peer" >&2
  fi
fi
# Python readers of Eddy's Delta tables (the interoperability tests).
if ! python3 -c "import deltalake, polars, pyarrow" >/dev/null 2>&1; then
  python3 -m pip install -q --disable-pip-version-check deltalake pyarrow polars
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install --locked cargo-nextest
fi

cargo nextest run --workspace --no-fail-fast "$@"
