"""Sets in Redis that list what every product write must fill: the image generations
(finder/projection.py) and the vector datatypes (finder/store.py). Normally one member each; two
while a re-index builds the next index beside the live one. Writes WATCH them, so a write never
misses a member added meanwhile."""

from __future__ import annotations

from dataclasses import dataclass

import redis


@dataclass(frozen=True)
class ActiveSet:
    """An absent set stands for `default` alone: what writes filled before the set existed, so a
    catalog of that time needs no migration and the default never takes a key."""

    key: str
    default: str

    def members(self, reader: redis.Redis) -> tuple[str, ...]:
        """Sorted. `reader` may be a pipeline under WATCH (its commands then run at once)."""
        return tuple(sorted(member.decode() for member in reader.smembers(self.key))) or (self.default,)

    def add(self, client: redis.Redis, member: str) -> None:
        """From now on writes also fill `member` (besides the default, if the set was absent)."""
        client.sadd(self.key, *self.members(client), member)

    def remove(self, client: redis.Redis, member: str) -> None:
        """Writes stop filling `member` (what is stored of it is left to the caller)."""
        remaining = [kept for kept in self.members(client) if kept != member]
        self.queue_only(client.pipeline(transaction=True), *remaining).execute()

    def queue_only(self, pipe: redis.client.Pipeline, *members: str) -> redis.client.Pipeline:
        """Queue making `members` the whole set, in a caller's transaction."""
        pipe.delete(self.key)
        if set(members) != {self.default}:
            pipe.sadd(self.key, *members)
        return pipe
