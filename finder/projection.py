"""By Image: a projection learnt from the catalog's own labels, and where it is kept.

An image model makes a photo's features (finder/embeddings.py); a projection maps them to the
vectors the index stores. It is fitted when a catalog is first loaded and refitted by
`python -m indexer reindex`, on the catalog's article types and colours: linear discriminant
analysis (LDA) keeps the directions along which products of one type and colour lie close and
products of different ones apart, and drops the rest (background, pose, lighting). Queries use
only the photo: the product's words never enter a By Image vector; they only taught the
projection which visual differences matter. Details and measurements: docs/design.md,
"By Image: a projection learnt from the catalog".

Each fitted projection is a *generation* with a short id. It lives in Redis beside the index
(a hash `finder:image-projection:<generation>`), never in files, so the loader and every app
process use exactly what the index uses. A product's vector of a generation is the search-hash
field `image_vector@<generation>`, which the index maps to its `image_vector` attribute; the set
`finder:image-projections:active` lists the generations every product write fills (two while a
refit builds the next one). `none` stands for the image model's own vectors, in the field
`image_vector` (IMAGE_PROJECTION=none, a CLIP model, or a catalog too small to learn from).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import redis
from scipy.linalg import cholesky, eigh, solve_triangular

from finder.active_sets import ActiveSet
from finder.config import IMAGE_PROJECTIONS, Settings
from finder.embeddings import FEATURE_DTYPE, Embedder, unit_rows
from finder.schema import IMAGE_VECTOR

LDA, NONE = IMAGE_PROJECTIONS
ACTIVE_KEY = "finder:image-projections:active"
ACTIVE_GENERATIONS = ActiveSet(ACTIVE_KEY, NONE)  # the generations every product write fills
PROJECTION_KEY_PREFIX = "finder:image-projection:"

TYPE_COLOUR_DIMS = 128  # LDA on "article type|colour" labels
TYPE_DIMS = 64  # LDA on article types: padded with zeros or truncated, so vectors are 192-d for any catalog
TYPE_WEIGHT = 0.7  # of the type part beside the type+colour part
SHRINKAGE = 0.05  # within-class scatter pulled towards a multiple of the identity: stable with few products
MIN_PRODUCTS = 100  # fewer labelled products than this teach a projection too little: `none` until a reindex
MIN_ARTICLE_TYPES = 2
FIT_CHUNK = 2048  # products per block when accumulating the scatter matrices


def image_field(generation: str) -> str:
    """The search-hash field holding a product's image vector of a generation."""
    return IMAGE_VECTOR if generation == NONE else f"{IMAGE_VECTOR}@{generation}"


def generation_of(field_name: str) -> str:
    """The generation whose vectors a search-hash field holds (see image_field)."""
    return field_name.partition("@")[2] or NONE


def new_generation() -> str:
    return secrets.token_hex(4)


@dataclass(frozen=True)
class Projection:
    """A fitted projection: features -> [unit(type|colour part), TYPE_WEIGHT x unit(type part)],
    unit length. `about` says what it was fitted on."""

    generation: str
    mean: np.ndarray = field(compare=False, repr=False)  # (features,)
    type_colour: np.ndarray = field(compare=False, repr=False)  # (features, TYPE_COLOUR_DIMS)
    article_type: np.ndarray = field(compare=False, repr=False)  # (features, TYPE_DIMS)
    about: dict = field(compare=False)

    @property
    def dims(self) -> int:
        return self.type_colour.shape[1] + self.article_type.shape[1]

    @property
    def features(self) -> str:
        """The features it was fitted on (Embedder.image_features_id)."""
        return self.about["features"]

    def apply(self, features: np.ndarray) -> np.ndarray:
        centred = features - self.mean
        parts = (unit_rows(centred @ self.type_colour), TYPE_WEIGHT * unit_rows(centred @ self.article_type))
        return unit_rows(np.hstack(parts))

    def to_hash(self) -> dict[str, bytes | str]:
        return {"about": json.dumps(self.about), "mean": _bytes(self.mean),
                "type_colour": _bytes(self.type_colour), "article_type": _bytes(self.article_type)}

    @classmethod
    def from_hash(cls, generation: str, stored: dict[bytes, bytes]) -> Projection:
        about = json.loads(stored[b"about"])
        size = about["feature_dim"]
        return cls(
            generation=generation,
            mean=np.frombuffer(stored[b"mean"], dtype=np.float32),
            type_colour=np.frombuffer(stored[b"type_colour"], dtype=np.float32).reshape(size, -1),
            article_type=np.frombuffer(stored[b"article_type"], dtype=np.float32).reshape(size, -1),
            about=about,
        )


