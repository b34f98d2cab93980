"""The async form of :class:`eddy_checkpointstore.EddyCheckpointStore`, for
``azure.eventhub.aio.EventHubConsumerClient``. Calls run in a worker thread."""

import asyncio
from typing import Any, Dict, Iterable, Optional

from . import EddyCheckpointStore as _Sync
from . import EddyCheckpointStoreError

__all__ = ["EddyCheckpointStore", "EddyCheckpointStoreError"]


class EddyCheckpointStore:
    """Checkpoints and ownership in Eddy (``url`` is its HTTP endpoint)."""

    def __init__(self, url: str = "http://127.0.0.1:8080", timeout: float = 30.0):
        self._sync = _Sync(url, timeout)

    async def list_ownership(self, fully_qualified_namespace: str, eventhub_name: str,
                             consumer_group: str, **kwargs: Any) -> Iterable[Dict[str, Any]]:
        return await asyncio.to_thread(self._sync.list_ownership, fully_qualified_namespace,
                                       eventhub_name, consumer_group)

    async def claim_ownership(self, ownership_list: Iterable[Dict[str, Any]],
                              **kwargs: Any) -> Iterable[Dict[str, Any]]:
        return await asyncio.to_thread(self._sync.claim_ownership, list(ownership_list))

    async def update_checkpoint(self, checkpoint: Dict[str, Optional[Any]], **kwargs: Any) -> None:
        await asyncio.to_thread(self._sync.update_checkpoint, checkpoint)

    async def list_checkpoints(self, fully_qualified_namespace: str, eventhub_name: str,
                               consumer_group: str, **kwargs: Any) -> Iterable[Dict[str, Any]]:
        return await asyncio.to_thread(self._sync.list_checkpoints, fully_qualified_namespace,
                                       eventhub_name, consumer_group)
