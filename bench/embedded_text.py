"""What the loader embeds for By Text: candidate texts compared on the tune split, in process.

    .venv/bin/python -m bench.embedded_text [--catalog PATH] [--queries 1000] [VARIANT ...]

Variants: "before" (the name first), "chosen" (Product.embedding_text: the type first) and the
other candidates tried (VARIANTS).

By Text ranks a product's neighbours by the text vector of `Product.embedding_text`. For each
candidate text, every tune-split product is embedded with the configured text model; for
--queries products drawn at random (seeded) the 10 nearest others by cosine are compared with
the product: P@10 on article type and on article type + colour. Only the tune split is read
(bench.relevance.split_of), so the report split stays unseen. A variant takes ~2-4 minutes on
2 cores.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.common import FASHION_SAMPLE
from bench.relevance import split_of
from finder.config import Settings
from finder.embeddings import Embedder
from finder.products import Product
from indexer.catalog import read_catalog


def _details(product: Product) -> str:
    return ", ".join(value for value in (product.usage, product.season) if value)


def _described(product: Product) -> str:
    return " ".join(value for value in (product.color, product.article_type) if value)


def _name_first(product: Product) -> str:
    details = _details(product)
    text = f"{product.name}. {_described(product)} for {product.gender}"
    return f"{text}, {details}." if details else f"{text}."


def _type_first(product: Product, prefix: str) -> str:
    details = _details(product)
    text = f"{prefix}{_described(product)} for {product.gender}. {product.name}"
    return f"{text}, {details}." if details else f"{text}."


VARIANTS: dict[str, Callable[[Product], str]] = {
    "before": _name_first,
    "type-colon": lambda p: f"{p.article_type}: {_name_first(p)}",
    "type-twice": lambda p: f"{p.article_type}. {p.article_type}: {_name_first(p)}",
    "type-subcategory": lambda p: f"{p.article_type} ({p.sub_category}): {_name_first(p)}",
    "attributes-first": lambda p: f"{_described(p)} for {p.gender}. {p.name}.",
    "chosen": Product.embedding_text,
    "type-twice-attributes-first": lambda p: _type_first(p, f"{p.article_type}. {p.article_type}: "),
    "type-comma-twice": lambda p: f"{p.article_type}, {p.article_type}. {_name_first(p)}",
}


def agreement(vectors: np.ndarray, types: np.ndarray, colours: np.ndarray, queries: np.ndarray) -> tuple[float, float]:
    similarity = vectors[queries] @ vectors.T
    similarity[np.arange(len(queries)), queries] = -np.inf  # not its own neighbour
    nearest = np.argsort(-similarity, axis=1)[:, :min(10, len(vectors) - 1)]
    same_type = types[nearest] == types[queries][:, None]
    same_colour = colours[nearest] == colours[queries][:, None]
    return float(same_type.mean()), float((same_type & same_colour).mean())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalog", type=Path, default=FASHION_SAMPLE)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("variants", nargs="*", choices=list(VARIANTS), default=list(VARIANTS),
                        help="the candidate texts to compare (default: all)")
    args = parser.parse_args(argv)
    rows, _ = read_catalog(args.catalog)
    products = [row.product for row in rows if split_of(row.product.id) == "tune"]
    types = np.array([product.article_type for product in products])
    colours = np.array([product.color or "" for product in products])
    queries = np.random.default_rng(0).choice(len(products), min(args.queries, len(products)), replace=False)
    embedder = Embedder.from_settings(Settings())
    example = products[queries[0]]
    print("| variant | embedded text, for example | type P@10 | type + colour P@10 |\n|---|---|---:|---:|")
    for name in args.variants:
        vectors = embedder.embed_texts([VARIANTS[name](product) for product in products])
        by_type, by_both = agreement(vectors, types, colours, queries)
        print(f"| {name} | {VARIANTS[name](example)} | {by_type:.3f} | {by_both:.3f} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
