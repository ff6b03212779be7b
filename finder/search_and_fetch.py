"""A search and the documents of what it found, in one round trip.

A server-side script (Lua) runs FT.SEARCH and then one JSON.MGET of the products it found; for
"similar", it first reads the product the search starts from and its stored vector and sends the
vector bytes as the KNN parameter, so they never travel to the app and back. Measured on the
8,000-product sample (`python -m bench.round_trips`, docs/design.md "Reading results"): similar
by image in process, p50 1.70 ms in three round trips (product and vector, KNN, documents) and
1.12 ms in this one. A script also reads the product and its neighbours in one consistent moment.

The script only reads. It calls FT.SEARCH as the client would, so the query is exactly what
finder.queries builds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis
from redis.commands.search.query import Query

from finder.products import Product
from finder.schema import SEARCH_KEY_PREFIX, product_id_from_search_key, search_key
from finder.store import UnexpectedReply, refusing_unexpected_replies

# KEYS: none, or the search hash and the document of the product a search starts from.
# ARGV: the vector's hash field and its position among the FT.SEARCH arguments (both unused
# without KEYS), then FT.SEARCH's arguments.
# Returns: {starting document or false, 1 if its vector was found, FT.SEARCH reply, JSON.MGET reply}.
SCRIPT = """
local arguments = {}
for position = 3, #ARGV do arguments[#arguments + 1] = ARGV[position] end
local started_from = false
if #KEYS == 2 then
  started_from = redis.call('JSON.GET', KEYS[2], '$')
  local vector = redis.call('HGET', KEYS[1], ARGV[1])
  if not started_from or not vector then return {started_from, vector and 1 or 0, false, false} end
  arguments[tonumber(ARGV[2])] = vector
end
local reply = redis.call('FT.SEARCH', unpack(arguments))
local keys = {}
local stride = (type(reply[3]) == 'table') and 2 or 1  -- 1: NOCONTENT, keys only
for position = 2, #reply, stride do
  keys[#keys + 1] = '@PRODUCT_PREFIX@' .. string.sub(reply[position], @SEARCH_PREFIX_LENGTH@ + 1)
end
if #keys == 0 then return {started_from, 1, reply, {}} end
keys[#keys + 1] = '$'
return {started_from, 1, reply, redis.call('JSON.MGET', unpack(keys))}
""".replace("@PRODUCT_PREFIX@", Product.key_for("")).replace("@SEARCH_PREFIX_LENGTH@", str(len(SEARCH_KEY_PREFIX)))


@dataclass(frozen=True)
class Found:
    """One result of a search: the product's id, the fields the query returned, its document
    (None if it was deleted between the search and the read: the index lags by nothing, but a
    document may be gone while its hash is not)."""

    product_id: str
    fields: dict[bytes, bytes]
    document: dict | None


@dataclass(frozen=True)
class Answer:
    total: int
    found: list[Found]


class SearchAndFetch:
    def __init__(self, client: redis.Redis):
        self.client = client
        self._script = client.register_script(SCRIPT)

    def __call__(self, index_name: str, query: Query, params: dict | None = None) -> Answer:
        """Run `query` with its parameters against the index; raises what FT.SEARCH raises."""
        _, _, reply, documents = self._script(keys=[], args=["", 0, *_search_arguments(index_name, query, params)])
        with refusing_unexpected_replies(self.client):
            return answer_from_reply(reply, documents)

    def from_product(self, product_id: str, vector_field: str, index_name: str, query: Query, params: dict,
                     vector_param: str) -> tuple[dict | None, Answer | None]:
        """The stored document of a product and the answer of `query` with the product's vector
        (read from `vector_field` of its search hash) as `vector_param`. (None, None) for an unknown
        product; (document, None) when it has no vector in that field."""
        arguments = _search_arguments(index_name, query, params)
        # The value after the parameter's name; Lua counts from 1.
        position = arguments.index(vector_param, arguments.index("PARAMS")) + 2
        started_from, has_vector, reply, documents = self._script(
            keys=[search_key(product_id), Product.key_for(product_id)],
            args=[vector_field, position, *arguments],
        )
        with refusing_unexpected_replies(self.client):
            document = document_from_json(started_from) if started_from else None
            if document is None or not has_vector:
                return document, None
            return document, answer_from_reply(reply, documents)


def _search_arguments(index_name: str, query: Query, params: dict | None) -> list:
    arguments = [index_name, *query.get_args()]
    if params:
        arguments += ["PARAMS", 2 * len(params)]
        for name, value in params.items():
            arguments += [name, value]
    return arguments


def answer_from_reply(reply, documents) -> Answer:
    """The script's FT.SEARCH reply and JSON.MGET reply; a shape that does not fit raises
    UnexpectedReply."""
    if not isinstance(reply, list) or not reply or not isinstance(documents, list):
        raise UnexpectedReply(f"search script answered {str(reply)[:200]!r}")
    if len(reply) > 2 and isinstance(reply[2], list):
        keys, fields = reply[1::2], reply[2::2]
    else:  # NOCONTENT: keys only
        keys, fields = reply[1:], [[] for _ in reply[1:]]
    if len(keys) != len(documents):
        raise UnexpectedReply(f"search script found {len(keys)} products and read {len(documents)}")
    found = []
    for key, returned, document in zip(keys, fields, documents, strict=True):
        values = dict(zip(returned[::2], returned[1::2], strict=True))
        found.append(Found(product_id_from_search_key(key.decode()), values,
                           document_from_json(document) if document is not None else None))
    return Answer(total=int(reply[0]), found=found)


def document_from_json(raw: bytes) -> dict:
    """A document read at path "$": a JSON array holding it."""
    try:
        parsed = json.loads(raw)
    except (TypeError, ValueError):
        parsed = None
    if not (isinstance(parsed, list) and len(parsed) == 1 and isinstance(parsed[0], dict)):
        raise UnexpectedReply(f"JSON read answered {str(raw)[:200]!r}")
    return parsed[0]
