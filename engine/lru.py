"""A small thread-safe least-recently-used map, for what a server process keeps between requests."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Hashable


class Lru:
    """At most `size` entries (0: keeps nothing); the least recently put or read goes first."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def take(self, key: Hashable):
        """Remove and return the entry (None if absent): its taker has it to itself."""
        with self._lock:
            return self._items.pop(key, None)

    def put(self, key: Hashable, value) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
