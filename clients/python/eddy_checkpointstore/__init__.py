"""A checkpoint store for the Azure Event Hubs Python SDK, kept by Eddy itself.

``EventHubConsumerClient`` accepts any object with the four methods of its
``CheckpointStore`` interface. This one keeps checkpoints and partition ownership in
the Eddy server the events come from (its HTTP API, ``/api/hubs/{hub}/consumergroups/
{group}/checkpoints`` and ``.../ownership``), so consumers need no blob storage::

    from azure.eventhub import EventHubConsumerClient
    from eddy_checkpointstore import EddyCheckpointStore

    store = EddyCheckpointStore("http://127.0.0.1:8080")
    client = EventHubConsumerClient.from_connection_string(
        conn_str, consumer_group="$Default", checkpoint_store=store)

``eddy_checkpointstore.aio.EddyCheckpointStore`` is the same for the async client.
Only the standard library is used.
"""

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Iterable, List, Optional

__all__ = ["EddyCheckpointStore", "EddyCheckpointStoreError"]


class EddyCheckpointStoreError(Exception):
    """Eddy answered a checkpoint-store call with an error."""


def _path(hub: str, group: str, *rest: str) -> str:
    parts = ["api", "hubs", hub, "consumergroups", group, *rest]
    return "/" + "/".join(urllib.parse.quote(p, safe="") for p in parts)


class EddyCheckpointStore:
    """Checkpoints and ownership in Eddy (``url`` is its HTTP endpoint)."""

    def __init__(self, url: str = "http://127.0.0.1:8080", timeout: float = 30.0):
        self._url = url.rstrip("/")
        self._timeout = timeout

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self._url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self._timeout) as resp:
                text = resp.read()
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")
            raise EddyCheckpointStoreError(f"{method} {path}: HTTP {e.code}: {detail}") from e
        return json.loads(text) if text else None

    def list_ownership(
        self, fully_qualified_namespace: str, eventhub_name: str, consumer_group: str, **kwargs: Any
    ) -> Iterable[Dict[str, Any]]:
        rows = self._call("GET", _path(eventhub_name, consumer_group, "ownership"))
        return [_ownership(fully_qualified_namespace, eventhub_name, consumer_group, r) for r in rows]

    def claim_ownership(
        self, ownership_list: Iterable[Dict[str, Any]], **kwargs: Any
    ) -> Iterable[Dict[str, Any]]:
        by_group: Dict[tuple, List[Dict[str, Any]]] = {}
        for o in ownership_list:
            key = (o["fully_qualified_namespace"], o["eventhub_name"], o["consumer_group"])
            by_group.setdefault(key, []).append(o)
        won = []
        for (fqns, hub, group), items in by_group.items():
            claims = [
                {"partition": int(o["partition_id"]), "owner_id": o.get("owner_id") or "",
                 "etag": o.get("etag")}
                for o in items
            ]
            rows = self._call("POST", _path(hub, group, "ownership"), claims)
            won.extend(_ownership(fqns, hub, group, r) for r in rows)
        return won

    def update_checkpoint(self, checkpoint: Dict[str, Optional[Any]], **kwargs: Any) -> None:
        body = {"sequence_number": int(checkpoint["sequence_number"])}
        if checkpoint.get("offset") is not None:
            body["offset"] = str(checkpoint["offset"])
        path = _path(checkpoint["eventhub_name"], checkpoint["consumer_group"], "checkpoints",
                     str(checkpoint["partition_id"]))
        self._call("PUT", path, body)

    def list_checkpoints(
        self, fully_qualified_namespace: str, eventhub_name: str, consumer_group: str, **kwargs: Any
    ) -> Iterable[Dict[str, Any]]:
        rows = self._call("GET", _path(eventhub_name, consumer_group, "checkpoints"))
        return [
            {
                "fully_qualified_namespace": fully_qualified_namespace,
                "eventhub_name": eventhub_name,
                "consumer_group": consumer_group,
                "partition_id": str(r["partition_id"]),
                "sequence_number": r["sequence_number"],
                "offset": r.get("offset"),
            }
            for r in rows
        ]


def _ownership(fqns: str, hub: str, group: str, r: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "fully_qualified_namespace": fqns,
        "eventhub_name": hub,
        "consumer_group": group,
        "partition_id": str(r["partition"]),
        "owner_id": r["owner_id"],
        "etag": r["etag"],
        "last_modified_time": r["last_modified_ms"] / 1000.0,
    }
