"""Fusing ranked candidate lists into one ranking: weighted reciprocal rank fusion (RRF).

Free-text search asks several retrievers at once (BM25 over the words, KNN over the text vectors,
and KNN again among the products with the catalog values the query names); each returns its
candidates best first. A product's fused score is the sum over the lists that hold it of
weight / (RRF_K + rank). Ranks, not raw scores, are combined: BM25 scores and cosine
similarities live on scales that do not compare, and RRF needs no calibration per catalog.

The weights and RRF_K were chosen by a grid search on the tune split of the relevance benchmark
(docs/benchmarks.md): plain RRF, every list weighing the same, with RRF_K 10 (the first ranks
decide more than with the customary 60) ranked known items best and kept every other family at
its best. BM25 among the understood products added nothing there, so it is not asked. The image
vector list (CLIP only) could not be tuned here: no CLIP weights can be downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass

RRF_K = 10

# Retrievers, by the name their candidates carry.
LEXICAL = "lexical"  # BM25 over name and attribute words, under the shopper's filters
VECTOR = "vector"  # KNN over the text vectors, under the shopper's filters
VECTOR_UNDERSTOOD = "vector, understood values"  # KNN among products with the values the query names
IMAGE_VECTOR_TEXT = "image vector"  # KNN over image vectors, for image models that also embed text (CLIP)

WEIGHTS = {
    LEXICAL: 1.0,
    VECTOR: 1.0,
    VECTOR_UNDERSTOOD: 1.0,
    IMAGE_VECTOR_TEXT: 0.5,  # untuned, so trusted less
}


@dataclass(frozen=True)
class Candidates:
    """One retriever's answer: product ids best first, with its own score for each."""

    retriever: str
    ids: tuple[str, ...]
    scores: dict[str, float]

    def rank_of(self, product_id: str) -> int | None:
        """1-based rank, None when the retriever did not return the product."""
        try:
            return self.ids.index(product_id) + 1
        except ValueError:
            return None


@dataclass(frozen=True)
class Fused:
    product_id: str
    score: float  # weighted RRF, relative to the best any product could get (0..1]
    ranks: dict[str, int]  # retriever -> 1-based rank, for the retrievers that returned it


def fuse(lists: list[Candidates], weights: dict[str, float] = WEIGHTS, rrf_k: int = RRF_K) -> list[Fused]:
    """All candidates, best first. Ties keep the order of first appearance (lists in order)."""
    ranks: dict[str, dict[str, int]] = {}
    for candidates in lists:
        for position, product_id in enumerate(candidates.ids, start=1):
            ranks.setdefault(product_id, {})[candidates.retriever] = position
    best = sum(weights[candidates.retriever] for candidates in lists) / (rrf_k + 1) or 1.0
    scored = [
        Fused(product_id, sum(weights[name] / (rrf_k + rank) for name, rank in found.items()) / best, found)
        for product_id, found in ranks.items()
    ]
    return sorted(scored, key=lambda fused: -fused.score)
