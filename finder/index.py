"""Creating, describing, switching and dropping the search index behind the alias."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis
from redis.commands.search.field import Field as RedisField
from redis.commands.search.field import TagField as RedisTagField
from redisvl.schema import IndexSchema

from finder.config import Settings
from finder.projection import ACTIVE_GENERATIONS, NONE, generation_of, image_field
from finder.schema import (
    IMAGE_VECTOR,
    INDEX_ALIAS,
    TEXT_VECTOR,
    VECTOR_FIELDS,
    build_schema,
    field_of,
    schema_datatype,
    stored_field,
)
from finder.store import ACTIVE_DATATYPES
from finder.synonyms import NO_RULES, SynonymRules, store_rules, synonym_commands, synonym_dump


@dataclass(frozen=True)
class VectorFieldInfo:
    name: str  # the attribute queries name
    source: str  # the search-hash field it indexes (schema.stored_field: by image generation and datatype)
    dims: int
    algorithm: str
    metric: str
    datatype: str
    hnsw_m: int | None = None
    hnsw_ef_construction: int | None = None


@dataclass(frozen=True)
class IndexInfo:
    """What the server says about the live index (not what the configuration asks for)."""

    alias: str
    name: str
    documents: int
    indexing: bool
    percent_indexed: float
    vector_fields: dict[str, VectorFieldInfo] = field(default_factory=dict)
    other_fields: dict[str, tuple[str, float | None]] = field(default_factory=dict)  # name -> (type, TEXT weight)

    @property
    def algorithm(self) -> str:
        return next(iter(self.vector_fields.values())).algorithm

    @property
    def metric(self) -> str:
        return next(iter(self.vector_fields.values())).metric

    @property
    def datatype(self) -> str:
        """How the index's vectors are stored, and query vectors must be sent: what reads and
        queries of this index use (VECTOR_DATATYPE only decides a new index's)."""
        return next(iter(self.vector_fields.values())).datatype

    @property
    def sources(self) -> dict[str, str]:
        """Vector attribute -> the search-hash field holding it, for reading stored vectors."""
        return {name: field.source for name, field in self.vector_fields.items()}

    @property
    def image_generation(self) -> str:
        """The image space the index searches: a projection's generation, or `none`."""
        return generation_of(field_of(self.vector_fields[IMAGE_VECTOR].source))


def create_index(
    client: redis.Redis, schema: IndexSchema, alias: str | None = INDEX_ALIAS, synonyms: SynonymRules = NO_RULES,
    image_generation: str = NONE,
) -> None:
    """Create the physical index with its synonym groups and point the alias (which must not
    exist yet) at it, in one transaction: the groups apply to every document the new index scans,
    and no rescan of the index is needed (FT.SYNUPDATE ... SKIPINITIALSCAN).

    The index's vector attributes index the search-hash fields of `image_generation` and of the
    schema's datatype (FT.CREATE ... `image_vector@<generation>:float16` AS `image_vector`), so
    queries never change. The first index behind the search alias also decides, in the same
    transaction, the one image space and datatype product writes fill from then on."""
    name = schema.index.name
    datatype = schema_datatype(schema)
    pipe = client.pipeline(transaction=True)
    pipe.execute_command(
        "FT.CREATE", name, "ON", "HASH", "PREFIX", 1, schema.index.prefix, "SCHEMA",
        *(arg for field in schema.redis_fields
          for arg in _mapped(_unnormalised(field), image_generation, datatype).redis_args()),
    )
    for command in synonym_commands(name, synonyms, skip_initial_scan=True):
        pipe.execute_command(*command)
    if alias:
        pipe.execute_command("FT.ALIASADD", alias, name)
    if alias == INDEX_ALIAS:
        ACTIVE_GENERATIONS.queue_only(pipe, image_generation)
        ACTIVE_DATATYPES.queue_only(pipe, datatype)
    pipe.execute()


def _mapped(field: RedisField, image_generation: str, datatype: str) -> RedisField:
    """A vector attribute reads the field of its image generation and datatype."""
    if field.name in VECTOR_FIELDS:
        source = stored_field(image_field(image_generation) if field.name == IMAGE_VECTOR else field.name, datatype)
        if source != field.name:
            field.name, field.as_name = source, field.name
    return field


def _unnormalised(field: RedisField) -> RedisField:
    """A sortable TAG keeps its values' case in the sorting vector (UNF), so facet values come
    back as stored ("Navy Blue", not "navy blue"); matching stays case-insensitive. redisvl 0.28
    cannot express UNF for TAG fields."""
    if isinstance(field, RedisTagField) and "SORTABLE" in field.args_suffix and "UNF" not in field.args_suffix:
        field.args_suffix.insert(field.args_suffix.index("SORTABLE") + 1, "UNF")
    return field


def drop_index(client: redis.Redis, name: str, delete_documents: bool = False) -> None:
    """Drop a physical index; with delete_documents, also the hashes it covers."""
    client.ft(name).dropindex(delete_documents=delete_documents)


def describe_index(client: redis.Redis, name: str = INDEX_ALIAS) -> IndexInfo | None:
    """The live index behind `name` (alias or physical name), or None if there is none."""
    try:
        raw = client.ft(name).info()
    except redis.ResponseError as error:
        if is_missing_index(error):
            return None
        raise
    info = _decode(raw)
    vectors, others = {}, {}
    for attribute in info["attributes"]:
        attribute = _pairs(attribute)
        if attribute.get("type") != "VECTOR":
            weight = float(attribute["WEIGHT"]) if "WEIGHT" in attribute else None
            others[attribute["attribute"]] = (attribute["type"], weight)
        elif attribute["attribute"] in VECTOR_FIELDS:
            vectors[attribute["attribute"]] = VectorFieldInfo(
                name=attribute["attribute"],
                source=attribute["identifier"],
                dims=int(attribute["dim"]),
                algorithm=attribute["algorithm"].upper(),
                metric=attribute["distance_metric"].upper(),
                datatype=attribute["data_type"].upper(),
                hnsw_m=int(attribute["M"]) if "M" in attribute else None,
                hnsw_ef_construction=int(attribute["ef_construction"]) if "ef_construction" in attribute else None,
            )
    return IndexInfo(
        alias=name,
        name=info["index_name"],
        documents=int(info["num_docs"]),
        indexing=str(info.get("indexing", "0")) not in ("0", "0.0"),
        percent_indexed=float(info.get("percent_indexed", 1)),
        vector_fields=vectors,
        other_fields=others,
    )


def wait_until_indexed(
    client: redis.Redis, name: str, timeout: float = 3600.0, on_progress: Callable[[float], None] | None = None
) -> IndexInfo:
    """Block until a (new) index has scanned every existing document."""
    deadline = time.monotonic() + timeout
    while True:
        info = describe_index(client, name)
        if info is None:
            raise RuntimeError(f"index {name} disappeared while it was being built")
        if on_progress:
            on_progress(info.percent_indexed)
        if not info.indexing and info.percent_indexed >= 1.0:
            return info
        if time.monotonic() > deadline:
            raise TimeoutError(f"index {name} was still indexing after {timeout:.0f} s")
        time.sleep(0.2)


def is_missing_index(error: redis.ResponseError) -> bool:
    message = str(error).lower()
    return "unknown index name" in message or "no such index" in message or "not found" in message


def _decode(value):
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if isinstance(value, dict):
        return {_decode(key): _decode(item) for key, item in value.items()}
    return value


def _pairs(value) -> dict:
    return value if isinstance(value, dict) else dict(zip(value[::2], value[1::2], strict=True))


def ensure_index(client: redis.Redis, settings: Settings, text_dim: int, image_dim: int,
                 image_generation: str = NONE) -> IndexInfo:
    """The live index, created from the settings (and the synonyms file) if there is none yet,
    over the image vectors of `image_generation`, image_dim-d."""
    info = describe_index(client)
    if info is None:
        rules = SynonymRules.read(settings.synonyms)
        create_index(client, build_schema(settings, text_dim, image_dim), synonyms=rules,
                     image_generation=image_generation)
        store_rules(client, rules)
        info = describe_index(client)
    return info


def dimension_mismatches(info: IndexInfo, text_dim: int, image_dim: int) -> list[str]:
    """Vector sizes the models produce that the index cannot hold (a model was changed)."""
    expected = {TEXT_VECTOR: text_dim, IMAGE_VECTOR: image_dim}
    return [
        f"{name} holds {field.dims}-d vectors but the configured model makes {expected[name]}-d vectors"
        for name, field in info.vector_fields.items()
        if field.dims != expected[name]
    ]


def settings_mismatches(info: IndexInfo, settings: Settings) -> list[str]:
    """Index settings that differ from the configuration (the index keeps its own until rebuilt)."""
    found = []
    if info.algorithm != settings.index_algorithm:
        found.append(f"algorithm is {info.algorithm}, configured {settings.index_algorithm}")
    if info.metric != settings.distance_metric:
        found.append(f"metric is {info.metric}, configured {settings.distance_metric}")
    if info.datatype != settings.vector_datatype:
        found.append(f"datatype is {info.datatype}, configured {settings.vector_datatype}")
    if settings.index_algorithm == "HNSW" and info.algorithm == "HNSW":
        field = next(iter(info.vector_fields.values()))
        if (field.hnsw_m, field.hnsw_ef_construction) != (settings.hnsw_m, settings.hnsw_ef_construction):
            found.append(
                f"HNSW M/EF_CONSTRUCTION are {field.hnsw_m}/{field.hnsw_ef_construction}, "
                f"configured {settings.hnsw_m}/{settings.hnsw_ef_construction}"
            )
    return found


def apply_synonyms(client: redis.Redis, index_name: str, rules: SynonymRules) -> list[str]:
    """Give a live index the rules' groups it lacks, store the rules for query understanding, and
    return the words the index still has but the rules dropped (RediSearch cannot remove synonyms:
    only a rebuilt index forgets them)."""
    applied = synonym_dump(client, index_name)
    wanted = rules.index_groups()
    rescanning = False
    for command in synonym_commands(index_name, rules, skip_initial_scan=False):
        group_id, terms = command[2], command[3:]
        if any(group_id not in applied.get(term, ()) for term in terms):
            client.execute_command(*command)  # rescans the index: only when the file changed
            rescanning = True
    if rescanning:
        wait_until_indexed(client, index_name)
    store_rules(client, rules)
    kept = {term for terms in wanted.values() for term in terms}
    return sorted(term for term in applied if term not in kept)


def schema_mismatches(info: IndexInfo, settings: Settings) -> list[str]:
    """Fields the schema defines (other than the vectors) that the live index lacks or defines
    otherwise: an index made by an older version. `rebuild_index` brings it up to date."""
    wanted = {}
    for declared in build_schema(settings, 1, 1).fields.values():
        if declared.type != "vector":
            weight = getattr(declared.attrs, "weight", None)
            wanted[declared.name] = (declared.type.upper(), float(weight) if weight is not None else None)
    return [f"{name} is {_described(info.other_fields.get(name))}, the schema wants {_described(definition)}"
            for name, definition in wanted.items() if info.other_fields.get(name) != definition]


def _described(definition: tuple[str, float | None] | None) -> str:
    if definition is None:
        return "missing"
    kind, weight = definition
    return kind + (f" weight {weight:g}" if weight is not None else "")


def rebuild_index(
    client: redis.Redis, settings: Settings, on_progress: Callable[[float], None] | None = None,
    image_space: tuple[str, int] | None = None,
) -> tuple[IndexInfo, IndexInfo]:
    """Re-index without downtime: build a new index from the settings (and the synonyms file, read
    again: synonyms it no longer has are forgotten) beside the live one, over the same stored
    products (nothing is re-embedded), switch the alias when it has indexed every product, then
    drop the old index. Searches use the old index until the switch and the new
    one after it; writes meanwhile reach both. The new index searches the live image space, or
    `image_space` (generation, dims), whose vectors every product must already hold, in
    VECTOR_DATATYPE (indexer.reindex converts them). Returns (old, new)."""
    old = describe_index(client)
    if old is None:
        raise RuntimeError("there is no index to rebuild: load a catalog first")
    if settings.vector_datatype not in ACTIVE_DATATYPES.members(client):
        raise RuntimeError(f"the stored vectors are not {settings.vector_datatype}: `python -m indexer reindex` "
                           "converts them")
    dims = {name: field.dims for name, field in old.vector_fields.items()}
    generation, dims[IMAGE_VECTOR] = image_space or (old.image_generation, dims[IMAGE_VECTOR])
    schema = build_schema(settings, dims[TEXT_VECTOR], dims[IMAGE_VECTOR])
    rules = SynonymRules.read(settings.synonyms)
    create_index(client, schema, alias=None, synonyms=rules, image_generation=generation)
    try:
        new = wait_until_indexed(client, schema.index.name, on_progress=on_progress)
        client.ft(schema.index.name).aliasupdate(INDEX_ALIAS)
    except BaseException:
        drop_index(client, schema.index.name)  # an unfinished index must not linger
        raise
    store_rules(client, rules)
    drop_index(client, old.name)
    return old, new
