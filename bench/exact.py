"""Exact nearest neighbours with numpy: the ground truth that recall is measured against.

Vectors are unit length (finder stores only unit vectors; the synthetic ones are normalised),
so the COSINE distance RediSearch reports is 1 - dot product. Candidates arrive in chunks, so a
million vectors never have to be in memory at once. Products whose distance ties the k-th
nearest count as correct answers too (the real catalog has identical photos of different
products; which of them an index returns first is arbitrary).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

TIE_TOLERANCE = 1e-5  # distances closer than this are ties (float32 rounding is ~1e-7 here)
TIE_MARGIN = 20  # extra candidates kept per query to recognise ties at the k-th place


class ExactNeighbours:
    """The k nearest stored vectors of each query, optionally among those passing a filter,
    each query's own product excluded (as the benchmarks exclude it from the index's answers)."""

    def __init__(self, queries: np.ndarray, k: int, exclude_ids: Sequence[str] | None = None):
        self.queries = np.asarray(queries, dtype=np.float32)
        self.k = k
        self.keep = k + TIE_MARGIN
        self.exclude_ids = list(exclude_ids) if exclude_ids is not None else [None] * len(self.queries)
        self.similarities = np.full((len(self.queries), 0), -np.inf, dtype=np.float32)
        self.ids = np.empty((len(self.queries), 0), dtype=object)

    def add(self, ids: Sequence[str], vectors: np.ndarray, passing: np.ndarray | None = None) -> None:
        """Consider a chunk of stored vectors; `passing` marks those that pass the filter."""
        ids = np.asarray(ids, dtype=object)
        similarities = self.queries @ np.asarray(vectors, dtype=np.float32).T
        if passing is not None:
            similarities[:, ~passing] = -np.inf
        position = {product_id: column for column, product_id in enumerate(ids)}
        for row, excluded in enumerate(self.exclude_ids):
            if excluded in position:
                similarities[row, position[excluded]] = -np.inf
        top = _top_columns(similarities, self.keep)
        merged_similarities = np.concatenate([self.similarities, np.take_along_axis(similarities, top, axis=1)], axis=1)
        merged_ids = np.concatenate([self.ids, ids[top]], axis=1)
        best = _top_columns(merged_similarities, self.keep)
        self.similarities = np.take_along_axis(merged_similarities, best, axis=1)
        self.ids = np.take_along_axis(merged_ids, best, axis=1)

    def recall(self, query: int, found_ids: Sequence[str]) -> float:
        """Share of the true k nearest (ties included) among the ids an index returned."""
        similarities = self.similarities[query]
        available = int(np.isfinite(similarities).sum())
        expected = min(self.k, available)
        if expected == 0:
            return 1.0
        kth = np.sort(similarities)[::-1][expected - 1]
        correct = set(self.ids[query][similarities >= kth - TIE_TOLERANCE])
        return min(1.0, len(correct.intersection(found_ids[: self.k])) / expected)


def _top_columns(values: np.ndarray, count: int) -> np.ndarray:
    """Column indices of the `count` largest values of each row (unordered)."""
    if values.shape[1] <= count:
        return np.tile(np.arange(values.shape[1]), (values.shape[0], 1))
    return np.argpartition(-values, count - 1, axis=1)[:, :count]
