"""Query embeddings cached in Redis: shared by every app process, keyed by model and text.

Shoppers repeat queries and search-as-you-type sends the same prefixes again, and embedding a
query is most of a free-text search's CPU. A cached vector is the model's exact output (float32
bytes), so the cache never changes a result.

One hash per model (`finder:query-vectors:<model>`), the normalised query text as the field, the
vector bytes as the value, and an expiry per field (HEXPIRE, Redis 7.4+): entries live
QUERY_CACHE_TTL seconds, and the hash holds at most QUERY_CACHE_ENTRIES of them (random ones go
when it is full), so its memory is bounded (~1.7 KB an entry for 384-d vectors). Hits and misses
are counted beside it, for /api/index and the load benchmark.

redisvl's EmbeddingsCache was measured first and not used: a hit took 0.95 ms against 0.10 ms for
these bytes (it stores vectors as JSON text and validates every entry), and 8.8 KB an entry
against 1.8 KB (500 entries, same server).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

import numpy as np
import redis

KEY_PREFIX = "finder:query-vectors:"
# A lookup and its counting in one round trip.
LOOKUP = """
local vector = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HINCRBY', KEYS[2], 'lookups', 1)
if vector then redis.call('HINCRBY', KEYS[2], 'hits', 1) end
return vector
"""
MAX_FIELD_LENGTH = 200  # longer texts are cached under their digest
EVICTED_WHEN_FULL = 100  # entries dropped at once when the hash is over its size
log = logging.getLogger(__name__)


class QueryVectorCache:
    def __init__(self, client: redis.Redis, model_name: str, ttl_seconds: int, max_entries: int):
        self.client = client
        self.key = KEY_PREFIX + hashlib.sha1(model_name.encode()).hexdigest()[:16]
        self.stats_key = self.key + ":stats"
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._unsupported = False  # a server without per-field expiry: the cache stays off
        self._lookup = client.register_script(LOOKUP)

    @classmethod
    def from_settings(cls, client: redis.Redis, settings) -> QueryVectorCache:
        """The cache of the configured text model, sized and timed by the settings."""
        return cls(client, settings.text_model, settings.query_cache_ttl, settings.query_cache_entries)

    def lookup(self, text: str) -> np.ndarray | None:
        """The cached vector of `text`; None if it is not cached (or the cache is off)."""
        return self.found(self._run_lookup(self.client, text)) if self.enabled else None

    @property
    def enabled(self) -> bool:
        return not self._unsupported and self.max_entries > 0

    def queue_lookup(self, pipe: redis.client.Pipeline, text: str) -> bool:
        """Queue the lookup of `text` in a caller's pipeline (its reply goes to `found`); False,
        with nothing queued, when the cache is off."""
        if self.enabled:
            self._run_lookup(pipe, text)
        return self.enabled

    def _run_lookup(self, reader: redis.Redis | redis.client.Pipeline, text: str):
        """The LOOKUP script for `text` on `reader`: its reply from a client, queued in a pipeline."""
        return self._lookup(keys=[self.key, self.stats_key], args=[cache_field(text)], client=reader)

    @staticmethod
    def found(reply: bytes | None) -> np.ndarray | None:
        """The vector a lookup replied; None for a miss (or an error in a pipeline's replies:
        the search then embeds the query, as without a cache)."""
        return np.frombuffer(reply, dtype=np.float32) if isinstance(reply, bytes) else None

    def remember(self, text: str, vector: np.ndarray,
                 in_background: Callable[[Callable[[], None]], object] | None = None) -> None:
        """Cache the vector of `text` (unless the cache is off): by in_background(store) if
        given, off the caller's path."""
        if not self.enabled:
            return
        field = cache_field(text)
        (in_background or _at_once)(lambda: self._store(field, np.asarray(vector, dtype=np.float32)))

    def stats(self) -> dict[str, int]:
        """Entries held, lookups and hits since the cache was created."""
        pipe = self.client.pipeline(transaction=False)
        pipe.hlen(self.key)
        pipe.hmget(self.stats_key, ["lookups", "hits"])
        entries, (lookups, hits) = pipe.execute()
        return {"entries": entries, "lookups": int(lookups or 0), "hits": int(hits or 0)}

    def clear(self) -> None:
        """Drop every entry and the counts (the benchmarks start each run from an empty cache)."""
        self.client.delete(self.key, self.stats_key)

    def _store(self, field: str, vector: np.ndarray) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(self.key, field, vector.tobytes())
        pipe.execute_command("HEXPIRE", self.key, self.ttl_seconds, "FIELDS", 1, field)
        pipe.hlen(self.key)
        try:
            _, _, entries = pipe.execute()
        except redis.ResponseError as error:  # Redis before 7.4: no HEXPIRE
            log.warning("query vectors are not cached: %s", error)
            self.client.delete(self.key)
            self._unsupported = True
            return
        if entries > self.max_entries:
            evicted = self.client.hrandfield(self.key, EVICTED_WHEN_FULL)
            if evicted:
                self.client.hdel(self.key, *evicted)


def _at_once(task: Callable[[], None]) -> None:
    task()


def cache_field(text: str) -> str:
    """The field of a query: its words as typed, whitespace folded (models may see case)."""
    normalised = " ".join(text.split())
    if len(normalised) <= MAX_FIELD_LENGTH:
        return normalised
    return "sha1:" + hashlib.sha1(normalised.encode()).hexdigest()
