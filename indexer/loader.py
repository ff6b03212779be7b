"""Bulk loading: embed a catalog and write it to Redis, fast, safely and repeatably.

Idempotent by construction: each stored product keeps fingerprints of what its vectors were
computed from (model + embedded text, model + image bytes). A product whose document and
fingerprints are unchanged is skipped without embedding; one whose name changed gets a new text
vector and keeps its image vector. Products are written in batches, each batch one MULTI/EXEC,
so an interrupted load leaves only whole products behind and the next run resumes after them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

from tqdm import tqdm

from finder.embeddings import Embedder, ImageError, decode_images
from finder.store import ProductStore, ProductWrite
from indexer.catalog import CatalogRow, RowProblem, read_catalog

BATCH_SIZE = 64


@dataclass
class LoadReport:
    rows: int = 0
    loaded: int = 0
    skipped: int = 0  # already stored and unchanged
    failed: list[RowProblem] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        rate = f" ({self.loaded / self.seconds:.1f} products/s)" if self.loaded and self.seconds else ""
        return (
            f"{self.rows} rows: {self.loaded} loaded, {self.skipped} skipped (unchanged), "
            f"{len(self.failed)} failed, {self.seconds:.1f} s{rate}"
        )


@dataclass(frozen=True)
class _PlannedWrite:
    row: CatalogRow
    text: str
    text_fingerprint: str
    image_fingerprint: str
    embed_text: bool
    embed_image: bool


def load_catalog(
    folder: Path,
    store: ProductStore,
    embedder: Embedder,
    *,
    limit: int | None = None,
    batch_size: int = BATCH_SIZE,
    show_progress: bool = True,
) -> LoadReport:
    started = time.perf_counter()
    rows, problems = read_catalog(folder, limit)
    report = LoadReport(rows=len(rows) + len(problems), failed=problems)
    planned = _plan(rows, store, embedder, report)
    with tqdm(total=len(planned), unit=" products", desc="Embedding", disable=not show_progress or not planned) as progress:
        for batch in _chunks(planned, batch_size):
            report.loaded += _write_batch(batch, store, embedder, report)
            progress.update(len(batch))
    report.failed.sort(key=lambda problem: problem.line)
    report.seconds = time.perf_counter() - started
    return report


def _plan(rows: list[CatalogRow], store: ProductStore, embedder: Embedder, report: LoadReport) -> list[_PlannedWrite]:
    """Decide per product what must be embedded; unchanged products need nothing."""
    stored = store.stored_state(row.product.id for row in rows)
    planned = []
    for row in rows:
        try:
            image_bytes = row.image_path.read_bytes()
        except OSError as error:
            report.failed.append(RowProblem(row.line, row.product.id, f"cannot read image: {error.strerror}"))
            continue
        text = row.product.embedding_text()
        text_fingerprint = embedder.text_fingerprint(text)
        image_fingerprint = embedder.image_fingerprint(image_bytes)
        state = stored[row.product.id]
        embed_text = state.text_fingerprint != text_fingerprint
        embed_image = state.image_fingerprint != image_fingerprint
        if not embed_text and not embed_image and state.document == row.product.to_document():
            report.skipped += 1
            continue
        planned.append(_PlannedWrite(row, text, text_fingerprint, image_fingerprint, embed_text, embed_image))
    return planned


def _write_batch(
    batch: Sequence[_PlannedWrite], store: ProductStore, embedder: Embedder, report: LoadReport
) -> int:
    """Embed what a batch needs and store it in one transaction; returns products written."""
    needs_image = [plan for plan in batch if plan.embed_image]
    decoded = decode_images([plan.row.image_path for plan in needs_image])
    images = {}
    for plan, image in zip(needs_image, decoded):
        if isinstance(image, ImageError):
            report.failed.append(RowProblem(plan.row.line, plan.row.product.id, f"unreadable image: {image}"))
        else:
            images[plan.row.product.id] = image
    batch = [plan for plan in batch if not plan.embed_image or plan.row.product.id in images]
    image_vectors = dict(zip(images, embedder.embed_images(list(images.values()))))
    needs_text = [plan for plan in batch if plan.embed_text]
    text_vectors = dict(
        zip((plan.row.product.id for plan in needs_text), embedder.embed_texts([plan.text for plan in needs_text]))
    )
    store.save(
        [
            ProductWrite(
                product=plan.row.product,
                text_fingerprint=plan.text_fingerprint,
                image_fingerprint=plan.image_fingerprint,
                text_vector=text_vectors.get(plan.row.product.id),
                image_vector=image_vectors.get(plan.row.product.id),
            )
            for plan in batch
        ]
    )
    return len(batch)


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
