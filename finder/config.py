"""All configuration, read once from environment variables.

Every setting is declared once, below: its name, default, validation rule and description. Nothing
else in the project reads os.environ for configuration, and the README's table of variables is
printed from these declarations (`python -m finder.config`; a test keeps the two equal).
This module depends on nothing else in finder/.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CATALOG = PROJECT_ROOT / "data" / "sample"

ALGORITHMS = ("HNSW", "FLAT")
METRICS = ("COSINE", "IP", "L2")
VECTOR_DATATYPES = ("FLOAT32", "FLOAT16")
HYBRID_POLICIES = ("AUTO", "ADHOC_BF", "BATCHES")
IMAGE_PROJECTIONS = ("lda", "none")  # finder/projection.py names them LDA and NONE
EF_RUNTIME_RANGE = (1, 4096)  # HNSW_EF_RUNTIME and the API's per-request ef_runtime
MIN_API_KEY_LENGTH = 16

# Embedding models whose weights ship in pip packages (finder/embeddings.py loads them).
# TEXT_MODEL and IMAGE_MODEL also accept the path of a local sentence-transformers model directory.
BUILTIN_TEXT_MODELS = ("all-MiniLM-L6-v2-int8", "all-MiniLM-L6-v2")  # the first is the default
BUILTIN_IMAGE_MODELS = ("efficientnet-lite0-bf16", "efficientnet-lite0")  # the first is the default


class ConfigError(ValueError):
    """A setting has a value we cannot use. The message names the variable."""


Parser = Callable[[str, str], object]


def _choice(allowed: tuple[str, ...], normalise: Callable[[str], str] = str.upper) -> Parser:
    def parse(variable: str, raw: str) -> str:
        value = normalise(raw)
        if value not in allowed:
            raise ConfigError(f"{variable}={raw!r} is not valid; allowed values: {', '.join(allowed)}")
        return value

    return parse


def _bounded(low, high, convert, kind: str) -> Parser:
    def parse(variable: str, raw: str):
        try:
            value = convert(raw)
        except ValueError:
            raise ConfigError(f"{variable}={raw!r} is not {kind}; allowed values: {low}..{high}") from None
        if not low <= value <= high:
            raise ConfigError(f"{variable}={raw!r} is out of range; allowed values: {low}..{high}")
        return value

    return parse


def _integer(low: int, high: int) -> Parser:
    return _bounded(low, high, int, "an integer")


def _number(low: float, high: float) -> Parser:
    return _bounded(low, high, float, "a number")


def _secret(variable: str, raw: str) -> str:
    if len(raw) < MIN_API_KEY_LENGTH:
        raise ConfigError(f"{variable} is too short; allowed values: at least {MIN_API_KEY_LENGTH} characters")
    return raw


def _redis_url(variable: str, raw: str) -> str:
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(
            f"{variable}={raw!r} is not a Redis URL; allowed values: redis://[user:password@]host:port[/db], "
            "rediss://... (TLS) or unix:///path/to/socket"
        )
    return raw


def _path(variable: str, raw: str) -> Path:
    return Path(raw).expanduser().resolve()


def _text(variable: str, raw: str) -> str:
    return raw


def _model(builtins: tuple[str, ...]) -> Parser:
    def parse(variable: str, raw: str) -> str:
        if raw in builtins or (Path(raw).expanduser() / "modules.json").is_file():
            return raw
        raise ConfigError(
            f"{variable}={raw!r} is not a known model; allowed values: {', '.join(builtins)}, "
            "or the path of a local sentence-transformers model directory (one with modules.json)"
        )

    return parse


def setting(default, parse: Parser, doc: str, shown_default: str | None = None, secret: bool = False):
    """A setting's declaration: the environment variable is the field name in upper case. A secret
    is never printed with the settings."""
    return field(default=default, repr=not secret,
                 metadata={"parse": parse, "doc": doc, "shown_default": shown_default})


@dataclass(frozen=True)
class Settings:
    redis_url: str | None = setting(
        None, _redis_url,
        "`redis://[user:password@]host:port[/db]`, `rediss://` (TLS) or `unix://`. A Redis Stack or Redis 8 "
        "server with the Query Engine and JSON. When set, nothing embedded is started.",
        shown_default="unset: embedded Redis",
    )
    redis_timeout: float = setting(
        2.0, _number(0.1, 60.0),
        "seconds a Redis command may wait; with one immediate retry, a request answers 503 within 2 x this "
        "when Redis is down or hung",
    )
    index_algorithm: str = setting("HNSW", _choice(ALGORITHMS), "`HNSW` or `FLAT` (exact), for a newly created index")
    distance_metric: str = setting(
        "COSINE", _choice(METRICS), "`COSINE`, `IP` or `L2`, for a newly created index"
    )
    vector_datatype: str = setting(
        "FLOAT32", _choice(VECTOR_DATATYPES),
        "`FLOAT32` or `FLOAT16` (half the vector memory, ~0.5% lower recall: docs/scaling.md), for a newly "
        "created index; `python -m indexer reindex` converts the stored vectors",
    )
    hnsw_m: int = setting(16, _integer(2, 512), "HNSW graph degree")
    hnsw_ef_construction: int = setting(200, _integer(1, 4096), "HNSW build-time candidate list")
    hnsw_ef_runtime: int = setting(
        100, _integer(*EF_RUNTIME_RANGE),
        "HNSW query-time candidate list (recall vs speed); requests may override it with `ef_runtime=`",
    )
    hybrid_policy: str = setting(
        "AUTO", _choice(HYBRID_POLICIES),
        "how a filtered KNN runs: `AUTO` (RediSearch chooses per query), `ADHOC_BF` or `BATCHES`",
    )
    catalog: Path | None = setting(
        None, _path,
        "catalog folder `make run` loads; when set, it is loaded (idempotently) at every start",
        shown_default="`data/sample`",
    )
    synonyms: Path = setting(
        PROJECT_ROOT / "data" / "synonyms.txt", _path,
        "the shopper-words file the loader applies to the index (format: see the file)",
    )
    data_dir: Path = setting(
        PROJECT_ROOT / "data", _path,
        "embedded Redis data (`data/redis`), the models exported to ONNX (`data/models`), photos written "
        "through the API (`data/images`), photo thumbnails (`data/thumbnails`) and the image features cache "
        "(`data/image-features`)",
    )
    text_model: str = setting(
        BUILTIN_TEXT_MODELS[0], _model(BUILTIN_TEXT_MODELS),
        "text embedding model: `all-MiniLM-L6-v2-int8` (weights in int8, 1.5x faster), `all-MiniLM-L6-v2` "
        "(float) or the path of a local sentence-transformers model. After a change, `python -m indexer load` "
        "embeds the products' texts again",
    )
    image_model: str = setting(
        BUILTIN_IMAGE_MODELS[0], _model(BUILTIN_IMAGE_MODELS),
        "image embedding model: `efficientnet-lite0-bf16` (computed in bfloat16 where the CPU has it, 1.9x "
        "faster), `efficientnet-lite0` (float) or the path of a local sentence-transformers (CLIP) model. After a "
        "change, `python -m indexer load` embeds the photos again",
    )
    image_projection: str = setting(
        "lda", _choice(IMAGE_PROJECTIONS, str.lower),
        "By Image vectors: `lda` (a projection learnt from the catalog's article types and colours when it is "
        "first loaded, 192-d; `python -m indexer reindex` refits it) or `none` (the image model's own vectors). "
        "A CLIP image model keeps its own vectors either way",
    )
    host: str = setting("127.0.0.1", _text, "where `make run` serves")
    port: int = setting(5000, _integer(1, 65535), "the port `make run` serves on")
    web_workers: int = setting(2, _integer(1, 64), "gunicorn worker processes")
    web_threads: int = setting(4, _integer(1, 256), "threads per gunicorn worker")
    query_cache_entries: int = setting(
        20_000, _integer(0, 10_000_000),
        "free-text query vectors kept in Redis for all app processes (~1.7 KB each; 0 turns the cache off)",
    )
    query_cache_ttl: int = setting(
        86_400, _integer(1, 30 * 86_400), "seconds a cached query vector is kept",
    )
    max_upload_mb: float = setting(10.0, _number(0.1, 100.0), "largest request body (photo upload), in MB")
    api_key: str | None = setting(
        None, _secret,
        f"enables the write API; clients send `Authorization: Bearer <API_KEY>` "
        f"({MIN_API_KEY_LENGTH} characters at least)",
        shown_default="unset: writes disabled", secret=True,
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values = {}
        for declared in fields(cls):
            raw = env.get(declared.name.upper(), "").strip()
            if raw:
                values[declared.name] = _parse(declared.name, raw)
        return cls(**values)

    def with_overrides(self, **changes) -> Settings:
        """A copy with some settings replaced, validated like environment values."""
        parsed = {name: _parse(name, str(value)) for name, value in changes.items() if value is not None}
        return replace(self, **parsed)

    @property
    def catalog_path(self) -> Path:
        return self.catalog or DEFAULT_CATALOG

    @property
    def redis_dir(self) -> Path:
        return self.data_dir / "redis"

    @property
    def model_cache_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def thumbnails_dir(self) -> Path:
        return self.data_dir / "thumbnails"

    @property
    def product_images_dir(self) -> Path:
        """Photos of products written through the API."""
        return self.data_dir / "images"

    @property
    def image_features_dir(self) -> Path:
        """Image features cached on disk by image fingerprint (finder.projection.FeatureCache)."""
        return self.data_dir / "image-features"


def _parse(name: str, raw: str):
    declared = next(declared for declared in fields(Settings) if declared.name == name)
    return declared.metadata["parse"](name.upper(), raw)


def markdown_table() -> str:
    """The README's table of environment variables."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for declared in fields(Settings):
        default = declared.metadata["shown_default"] or _shown(declared.default)
        rows.append(f"| `{declared.name.upper()}` | {default} | {declared.metadata['doc']} |")
    return "\n".join(rows)


def _shown(value) -> str:
    if isinstance(value, Path):
        value = value.relative_to(PROJECT_ROOT) if value.is_relative_to(PROJECT_ROOT) else value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


if __name__ == "__main__":
    print(markdown_table())