def can_fit(article_types: Sequence[str]) -> bool:
    """Whether a catalog's products teach a projection enough (MIN_PRODUCTS, MIN_ARTICLE_TYPES)."""
    return len(article_types) >= MIN_PRODUCTS and len(set(article_types)) >= MIN_ARTICLE_TYPES


def fit_projection(features: np.ndarray, article_types: Sequence[str], colours: Sequence[str | None],
                   features_id: str) -> Projection:
    """Fit a new generation on one row of features per product and the product's labels."""
    started = time.perf_counter()
    mean, scatter = _total_scatter(features)
    type_colour_labels = [f"{article_type}|{colour or ''}" for article_type, colour in
                          zip(article_types, colours, strict=True)]
    type_colour = _discriminants(features, mean, scatter, type_colour_labels, TYPE_COLOUR_DIMS)
    article_type = _discriminants(features, mean, scatter, list(article_types), TYPE_DIMS)
    about = {
        "method": "LDA on article type|colour and on article type",
        "features": features_id,
        "feature_dim": int(features.shape[1]),
        "dims": TYPE_COLOUR_DIMS + TYPE_DIMS,
        "products": int(features.shape[0]),
        "article_types": len(set(article_types)),
        "type_colour_labels": len(set(type_colour_labels)),
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "fit_seconds": round(time.perf_counter() - started, 2),
    }
    return Projection(new_generation(), mean.astype(np.float32), type_colour, article_type, about)


