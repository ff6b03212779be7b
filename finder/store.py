"""Reading and writing products: the JSON document and the search hash, always together.

Every write of a product (its JSON document plus its search hash with the vectors, and its change
to the autocomplete dictionary) happens in one MULTI/EXEC transaction, so a reader or a crash
never sees half a product. Reads of many products are one JSON.MGET, never one round trip per
product.

A write holds an image vector for each image space writes must fill (finder/projection.py): it
is committed only if those are still the active generations (the set is WATCHed), so a refit
that starts meanwhile never misses a product. Likewise each vector is stored in every datatype
writes must fill (ACTIVE_DATATYPES: two while a re-index converts them, see schema.stored_field).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice

import numpy as np
import redis

from finder.active_sets import ActiveSet
from finder.config import VECTOR_DATATYPES
from finder.products import CATEGORICAL_FIELDS, Product
from finder.projection import ACTIVE_GENERATIONS
from finder.redis_server import json_commands
from finder.schema import (
    NUMERIC_FIELDS,
    ORIGINAL_DATATYPE,
    SEARCH_KEY_PREFIX,
    TEXT_FIELDS,
    TEXT_VECTOR,
    search_key,
    stored_field,
    vector_array,
    vector_bytes,
)
from finder.suggestions import (
    COUNTS_KEY,
    SUGGEST_KEY,
    queue_suggestion_changes,
    rebuild_suggestions,
    suggestion_changes,
)

TEXT_FINGERPRINT = "text_fingerprint"
IMAGE_FINGERPRINT = "image_fingerprint"
# What the search hash holds besides the vectors: the fields a query searches or filters on.
SEARCH_FIELDS = (*TEXT_FIELDS, *CATEGORICAL_FIELDS, *NUMERIC_FIELDS)
log = logging.getLogger(__name__)
READ_CHUNK = 1000  # keys per JSON.MGET / pipeline when reading state for many products
WRITE_CHUNK = 64  # products per transaction when giving every stored product a vector or removing one
# The datatypes every product write stores its vectors in: the live index's, and the next one's
# while a re-index converts them (indexer/reindex.py). Set with the first index (index.create_index).
ACTIVE_DATATYPES = ActiveSet("finder:vector-datatypes:active", ORIGINAL_DATATYPE)


class UnexpectedReply(redis.ConnectionError):
    """Redis answered with a reply that does not fit the command: treated as a broken connection."""


@contextmanager
def refusing_unexpected_replies(client: redis.Redis) -> Iterator[None]:
    """A read whose reply does not fit its command fails as a connection error (503) after
    dropping every pooled connection, in case one is out of step: never a 500, never a
    guessed product. (The load test's undecoded documents came from redis-py's JSON parsers,
    fixed in finder.redis_server.json_commands; this stays as the guard for anything alike.)"""
    try:
        yield
    except UnexpectedReply as error:
        log.warning("%s; reconnecting", error)
        client.connection_pool.disconnect()
        raise


def documents_from_mget(reply, expected: int) -> list[list[dict] | None]:
    """JSON.MGET's reply for `expected` keys at path "$": per key, None or a one-element list
    holding the document; anything else raises UnexpectedReply."""
    if not isinstance(reply, list) or len(reply) != expected or not all(
        found is None or (isinstance(found, list) and len(found) == 1 and isinstance(found[0], dict))
        for found in reply
    ):
        raise UnexpectedReply(f"JSON.MGET of {expected} keys answered {str(reply)[:200]!r}")
    return reply


@dataclass(frozen=True)
class ProductWrite:
    """A product to store. A vector left as None keeps the stored one (its input did not change).
    `replaces` is the stored document it overwrites (None for a new product): what its
    suggestions change from."""

    product: Product
    text_fingerprint: str
    image_fingerprint: str
    replaces: dict | None
    text_vector: np.ndarray | None = None
    image_vectors: Mapping[str, np.ndarray] | None = None  # image_field(generation) -> vector, per image space


class WriteTargetsChanged(Exception):
    """A re-index overtook a write: what writes must fill changed (a refit or a datatype conversion
    began or ended) since the write's vectors were made or its datatypes read, or it added vectors
    to the product meanwhile. Nothing was written; read and write again."""


@dataclass(frozen=True)
class StoredState:
    """What is stored for a product id, enough to decide what a new write must recompute."""

    document: dict | None
    text_fingerprint: str | None
    image_fingerprint: str | None
    search_fields: dict[str, str]  # as the search hash holds them (a new field list means a rewrite)
    has_image_vector: bool = True  # in the image field asked about (stored_state's image_field)

    @classmethod
    def from_hash(cls, document: dict | None, values: list[bytes | None]) -> StoredState:
        """From HMGET's reply for STATE_FIELDS, and optionally one image vector field after them."""
        text_fp, image_fp, *fields = (value.decode() if value is not None else None
                                      for value in values[: len(STATE_FIELDS)])
        searched = {name: value for name, value in zip(SEARCH_FIELDS, fields, strict=True) if value is not None}
        image_vector = values[len(STATE_FIELDS):]
        return cls(document, text_fp, image_fp, searched, has_image_vector=not image_vector or bool(image_vector[0]))


