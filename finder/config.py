"""All configuration, read once from environment variables.

Every setting has one name, one default and one validation rule here; nothing else in the
project reads os.environ for configuration.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Mapping

from finder.embeddings import BUILTIN_IMAGE_MODELS, BUILTIN_TEXT_MODELS, ModelError, check_model_name

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CATALOG = PROJECT_ROOT / "data" / "sample"

ALGORITHMS = ("HNSW", "FLAT")
METRICS = ("COSINE", "IP", "L2")
HYBRID_POLICIES = ("AUTO", "ADHOC_BF", "BATCHES")


class ConfigError(ValueError):
    """A setting has a value we cannot use. The message names the variable."""


@dataclass(frozen=True)
class Settings:
    redis_url: str | None = None
    redis_timeout: float = 2.0
    index_algorithm: str = "HNSW"
    distance_metric: str = "COSINE"
    hnsw_m: int = 16
    hnsw_ef_construction: int = 200
    hnsw_ef_runtime: int = 100
    hybrid_policy: str = "AUTO"
    catalog: Path | None = None
    data_dir: Path = PROJECT_ROOT / "data"
    text_model: str = "all-MiniLM-L6-v2"
    image_model: str = "efficientnet-lite0"
    host: str = "127.0.0.1"
    port: int = 5000
    web_workers: int = 2
    web_threads: int = 4
    max_upload_mb: float = 10.0
    api_key: str | None = field(default=None, repr=False)  # never printed with the settings

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        values = {}
        for setting in fields(cls):
            variable = setting.name.upper()
            raw = env.get(variable, "").strip()
            if raw:
                values[setting.name] = _parse(variable, raw)
        return cls(**values)

    def with_overrides(self, **changes) -> "Settings":
        """A copy with some settings replaced, validated like environment values."""
        parsed = {
            name: _parse(name.upper(), str(value)) for name, value in changes.items() if value is not None
        }
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
    def product_images_dir(self) -> Path:
        """Photos of products written through the API."""
        return self.data_dir / "images"


def _choice(variable: str, raw: str, allowed: tuple[str, ...]) -> str:
    value = raw.upper()
    if value not in allowed:
        raise ConfigError(f"{variable}={raw!r} is not valid; allowed values: {', '.join(allowed)}")
    return value


def _integer(variable: str, raw: str, low: int, high: int) -> int:
    return _bounded(variable, raw, low, high, int, "an integer")


def _number(variable: str, raw: str, low: float, high: float) -> float:
    return _bounded(variable, raw, low, high, float, "a number")


def _bounded(variable: str, raw: str, low, high, convert, kind: str):
    try:
        value = convert(raw)
    except ValueError:
        raise ConfigError(f"{variable}={raw!r} is not {kind}; allowed values: {low}..{high}") from None
    if not low <= value <= high:
        raise ConfigError(f"{variable}={raw!r} is out of range; allowed values: {low}..{high}")
    return value


def _secret(variable: str, raw: str, min_length: int) -> str:
    if len(raw) < min_length:
        raise ConfigError(f"{variable} is too short; allowed values: at least {min_length} characters")
    return raw


def _redis_url(variable: str, raw: str) -> str:
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(
            f"{variable}={raw!r} is not a Redis URL; allowed values: redis://[user:password@]host:port[/db], "
            "rediss://... (TLS) or unix:///path/to/socket"
        )
    return raw


def _directory(variable: str, raw: str) -> Path:
    return Path(raw).expanduser().resolve()


def _text(variable: str, raw: str) -> str:
    return raw


def _model(builtins: dict[str, int]):
    def parse(variable: str, raw: str) -> str:
        try:
            return check_model_name(variable, raw, builtins)
        except ModelError as error:
            raise ConfigError(str(error)) from None

    return parse


_PARSERS = {
    "REDIS_URL": _redis_url,
    "REDIS_TIMEOUT": lambda v, raw: _number(v, raw, 0.1, 60.0),
    "INDEX_ALGORITHM": lambda v, raw: _choice(v, raw, ALGORITHMS),
    "DISTANCE_METRIC": lambda v, raw: _choice(v, raw, METRICS),
    "HNSW_M": lambda v, raw: _integer(v, raw, 2, 512),
    "HNSW_EF_CONSTRUCTION": lambda v, raw: _integer(v, raw, 1, 4096),
    "HNSW_EF_RUNTIME": lambda v, raw: _integer(v, raw, 1, 4096),
    "HYBRID_POLICY": lambda v, raw: _choice(v, raw, HYBRID_POLICIES),
    "CATALOG": _directory,
    "DATA_DIR": _directory,
    "TEXT_MODEL": _model(BUILTIN_TEXT_MODELS),
    "IMAGE_MODEL": _model(BUILTIN_IMAGE_MODELS),
    "HOST": _text,
    "PORT": lambda v, raw: _integer(v, raw, 1, 65535),
    "WEB_WORKERS": lambda v, raw: _integer(v, raw, 1, 64),
    "WEB_THREADS": lambda v, raw: _integer(v, raw, 1, 256),
    "MAX_UPLOAD_MB": lambda v, raw: _number(v, raw, 0.1, 100.0),
    "API_KEY": lambda v, raw: _secret(v, raw, min_length=16),
}


def _parse(variable: str, raw: str):
    return _PARSERS[variable](variable, raw)