def _total_scatter(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance in float64, accumulated a block at a time (BLAS, no copy of the whole)."""
    count, size = features.shape
    mean = features.mean(axis=0, dtype=np.float64)
    scatter = np.zeros((size, size))
    for start in range(0, count, FIT_CHUNK):
        block = features[start : start + FIT_CHUNK].astype(np.float64) - mean
        scatter += block.T @ block
    return mean, scatter / count


def _discriminants(features: np.ndarray, mean: np.ndarray, scatter: np.ndarray, labels: list[str],
                   dims: int) -> np.ndarray:
    """The `dims` leading LDA directions (features x dims, float32), zero columns where the
    labels give fewer. Solves Sb w = l Sw w with Sw = total - between-class scatter, shrunk;
    through the Cholesky factor of Sw and the small (classes x classes) eigenproblem, never a
    features x features one. Directions are Sw-orthonormal, not scaled by their eigenvalues."""
    count, size = features.shape
    classes, index = np.unique(labels, return_inverse=True)
    sizes = np.bincount(index)
    order = np.argsort(index, kind="stable")
    sums = np.add.reduceat(features[order], np.r_[0, np.cumsum(sizes)[:-1]], axis=0, dtype=np.float64)
    between = (sums / sizes[:, None] - mean) * np.sqrt(sizes / count)[:, None]  # Sb = between.T @ between
    within = scatter - between.T @ between
    shrunk = (1 - SHRINKAGE) * within
    shrunk[np.diag_indices(size)] += SHRINKAGE * np.trace(within) / size
    lower = cholesky(shrunk, lower=True, overwrite_a=True, check_finite=False)
    whitened = solve_triangular(lower, between.T, lower=True, check_finite=False)  # L^-1 Sb^(1/2)
    values, vectors = eigh(whitened.T @ whitened, driver="evd", check_finite=False)  # evd: ~3x numpy's here
    kept = min(dims, len(classes) - 1)
    values, vectors = values[::-1][:kept], vectors[:, ::-1][:, :kept]
    kept = int((values > values[0] * 1e-9).sum()) if kept else 0
    directions = np.zeros((size, dims), dtype=np.float32)
    if kept:
        leading = whitened @ vectors[:, :kept] / np.sqrt(values[:kept])  # eigenvectors of L^-1 Sb L^-T
        directions[:, :kept] = solve_triangular(lower, leading, lower=True, trans="T", check_finite=False)
    return directions


class ImageSpaces:
    """The image vector spaces kept in Redis: each generation's projection (read once per
    process: a generation never changes) and the generations product writes fill."""

    def __init__(self, client: redis.Redis, embedder: Embedder):
        self.client = client
        self.embedder = embedder
        self._projections: dict[str, Projection] = {}

    def active(self) -> tuple[str, ...]:
        """The generations every product write must fill; (none,) before any projection."""
        return ACTIVE_GENERATIONS.members(self.client)

    def projection(self, generation: str) -> Projection | None:
        """A stored projection; None for `none` and for a generation that is not stored."""
        if generation == NONE:
            return None
        if generation not in self._projections:
            stored = self.client.hgetall(PROJECTION_KEY_PREFIX + generation)
            if not stored:
                return None
            self._projections[generation] = Projection.from_hash(generation, stored)
        return self._projections[generation]

    def embedder_for(self, generation: str) -> Embedder:
        """The Embedder making image vectors of a generation. Raises MissingProjection."""
        projection = self.projection(generation)
        if projection is None and generation != NONE:
            raise MissingProjection(generation)
        return self.embedder.with_projection(projection)

    def vectors(self, features: np.ndarray, generations: Sequence[str]) -> dict[str, np.ndarray]:
        """image_field(generation) -> image vectors of the features, for each generation (the
        store writes them in every active datatype)."""
        return {image_field(generation): self.embedder_for(generation).image_vectors(features)
                for generation in generations}

    def mismatches(self, generation: str) -> list[str]:
        """Why the configured image model cannot make vectors of a generation, if it cannot."""
        if generation == NONE:
            return []
        projection = self.projection(generation)
        if projection is None:
            return [f"the index searches image projection {generation}, which is not stored"]
        if projection.features != self.embedder.image_features_id:
            return [f"image projection {generation} was fitted on {projection.features} features, "
                    f"the configured image model makes {self.embedder.image_features_id} features"]
        return []

    def save(self, projection: Projection) -> None:
        """Store a projection (not yet filled by writes: see activate)."""
        self.client.hset(PROJECTION_KEY_PREFIX + projection.generation, mapping=projection.to_hash())
        self._projections[projection.generation] = projection

    def activate(self, generation: str) -> None:
        """From now on every product write also fills this generation."""
        ACTIVE_GENERATIONS.add(self.client, generation)

    def deactivate(self, generation: str) -> None:
        """Writes stop filling a generation (its stored vectors are left to the caller)."""
        ACTIVE_GENERATIONS.remove(self.client, generation)

    def stored(self) -> set[str]:
        """Generations with a stored projection."""
        return {key.decode()[len(PROJECTION_KEY_PREFIX):]
                for key in self.client.scan_iter(match=PROJECTION_KEY_PREFIX + "*", count=1000)}

    def forget(self, generation: str) -> None:
        """Delete a projection that no index searches and no write fills any longer."""
        if generation != NONE:
            self.client.delete(PROJECTION_KEY_PREFIX + generation)
            self._projections.pop(generation, None)


class MissingProjection(LookupError):
    """An index or write refers to a generation whose projection is not stored."""


def feature_cache(settings: Settings, embedder: Embedder) -> FeatureCache | None:
    """The on-disk cache of the configured image model's features; None for a model whose
    vectors are never projected (nothing would read it)."""
    if not embedder.projection_allowed:
        return None
    return FeatureCache(settings.image_features_dir / re.sub(r"[^\w.-]+", "_", embedder.image_features_id))


class FeatureCache:
    """Image features on disk, by image fingerprint: `<folder>/<fp[:2]>/<fp>.npy`, float16.
    Raw features would cost more memory in Redis than all the rest of a product (3,520 numbers),
    and are needed only to fit or apply a projection: at a refit, and for new photos. A cache,
    never the source of truth: any file may be deleted; a missing one is recomputed from the photo."""

    def __init__(self, folder: Path):
        self.folder = folder

    def get(self, fingerprint: str) -> np.ndarray | None:
        try:
            return np.load(self._path(fingerprint)).astype(np.float32)
        except (OSError, ValueError):  # missing, or cut short by a crash while it was written
            return None

    def put(self, fingerprint: str, features: np.ndarray) -> None:
        path = self._path(fingerprint)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{secrets.token_hex(4)}.partial")
        with open(partial, "wb") as handle:
            np.save(handle, np.asarray(features, dtype=FEATURE_DTYPE))
        partial.replace(path)  # atomic: a reader never sees half a file

    def _path(self, fingerprint: str) -> Path:
        return self.folder / fingerprint[:2] / f"{fingerprint}.npy"


def _bytes(array: np.ndarray) -> bytes:
    return np.ascontiguousarray(array, dtype=np.float32).tobytes()