STATE_FIELDS = (TEXT_FINGERPRINT, IMAGE_FINGERPRINT, *SEARCH_FIELDS)


class ProductStore:
    def __init__(self, client: redis.Redis):
        self.client = client

    def save(self, writes: Sequence[ProductWrite], image_generations: Sequence[str]) -> None:
        """Store products atomically: all of them or none (one MULTI/EXEC). Their image vectors
        were made for `image_generations`; raises WriteTargetsChanged if writes must now fill others."""
        with self.client.pipeline(transaction=True) as pipe:
            pipe.watch(ACTIVE_GENERATIONS.key, ACTIVE_DATATYPES.key)
            _check_generations(pipe, image_generations)
            datatypes = ACTIVE_DATATYPES.members(pipe)
            pipe.multi()
            _queue_writes(pipe, writes, datatypes)
            try:
                pipe.execute()
            except redis.WatchError:
                raise WriteTargetsChanged() from None

    @contextmanager
    def watching(self, product_id: str) -> Iterator[WatchedProduct]:
        """Read-check-write one product with optimistic locking: the commit fails with
        redis.WatchError if another write changed the product since it was read, WriteTargetsChanged
        if only a re-index touched what is watched (see WatchedProduct)."""
        with self.client.pipeline(transaction=True) as pipe:
            with connection_lost_while_watching():
                pipe.watch(Product.key_for(product_id), search_key(product_id), ACTIVE_GENERATIONS.key,
                           ACTIVE_DATATYPES.key)
                datatypes = ACTIVE_DATATYPES.members(pipe)
            yield WatchedProduct(self.client, pipe, product_id, datatypes)

    def get(self, product_id: str) -> Product | None:
        return self.get_many([product_id])[0]

    def get_many(self, product_ids: Sequence[str]) -> list[Product | None]:
        """Products in the order asked, None where an id is unknown; one round trip."""
        if not product_ids:
            return []
        reply = json_commands(self.client).mget([Product.key_for(pid) for pid in product_ids], "$")
        with refusing_unexpected_replies(self.client):
            documents = documents_from_mget(reply, len(product_ids))
        return [Product.from_stored(found[0]) if found else None for found in documents]

    def vectors(self, product_id: str, sources: Mapping[str, str], datatype: str) -> dict[str, np.ndarray] | None:
        """A product's stored vectors by attribute, read from the fields `sources` names as `datatype`
        (the live index's: IndexInfo.sources and .datatype), or None if the product is unknown."""
        values = self.client.hmget(search_key(product_id), list(sources.values()))
        if all(raw is None for raw in values):
            return None
        return {name: vector_array(raw, datatype) for name, raw in zip(sources, values, strict=True) if raw}

    def stored_state(self, product_ids: Iterable[str], image_field: str | None = None) -> dict[str, StoredState]:
        """Stored document and vector fingerprints for many ids, in few round trips; with
        `image_field`, also whether each holds an image vector there."""
        product_ids = list(product_ids)
        fields = [*STATE_FIELDS, image_field] if image_field else STATE_FIELDS
        states: dict[str, StoredState] = {}
        for start in range(0, len(product_ids), READ_CHUNK):
            chunk = product_ids[start : start + READ_CHUNK]
            pipe = self.client.pipeline(transaction=False)
            json_commands(pipe).mget([Product.key_for(pid) for pid in chunk], "$")
            for pid in chunk:
                pipe.hmget(search_key(pid), fields)
            documents, *hashes = pipe.execute()
            for pid, document, values in zip(chunk, documents, hashes, strict=True):
                states[pid] = StoredState.from_hash(document[0] if document else None, values)
        return states

    def documents(self) -> Iterator[dict]:
        """Every stored product document once, READ_CHUNK at a time (one JSON.MGET each)."""
        keys = _unique(self.client.scan_iter(match=Product.key_for("*"), count=READ_CHUNK))  # SCAN may repeat
        for chunk in iter(lambda: list(islice(keys, READ_CHUNK)), []):
            reply = json_commands(self.client).mget(chunk, "$")
            with refusing_unexpected_replies(self.client):
                found = documents_from_mget(reply, len(chunk))
            yield from (document[0] for document in found if document)  # None: deleted meanwhile

    def rebuild_suggestions(self) -> int:
        """Recompute the autocomplete dictionary from the stored products; returns its size."""
        return rebuild_suggestions(self.client, self.documents())

    def ensure_suggestions(self) -> None:
        """Build the autocomplete dictionary if products are stored without one (a catalog loaded
        before it existed). Every stored product contributes entries, so once built, products and
        the counts hash exist together."""
        if self.client.exists(COUNTS_KEY):
            return
        if next(self.client.scan_iter(match=Product.key_for("*"), count=READ_CHUNK), None) is not None:
            self.rebuild_suggestions()

    def product_ids(self) -> list[str]:
        """The ids of every stored product (a SCAN: for maintenance, never for requests)."""
        return sorted({key.decode()[len(SEARCH_KEY_PREFIX):]  # a set: SCAN may return a key twice
                       for key in self.client.scan_iter(match=search_key("*"), count=1000)})

    def add_image_vectors(self, product_ids: Sequence[str], field: str,
                          vectors_for: Callable[[dict[str, StoredState]], dict[str, np.ndarray]]) -> None:
        """Give stored products a vector in `field` (in every active datatype), made by
        `vectors_for` from their stored state."""

        def image_vectors(chunk: list[str], datatypes: tuple[str, ...]) -> dict[str, dict[str, bytes]]:
            states = {pid: state for pid, state in self.stored_state(chunk).items() if state.document}
            return {pid: encoded_vectors({field: vector}, datatypes) for pid, vector in vectors_for(states).items()}

        self._update_in_chunks(product_ids, image_vectors)

    def convert_vectors(self, product_ids: Sequence[str], fields: Sequence[str], source: str, target: str) -> None:
        """Give stored products their vectors of `fields` (text_vector, image generation fields) in
        datatype `target` too, converted from the `source` ones (nothing is re-embedded)."""

        def converted(chunk: list[str], _datatypes: tuple[str, ...]) -> dict[str, dict[str, bytes]]:
            pipe = self.client.pipeline(transaction=False)
            for pid in chunk:
                pipe.hmget(search_key(pid), [stored_field(field, source) for field in fields])
            return {pid: encoded_vectors({field: vector_array(raw, source) for field, raw in
                                          zip(fields, values, strict=True) if raw}, [target])
                    for pid, values in zip(chunk, pipe.execute(), strict=True)}

        self._update_in_chunks(product_ids, converted)

    def _update_in_chunks(self, product_ids: Sequence[str],
                          new_fields: Callable[[list[str], tuple[str, ...]], dict[str, dict[str, bytes]]]) -> None:
        """Add fields to stored products' search hashes, WRITE_CHUNK products per transaction:
        `new_fields(chunk, active datatypes)` makes them (product id -> field -> bytes) from what is
        stored, read under WATCH: a product written or deleted meanwhile is read again, never given
        fields made from its old state or brought back as a bare hash."""
        for start in range(0, len(product_ids), WRITE_CHUNK):
            chunk = list(product_ids[start : start + WRITE_CHUNK])
            with self.client.pipeline(transaction=True) as pipe:
                while True:
                    pipe.watch(ACTIVE_DATATYPES.key,
                               *(key for pid in chunk for key in (Product.key_for(pid), search_key(pid))))
                    updates = new_fields(chunk, ACTIVE_DATATYPES.members(pipe))
                    pipe.multi()
                    for pid, fields in updates.items():
                        if fields:
                            pipe.hset(search_key(pid), mapping=fields)
                    try:
                        pipe.execute()
                        break
                    except redis.WatchError:
                        continue

    def drop_fields(self, fields: Sequence[str], datatypes: Sequence[str] = VECTOR_DATATYPES) -> None:
        """Remove vector fields (text_vector, image generation fields) from every search hash, in
        the given datatypes (every one by default): the vectors of a retired image space or datatype."""
        stored = [stored_field(field, datatype) for field in fields for datatype in datatypes]
        pipe = self.client.pipeline(transaction=False)
        for number, key in enumerate(self.client.scan_iter(match=search_key("*"), count=1000), start=1):
            pipe.hdel(key, *stored)
            if number % WRITE_CHUNK == 0:  # each HDEL re-indexes its product: searches wait behind a chunk
                pipe.execute()
        pipe.execute()

    def delete_all(self) -> int:
        """Remove every product document and search hash and the autocomplete dictionary (used by
        a full reload)."""
        removed = self.client.unlink(SUGGEST_KEY, COUNTS_KEY)
        for pattern in (Product.key_for("*"), search_key("*")):
            batch = []
            for key in self.client.scan_iter(match=pattern, count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    removed += self.client.unlink(*batch)
                    batch = []
            if batch:
                removed += self.client.unlink(*batch)
        return removed


class WatchedProduct:
    """One product under WATCH (see ProductStore.watching), with the active sets of write targets.

    Any change to a watched key fails the commit, and two kinds of writer make them: another write
    of the product (a conflict) and a re-index (changing the sets, or adding converted or refitted
    vectors to the product's hash). They are told apart by the product itself: a conflict changed
    its document or fingerprints since this write first read them. Comparing the sets instead
    would be wrong whenever they changed between the WATCH and their read."""

    def __init__(self, client: redis.Redis, pipe: redis.client.Pipeline, product_id: str, datatypes: tuple[str, ...]):
        self._client = client
        self._pipe = pipe
        self.product_id = product_id
        self._datatypes = datatypes  # read under the WATCH: any change since fails the commit
        self._first_read: StoredState | None = None

    def state(self) -> StoredState:
        with connection_lost_while_watching():
            state = _stored_state(self._pipe, self.product_id)
        if self._first_read is None:
            self._first_read = state
        return state

    def commit(self, write: ProductWrite, image_generations: Sequence[str]) -> None:
        """Raises WriteTargetsChanged, having written nothing, if the write's image vectors were
        made for other generations than writes must now fill, or a re-index touched what is watched;
        redis.WatchError if someone else wrote the product."""
        _check_generations(self._pipe, image_generations)
        self._pipe.multi()
        _queue_writes(self._pipe, [write], self._datatypes)
        self._execute()

    def delete(self) -> None:
        """Delete the product and its share of the suggestions, as read under this WATCH."""
        stored = self.state().document
        self._pipe.multi()
        self._pipe.delete(Product.key_for(self.product_id), search_key(self.product_id))
        queue_suggestion_changes(self._pipe, suggestion_changes([(stored, None)]))
        self._execute()

    def _execute(self) -> None:
        try:
            with connection_lost_while_watching():
                self._pipe.execute()
        except redis.WatchError:
            if _stored_state(self._client, self.product_id) == self._first_read:
                raise WriteTargetsChanged() from None
            raise


def _stored_state(reader: redis.Redis, product_id: str) -> StoredState:
    """The product's document and STATE_FIELDS; `reader` may be a pipeline under WATCH."""
    document = json_commands(reader).get(Product.key_for(product_id))
    return StoredState.from_hash(document, reader.hmget(search_key(product_id), STATE_FIELDS))


@contextmanager
def connection_lost_while_watching() -> Iterator[None]:
    """redis-py raises WatchError when the connection fails or times out under WATCH, as it does
    when another client wrote a watched key: the first is Redis being unavailable (503), only the
    second a conflict (409)."""
    try:
        yield
    except redis.WatchError as error:
        if isinstance(error.__context__, (redis.ConnectionError, redis.TimeoutError)):
            raise redis.ConnectionError(str(error)) from error.__context__
        raise


def _queue_writes(pipe: redis.client.Pipeline, writes: Sequence[ProductWrite], datatypes: Sequence[str]) -> None:
    """Queue products, their vectors in each datatype, and the change they make to the suggestions,
    for one MULTI/EXEC."""
    for write in writes:
        _queue_write(pipe, write, datatypes)
    queue_suggestion_changes(pipe, suggestion_changes((write.replaces, write.product) for write in writes))


def _queue_write(pipe: redis.client.Pipeline, write: ProductWrite, datatypes: Sequence[str]) -> None:
    product = write.product
    json_commands(pipe).set(product.key(), "$", product.to_document())
    hash_key = search_key(product.id)
    fields: dict[str, str | int | bytes] = search_fields(product)
    fields[TEXT_FINGERPRINT] = write.text_fingerprint
    fields[IMAGE_FINGERPRINT] = write.image_fingerprint
    vectors = {TEXT_VECTOR: write.text_vector} if write.text_vector is not None else {}
    fields |= encoded_vectors({**vectors, **(write.image_vectors or {})}, datatypes)
    pipe.hset(hash_key, mapping=fields)
    cleared = [name for name in SEARCH_FIELDS if name not in fields]
    if cleared:  # an optional attribute that was removed must not stay filterable
        pipe.hdel(hash_key, *cleared)


def _check_generations(watching: redis.client.Pipeline, image_generations: Sequence[str]) -> None:
    """Under WATCH of the active set: refuse a write whose vectors are for other generations."""
    if ACTIVE_GENERATIONS.members(watching) != tuple(sorted(image_generations)):
        raise WriteTargetsChanged()


def encoded_vectors(vectors: Mapping[str, np.ndarray], datatypes: Sequence[str]) -> dict[str, bytes]:
    """Search-hash fields holding vectors (by text_vector or image generation field) in each datatype."""
    return {stored_field(field, datatype): vector_bytes(vector, datatype)
            for field, vector in vectors.items() for datatype in datatypes}


def search_fields(product: Product) -> dict[str, str]:
    """The search hash's copy of what queries search and filter on, as the hash stores it."""
    values = {**product.model_dump(include=set(SEARCH_FIELDS)), "words": product.search_words()}
    return {name: str(values[name]) for name in SEARCH_FIELDS if values.get(name) is not None}


def _unique(items: Iterable) -> Iterator:
    seen = set()
    for item in items:
        if item not in seen:
            seen.add(item)
            yield item

