#!/usr/bin/env bash
# Runs Eddy's whole test suite. Installs what the tests need first.
set -euo pipefail
cd "$(dirname "$0")"

need_apt=()
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || need_apt+=(nats-server)
command -v kcat >/dev/null 2>&1 || need_apt+=(kcat)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "note: install ${need_apt[*]} (apt-get): the benchmark peer and the Kafka tests use them" >&2
  fi
fi
# Python clients the end-to-end tests drive (Delta readers, the Kusto SDKs, Kafka
# clients; DuckDB, the query benchmark's peer), in a venv outside the clone; Azurite (npm) stands in for Azure Storage in
# queued ingestion and the Event Hubs blob checkpoint store; kafkajs and
# @azure/event-hubs (npm) are the JavaScript clients.
venv="${EDDY_VENV:-$HOME/.cache/eddy-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if ! "$venv/bin/python" -c "import deltalake, polars, pyarrow, pandas, azure.kusto.data, azure.kusto.ingest, confluent_kafka, kafka, azure.eventhub, azure.eventhub.extensions.checkpointstoreblobaio, azure.eventhub.extensions.checkpointstoreblob, duckdb" >/dev/null 2>&1; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    deltalake pyarrow polars pandas azure-kusto-data azure-kusto-ingest confluent-kafka 'kafka-python>=3' \
    azure-eventhub azure-eventhub-checkpointstoreblob azure-eventhub-checkpointstoreblob-aio duckdb
fi
export EDDY_PYTHON="$venv/bin/python"
node_dir="${EDDY_NODE_DIR:-$HOME/.cache/eddy-node}"
if [ ! -x "$node_dir/node_modules/.bin/azurite" ] || [ ! -d "$node_dir/node_modules/kafkajs" ] \
  || [ ! -d "$node_dir/node_modules/@azure/event-hubs" ]; then
  mkdir -p "$node_dir"
  (cd "$node_dir" && npm install --silent --no-audit --no-fund azurite@3 kafkajs@2 @azure/event-hubs@6 >/dev/null)
fi
export EDDY_NODE_DIR="$node_dir"
export EDDY_AZURITE="$node_dir/node_modules/.bin/azurite"
if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install --locked cargo-nextest
fi
# `EDDY_SETUP_ONLY=1 ./test.sh`: install the above and stop (CI does this before the
# benchmark smoke, which drives confluent-kafka too).
[ -n "${EDDY_SETUP_ONLY:-}" ] && exit 0

cargo nextest run --workspace --no-fail-fast "$@"
