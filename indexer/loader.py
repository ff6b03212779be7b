"""Bulk loading: embed a catalog and write it to Redis, fast, safely and repeatably.

Idempotent by construction (see finder/writes.py): a product whose document and vector
fingerprints are unchanged is skipped without embedding; one whose name changed gets a new text
vector and keeps its image vector. Products are written in batches, each batch one MULTI/EXEC
(their autocomplete entries included), so an interrupted load leaves only whole products behind
and the next run resumes after them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from finder.embeddings import Embedder
from finder.store import ProductStore
from finder.writes import PendingWrite, embed_writes, pending_write
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


def load_catalog(
    folder: Path,
    store: ProductStore,
    embedder: Embedder,
    *,
    limit: int | None = None,
    batch_size: int = BATCH_SIZE,
    show_progress: bool = True,
    on_written: Callable[[list[str]], None] | None = None,
) -> LoadReport:
    """Load a catalog folder. `on_written` receives the ids of each batch once Redis has
    acknowledged it (on the embedded server, once it is on disk: appendfsync always)."""
    started = time.perf_counter()
    store.ensure_suggestions()  # before any write: a catalog loaded before autocomplete existed
    rows, problems = read_catalog(folder, limit)
    report = LoadReport(rows=len(rows) + len(problems), failed=problems)
    line_of = {row.product.id: row.line for row in rows}
    pending = _pending_writes(rows, store, embedder, report)
    with tqdm(total=len(pending), unit=" products", desc="Embedding",
              disable=not show_progress or not pending) as progress:
        for batch in _chunks(pending, batch_size):
            writes, unreadable = embed_writes(batch, embedder)
            report.failed += [
                RowProblem(line_of[write.product.id], write.product.id, f"unreadable image: {error}")
                for write, error in unreadable
            ]
            store.save(writes)
            report.loaded += len(writes)
            progress.update(len(batch))
            if on_written:
                on_written([write.product.id for write in writes])
    report.failed.sort(key=lambda problem: problem.line)
    report.seconds = time.perf_counter() - started
    return report


def _pending_writes(rows: list[CatalogRow], store: ProductStore, embedder: Embedder,
                    report: LoadReport) -> list[PendingWrite]:
    """What each product needs written and embedded; unchanged products need nothing."""
    stored = store.stored_state(row.product.id for row in rows)
    pending = []
    for row in rows:
        try:
            image_bytes = row.image_path.read_bytes()
        except OSError as error:
            report.failed.append(RowProblem(row.line, row.product.id, f"cannot read image: {error.strerror}"))
            continue
        fingerprint = embedder.image_fingerprint(image_bytes)
        write = pending_write(row.product, row.image_path, fingerprint, stored[row.product.id], embedder)
        if write is None:
            report.skipped += 1
        else:
            pending.append(write)
    return pending


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
