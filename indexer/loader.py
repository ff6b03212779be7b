"""Bulk loading: embed a catalog and write it to Redis, fast, safely and repeatably.

Idempotent by construction (see finder/writes.py): a product whose document and vector
fingerprints are unchanged is skipped without embedding; one whose name changed gets a new text
vector and keeps its image vector. Products are written in batches, each batch one MULTI/EXEC
(their autocomplete entries included), so an interrupted load leaves only whole products behind
and the next run resumes after them.

The first load of a catalog with IMAGE_PROJECTION=lda learns the By Image projection from it
(finder/projection.py), so it sees every photo before writing any product:
1. the features of every photo, cached on disk (an interrupted load does not compute them again),
   two batches at a time, and meanwhile the texts' vectors in another thread (TextsAhead), so
   both cores stay busy,
2. the projection fitted on the catalog's article types and colours, stored, and the index
   created over its vectors,
3. the products written in batches, as on every load.
Later loads give new photos vectors of the stored projection; `python -m indexer reindex` refits.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from finder.config import Settings
from finder.embeddings import Embedder, ImageError
from finder.index import IndexInfo, describe_index, ensure_index
from finder.products import Product
from finder.projection import (
    LDA,
    NONE,
    FeatureCache,
    ImageSpaces,
    Projection,
    can_fit,
    feature_cache,
    fit_projection,
)
from finder.schema import IMAGE_VECTOR
from finder.store import ProductStore
from finder.writes import PendingWrite, embed_writes, image_features, pending_write, store_writes
from indexer.catalog import CatalogRow, RowProblem, read_catalog

BATCH_SIZE = 64


@dataclass
class LoadReport:
    rows: int = 0
    loaded: int = 0
    skipped: int = 0  # already stored and unchanged
    failed: list[RowProblem] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # what was decided about By Image vectors

    def summary(self) -> str:
        rate = f" ({self.loaded / self.seconds:.1f} products/s)" if self.loaded and self.seconds else ""
        return (
            f"{self.rows} rows: {self.loaded} loaded, {self.skipped} skipped (unchanged), "
            f"{len(self.failed)} failed, {self.seconds:.1f} s{rate}"
        )


def load_catalog(
    folder: Path,
    store: ProductStore,
    embedder: Embedder,
    settings: Settings,
    *,
    limit: int | None = None,
    batch_size: int = BATCH_SIZE,
    show_progress: bool = True,
    on_written: Callable[[list[str]], None] | None = None,
) -> LoadReport:
    """Load a catalog folder, creating the index if there is none. `on_written` receives the ids
    of each batch once Redis has acknowledged it (on the embedded server, once it is on disk:
    appendfsync always)."""
    started = time.perf_counter()
    store.ensure_suggestions()  # before any write: a catalog loaded before autocomplete existed
    rows, problems = read_catalog(folder, limit)
    report = LoadReport(rows=len(rows) + len(problems), failed=problems)
    line_of = {row.product.id: row.line for row in rows}
    info = describe_index(store.client)
    texts_ahead = None
    if info is None:
        embedder.warm_up(texts=False)  # the photos need it first, and exports run one at a time
        texts_ahead = TextsAhead(embedder, [row.product for row in rows])
    try:
        fingerprints = _image_fingerprints(rows, embedder, report)
        rows = [row for row in rows if row.product.id in fingerprints]
        spaces = ImageSpaces(store.client, embedder)
        cache = feature_cache(settings, embedder)
        if info is None:
            info, unreadable = _first_index(rows, fingerprints, spaces, cache, settings, report, show_progress)
            report.failed += [_unreadable(line_of[product_id], product_id, error)
                              for product_id, error in unreadable.items()]
            rows = [row for row in rows if row.product.id not in unreadable]
        pending = _pending_writes(rows, fingerprints, store, embedder, report, info.sources[IMAGE_VECTOR])
        text_vectors = texts_ahead.vectors() if texts_ahead else {}
    finally:
        if texts_ahead:
            texts_ahead.stop()  # on an error: the load is over
    with tqdm(total=len(pending), unit=" products", desc="Loading",
              disable=not show_progress or not pending) as progress:
        for batch in _chunks(pending, batch_size):
            embedded, unreadable = embed_writes(batch, embedder, cache, text_vectors)
            report.failed += [_unreadable(line_of[write.product.id], write.product.id, error)
                              for write, error in unreadable]
            store_writes(store, spaces, embedded)
            report.loaded += len(embedded)
            progress.update(len(batch))
            if on_written:
                on_written([write.pending.product.id for write in embedded])
    report.failed.sort(key=lambda problem: problem.line)
    report.seconds = time.perf_counter() - started
    return report


class TextsAhead:
    """The text vectors of a first load, embedded in a background thread while the main thread
    embeds the photos and fits the projection: without it the text model's export and the fit use
    one core of two, and the photo phase leaves part of one idle (docs/benchmarks.md, section 7).
    The writes wait for all of them (1.5 KB a product, less than the photo features the fit holds)."""

    def __init__(self, embedder: Embedder, products: Sequence[Product]):
        self._embedder = embedder
        self._stopping = threading.Event()
        texts = list(dict.fromkeys(product.embedding_text() for product in products))
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="texts-ahead")
        self._vectors = pool.submit(self._embed, texts)  # an error is raised by vectors(), as without the thread
        pool.shutdown(wait=False)  # its one thread ends when the work is done or stopped

    def stop(self) -> None:
        """Embed no more (the batch being embedded finishes)."""
        self._stopping.set()

    def vectors(self) -> dict[str, np.ndarray]:
        return self._vectors.result()

    def _embed(self, texts: list[str]) -> dict[str, np.ndarray]:
        vectors = {}
        for batch in _chunks(texts, BATCH_SIZE):
            if self._stopping.is_set():
                break
            for text, vector in zip(batch, self._embedder.embed_texts(batch), strict=True):
                vectors[self._embedder.text_fingerprint(text)] = vector
        return vectors


def _first_index(rows: list[CatalogRow], fingerprints: dict[str, str], spaces: ImageSpaces,
                 cache: FeatureCache | None, settings: Settings, report: LoadReport,
                 show_progress: bool) -> tuple[IndexInfo, dict[str, ImageError]]:
    """Create the catalog's index, over the vectors of a projection learnt from it when one is
    wanted and can be learnt. Returns it with the photos that could not be decoded."""
    embedder = spaces.embedder
    for generation in spaces.stored():  # no index searches them: left by an interrupted first load
        spaces.forget(generation)
    projection, unreadable = None, {}
    if settings.image_projection == LDA and embedder.projection_allowed:
        features, unreadable = _catalog_features(rows, fingerprints, embedder, cache, show_progress)
        labelled = [row.product for row in rows if row.product.id not in unreadable]
        if can_fit([product.article_type for product in labelled]):
            if show_progress:
                print(f"Fitting the By Image projection on {len(labelled)} products ...", file=sys.stderr)
            projection = fit_projection(features, [product.article_type for product in labelled],
                                        [product.color for product in labelled], embedder.image_features_id)
            spaces.save(projection)
            report.notes.append(fitted_note(projection))
        else:
            report.notes.append(too_few_to_fit(len(labelled)))
    target = embedder.with_projection(projection)
    info = ensure_index(spaces.client, settings, target.text_dim, target.image_dim,
                        projection.generation if projection else NONE)
    return info, unreadable


def _catalog_features(rows: list[CatalogRow], fingerprints: dict[str, str], embedder: Embedder,
                      cache: FeatureCache | None, show_progress: bool) -> tuple[np.ndarray, dict[str, ImageError]]:
    """The features of every row's photo, in row order (rows whose photo cannot be decoded are
    left out and returned with the reason)."""
    found, unreadable = [], {}
    batches = list(_chunks(rows, BATCH_SIZE))

    def batch_features(batch: Sequence[CatalogRow]) -> list[np.ndarray | ImageError]:
        return image_features([(fingerprints[row.product.id], row.image_path) for row in batch], embedder, cache)

    # Two batches at a time: one is decoded and resized (threads that share the GIL) while the
    # other runs through the model, so the cores stay busy.
    with tqdm(total=len(rows), unit=" photos", desc="Photos", disable=not show_progress) as progress, \
            ThreadPoolExecutor(max_workers=2, thread_name_prefix="photos") as pool:
        for batch, batch_found in zip(batches, pool.map(batch_features, batches), strict=True):
            for row, features in zip(batch, batch_found, strict=True):
                if isinstance(features, ImageError):
                    unreadable[row.product.id] = features
                else:
                    found.append(features.astype(np.float16))  # half the memory; features are float16 values
            progress.update(len(batch))
    return np.stack(found) if found else np.zeros((0, 0), dtype=np.float16), unreadable


def fitted_note(projection: Projection) -> str:
    about = projection.about
    return (f"By Image: projection {projection.generation} fitted on {about['products']} products "
            f"({about['article_types']} article types, {about['type_colour_labels']} type|colour labels) "
            f"in {about['fit_seconds']:.1f} s; image vectors are {projection.dims}-d")


def too_few_to_fit(products: int) -> str:
    return (f"By Image: {products} products with photos are too few to learn a projection from; the index "
            "uses the image model's own vectors until `python -m indexer reindex` fits one")


def _image_fingerprints(rows: list[CatalogRow], embedder: Embedder, report: LoadReport) -> dict[str, str]:
    """Product id -> fingerprint of its photo; unreadable files are reported and left out."""
    fingerprints = {}
    for row in rows:
        try:
            fingerprints[row.product.id] = embedder.image_fingerprint(row.image_path.read_bytes())
        except OSError as error:
            report.failed.append(RowProblem(row.line, row.product.id, f"cannot read image: {error.strerror}"))
    return fingerprints


def _pending_writes(rows: list[CatalogRow], fingerprints: dict[str, str], store: ProductStore, embedder: Embedder,
                    report: LoadReport, image_field: str) -> list[PendingWrite]:
    """What each product needs written and embedded; unchanged products need nothing."""
    stored = store.stored_state((row.product.id for row in rows), image_field)
    pending = []
    for row in rows:
        write = pending_write(row.product, row.image_path, fingerprints[row.product.id], stored[row.product.id],
                              embedder)
        if write is None:
            report.skipped += 1
        else:
            pending.append(write)
    return pending


def _unreadable(line: int, product_id: str, error: ImageError) -> RowProblem:
    return RowProblem(line, product_id, f"unreadable image: {error}")


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
