"""Search relevance: what shoppers get back, measured on query families generated from a catalog.

    .venv/bin/python -m bench.relevance [--catalog PATH] [--split test|tune|all] [--per-family 300]
                                        [--baseline REV] [--data-dir /tmp/relevance-data] [--url URL]

The catalog's products are split by a hash of their id: "test" (20%, what is reported) and
"tune" (80%, the only part to look at while tuning). Queries are generated from the products of
one split; what counts as relevant is decided over the whole catalog, which the app serves.

Families (k = 10):
- known item, exact: a product's name; a hit when a product of that name is in the top 10
- known item, one typo: the name with one edit (deletion, insertion, substitution or swap) in a
  word of 4+ letters
- brand + word + type: "Puma Disect Tshirts": the brand (the name's words before its gender
  word), the name's rarest other word, the article type; a hit when the product (or one with the
  same brand, type and word) is in the top 10
- colour + type + gender, in three word orders ("red dresses for women", "women red dress",
  "red women dresses"); gender + type; brand + type: precision = matching results /
  min(10, matching products in the catalog)
- shopper words: bench/shopper_queries.csv, everyday words with the attributes they mean
- By Image / By Text: a product's 10 most similar by photo / by text; precision on article type
  and on article type + colour, against min(10, other products that match)

Each system is the app started with `flask --app app serve` from a source tree, over its own
data directory (the catalog is loaded on first use and reused; by default the tune split first,
so the By Image projection learnt at load time never sees a test product), queried over HTTP one
request at a time: "current" is this tree; --baseline REV is the code of a git revision, checked out in a
worktree (for example the pure-vector search before hybrid search). --url measures a running app
instead of starting one. Free-text latency (p50) is measured in the same run for every system.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import http.client
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import time
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.common import (
    FASHION_SAMPLE,
    RESULTS_DIR,
    Latency,
    Report,
    bench_command,
    free_port,
    machine,
    markdown_table,
    publish,
    pyplot,
    wait_until_idle,
)
from finder.config import PROJECT_ROOT
from finder.products import Product
from indexer.catalog import read_catalog

K = 10
TEST_SHARE = 2  # of 10 hash buckets
DEFAULT_DATA_DIR = Path("/tmp/relevance-data")
SHOPPER_QUERIES = Path(__file__).with_name("shopper_queries.csv")
SERVE_TIMEOUT_SECONDS = 1800.0  # a cold load of the catalog happens before the app answers
GENDER_WORDS = {"men", "women", "boys", "girls", "unisex", "kids", "man", "woman", "mens", "womens"}
STOPWORDS = {"a", "an", "and", "for", "of", "the", "with", "in", "on", "to", "by", "set", "pack"}
# Article types that keep their final "s" in the singular ("a pair of jeans").
PLURAL_ONLY = ("jeans", "shorts", "trousers", "capris", "leggings", "briefs", "boxers", "tights", "sunglasses",
               "pants", "glasses", "chinos", "flops", "tracksuits")


def split_of(product_id: str) -> str:
    """"test" or "tune", by a hash of the id: stable across runs, catalogs and machines."""
    bucket = int(hashlib.sha1(product_id.encode()).hexdigest(), 16) % 10
    return "test" if bucket < TEST_SHARE else "tune"


# --- the catalog as the benchmark sees it ---------------------------------------------------------


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def shopper_queries() -> list[tuple[str, dict[str, set[str]]]]:
    """bench/shopper_queries.csv: each everyday query with the attribute values it means."""
    queries = []
    with open(SHOPPER_QUERIES, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            wanted = {}
            for clause in row["wanted"].split(";"):
                attribute, values = clause.strip().split("=")
                wanted[attribute] = set(values.split("|"))
            queries.append((row["query"], wanted))
    return queries


def brand_of(name: str) -> str | None:
    """The words of a Kaggle-style name before its gender word: "Puma Men Black T-shirt" -> "Puma"."""
    tokens = name.split()
    for position, token in enumerate(tokens):
        if re.sub(r"[^a-z]", "", token.lower()) in GENDER_WORDS:
            return " ".join(tokens[:position]) or None
    return None


def singular(word: str) -> str:
    if word.endswith(PLURAL_ONLY) or not word.endswith("s") or word.endswith("ss"):
        return word
    if word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    return word[:-1]


@dataclass(frozen=True)
class Item:
    id: str
    name: str
    brand: str | None
    gender: str
    sub_category: str
    article_type: str
    color: str | None
    usage: str | None
    name_words: frozenset[str]

    @classmethod
    def of(cls, product: Product) -> Item:
        return cls(product.id, product.name, brand_of(product.name), product.gender, product.sub_category,
                   product.article_type, product.color, product.usage, frozenset(words(product.name)))

    def value(self, attribute: str) -> str | None:
        return getattr(self, attribute)


def read_items(catalog: Path) -> list[Item]:
    rows, _ = read_catalog(catalog)
    return [Item.of(row.product) for row in rows]


def normalised_name(name: str) -> str:
    return " ".join(words(name))


# --- queries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    family: str
    path: str  # the API request
    params: tuple[tuple[str, str], ...]
    relevant: frozenset[str]  # product ids that count as right answers
    measure: str  # "hit": any relevant in the top k; "precision": relevant / min(k, relevant)
    source: str  # the product (or query) it was made from
    exclude: str | None = None  # a product never counted (the query product of a similar search)

    @property
    def text(self) -> str:
        return dict(self.params).get("q", self.path)

    @property
    def best(self) -> int:
        return min(K, len(self.relevant - {self.exclude}))


def search(family: str, text: str, relevant, measure: str, source: str) -> Query:
    return Query(family, "/api/search", (("q", text), ("k", str(K))), frozenset(relevant), measure, source)


def similar(family: str, item: Item, by: str, relevant) -> Query:
    return Query(family, f"/api/products/{urllib.parse.quote(item.id)}/similar", (("by", by), ("k", str(K))),
                 frozenset(relevant), "precision", item.id, exclude=item.id)


def with_typo(name: str, rng: random.Random) -> str | None:
    tokens = name.split()
    candidates = [i for i, token in enumerate(tokens) if token.isalpha() and len(token) >= 4]
    if not candidates:
        return None
    position = rng.choice(candidates)
    word = tokens[position]
    at = rng.randrange(1, len(word) - 1)  # shoppers rarely get the first letter wrong
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    edit = rng.choice(("delete", "insert", "substitute", "swap"))
    if edit == "delete":
        typo = word[:at] + word[at + 1:]
    elif edit == "insert":
        typo = word[:at] + letter + word[at:]
    elif edit == "substitute":
        typo = word[:at] + (letter if letter != word[at].lower() else "x") + word[at + 1:]
    else:
        typo = word[:at - 1] + word[at] + word[at - 1] + word[at + 1:]
    if typo.lower() == word.lower():
        return None
    tokens[position] = typo
    return " ".join(tokens)


class QueryFactory:
    """Generates every family's queries from the products of one split (seeded by their ids)."""

    def __init__(self, items: list[Item], split: str):
        self.items = items
        self.chosen = [item for item in items if split in ("all", split_of(item.id))]
        self.by_name: dict[str, set[str]] = defaultdict(set)
        self.name_frequency: Counter[str] = Counter()
        for item in items:
            self.by_name[normalised_name(item.name)].add(item.id)
            self.name_frequency.update(item.name_words)
        colours = {item.color for item in items if item.color}
        self.attribute_words = set(GENDER_WORDS) | {word for colour in colours for word in words(colour)}
        self.with_value: dict[tuple[str, str | None], set[str]] = defaultdict(set)
        for item in items:
            for attribute in ("brand", "gender", "sub_category", "article_type", "color", "usage"):
                self.with_value[(attribute, item.value(attribute))].add(item.id)

    def matching(self, **wanted) -> set[str]:
        """Ids of the products whose attributes have one of the wanted values each."""
        found = None
        for attribute, values in wanted.items():
            ids = set().union(*(self.with_value[(attribute, value)] for value in values))
            found = ids if found is None else found & ids
        return found or set()

    def all(self, per_family: int) -> list[Query]:
        families = [
            self.known_items(),
            self.known_items_with_typos(),
            self.brand_word_type(),
            self.colour_type_gender(),
            self.gender_type(),
            self.brand_type(),
            self.shopper_words(),
            *self.by_image(),
            self.by_text(),
        ]
        return [query for family in families for query in _sample(family, per_family)]

    def known_items(self) -> list[Query]:
        return [search("known item: exact name", item.name, self.by_name[normalised_name(item.name)], "hit", item.id)
                for item in self.chosen]

    def known_items_with_typos(self) -> list[Query]:
        queries = []
        for item in self.chosen:
            typo = with_typo(item.name, random.Random(item.id))
            if typo:
                relevant = self.by_name[normalised_name(item.name)]
                queries.append(search("known item: one typo", typo, relevant, "hit", item.id))
        return queries

    def brand_word_type(self) -> list[Query]:
        queries = []
        for item in self.chosen:
            if not item.brand:
                continue
            excluded = set(words(item.brand)) | self.attribute_words | set(words(item.article_type)) | STOPWORDS
            excluded |= {singular(word) for word in words(item.article_type)}
            candidates = [word for word in words(item.name)
                          if word not in excluded and word.isalpha() and len(word) >= 3]
            if not candidates:
                continue
            word = min(candidates, key=lambda candidate: self.name_frequency[candidate])
            relevant = {other.id for other in self.items
                        if other.brand == item.brand and other.article_type == item.article_type
                        and word in other.name_words}
            text = f"{item.brand} {word} {item.article_type}"
            queries.append(search("brand + word + type", text, relevant, "hit", item.id))
        return queries

    def colour_type_gender(self) -> list[Query]:
        queries, seen = [], set()
        for item in self.chosen:
            key = (item.color, item.article_type, item.gender)
            if not item.color or item.color == "NA" or key in seen:
                continue
            seen.add(key)
            colour, kind, gender = item.color.lower(), item.article_type.lower(), item.gender.lower()
            order = int(hashlib.sha1(item.id.encode()).hexdigest(), 16) % 3
            text = (f"{colour} {kind} for {gender}", f"{gender} {colour} {singular(kind)}",
                    f"{colour} {gender} {kind}")[order]
            relevant = self.matching(color={item.color}, article_type={item.article_type}, gender={item.gender})
            queries.append(search("colour + type + gender", text, relevant, "precision", item.id))
        return queries

    def gender_type(self) -> list[Query]:
        queries, seen = [], set()
        for item in self.chosen:
            key = (item.gender, item.article_type)
            if key in seen:
                continue
            seen.add(key)
            kind, gender = item.article_type.lower(), item.gender.lower()
            text = f"{gender} {kind}" if len(seen) % 2 else f"{singular(kind)} for {gender}"
            relevant = self.matching(gender={item.gender}, article_type={item.article_type})
            queries.append(search("gender + type", text, relevant, "precision", item.id))
        return queries

    def brand_type(self) -> list[Query]:
        queries, seen = [], set()
        for item in self.chosen:
            key = (item.brand, item.article_type)
            if not item.brand or key in seen:
                continue
            seen.add(key)
            relevant = self.matching(brand={item.brand}, article_type={item.article_type})
            queries.append(search("brand + type", f"{item.brand} {item.article_type.lower()}", relevant,
                                  "precision", item.id))
        return queries

    def shopper_words(self) -> list[Query]:
        queries = []
        for text, wanted in shopper_queries():
            relevant = self.matching(**wanted)
            if relevant:
                queries.append(search("shopper words", text, relevant, "precision", text))
        return queries

    def by_image(self) -> list[list[Query]]:
        by_type, by_both = [], []
        for item in self.chosen:
            same_type = self.matching(article_type={item.article_type})
            same_both = self.matching(article_type={item.article_type}, color={item.color})
            if len(same_type) > 1:
                by_type.append(similar("By Image: type", item, "image", same_type))
            if len(same_both) > 1:
                by_both.append(similar("By Image: type + colour", item, "image", same_both))
        return [by_type, by_both]

    def by_text(self) -> list[Query]:
        return [similar("By Text: type", item, "text", self.matching(article_type={item.article_type}))
                for item in self.chosen if len(self.matching(article_type={item.article_type})) > 1]


def _sample(queries: list[Query], limit: int) -> list[Query]:
    """At most `limit` queries, picked by a hash of their source (the same ones on every run)."""
    ordered = sorted(queries, key=lambda query: hashlib.sha1(f"{query.family}:{query.source}".encode()).hexdigest())
    return ordered[:limit]


# --- scoring ------------------------------------------------------------------------------------


def score(query: Query, ranked: Sequence[str]) -> tuple[float, float]:
    """(precision or hit, NDCG) of a ranked list of product ids for one query."""
    ranked = [product_id for product_id in ranked if product_id != query.exclude][:K]
    gains = [1.0 if product_id in query.relevant else 0.0 for product_id in ranked]
    if query.measure == "hit":
        first = 1.0 if any(gains) else 0.0
    else:
        first = sum(gains) / query.best
    dcg = sum(gain / math.log2(position + 2) for position, gain in enumerate(gains))
    ideal = sum(1.0 / math.log2(position + 2) for position in range(query.best))
    return first, dcg / ideal


@dataclass
class FamilyResult:
    queries: int = 0
    first: list[float] = field(default_factory=list)
    ndcg: list[float] = field(default_factory=list)

    def mean(self, values: list[float]) -> float:
        return float(np.mean(values)) if values else float("nan")


class ApiClient:
    """One keep-alive connection, one request at a time."""

    def __init__(self, base_url: str):
        parts = urllib.parse.urlsplit(base_url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)

    def get(self, path: str, params) -> tuple[dict, float]:
        started = time.perf_counter()
        self.connection.request("GET", f"{path}?{urllib.parse.urlencode(params)}")
        response = self.connection.getresponse()
        body = json.loads(response.read())
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise RuntimeError(f"{path} {params}: {response.status} {body}")
        return body, elapsed


def run_queries(url: str, queries: list[Query]) -> tuple[dict[str, FamilyResult], Latency, dict]:
    """Per family results, the latency of free-text searches, and each query's ranked ids."""
    client = ApiClient(url)
    answers: dict[tuple, list[str]] = {}
    free_text_ms = []
    for query in queries:
        key = (query.path, query.params)
        if key not in answers:
            body, elapsed = client.get(query.path, query.params)
            answers[key] = [result["product"]["id"] for result in body["results"]]
            if query.path == "/api/search":
                free_text_ms.append(elapsed)
    results: dict[str, FamilyResult] = defaultdict(FamilyResult)
    ranked_by_query = {}
    for query in queries:
        ranked = answers[(query.path, query.params)]
        first, ndcg = score(query, ranked)
        family = results[query.family]
        family.queries += 1
        family.first.append(first)
        family.ndcg.append(ndcg)
        ranked_by_query[f"{query.family} | {query.source} | {query.text}"] = {
            "ranked": ranked, "relevant": sorted(query.relevant)[:50], "score": first}
    return dict(results), Latency.of(free_text_ms or [0.0]), ranked_by_query


# --- systems ------------------------------------------------------------------------------------


def worktree(revision: str) -> Path:
    """The source of a git revision, checked out (once) beside the results."""
    commit = subprocess.run(["git", "rev-parse", "--short", revision], cwd=PROJECT_ROOT, check=True,
                            capture_output=True, text=True).stdout.strip()
    folder = DEFAULT_DATA_DIR / f"source-{commit}"
    if not (folder / "app").is_dir():
        subprocess.run(["git", "worktree", "add", "--force", "--detach", str(folder), commit], cwd=PROJECT_ROOT,
                       check=True, capture_output=True)
    return folder


@contextmanager
def serving(source: Path, data_dir: Path, catalog: Path, learn_from: str) -> Iterator[str]:
    """`flask --app app serve` from a source tree over its own data directory. With learn_from
    "tune", a new data directory first gets the tune split alone, so what a load learns from the
    catalog (the By Image projection) never sees the test products, loaded after it."""
    if learn_from == "tune" and not (data_dir / "redis").exists():
        load_split_first(source, data_dir, catalog, "tune")
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**os.environ, "DATA_DIR": str(data_dir), "CATALOG": str(catalog), "HOST": "127.0.0.1",
           "PORT": str(port), "WEB_WORKERS": "1", "WEB_THREADS": "4"}
    env.pop("REDIS_URL", None)
    with open(data_dir / "serve.log", "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "serve"], cwd=source, env=env,
                                   stdout=log, stderr=log, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_health(url, process, data_dir)
        wait_until_idle(process.pid)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGINT)  # the whole group: older revisions leave gunicorn on SIGTERM
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def load_split_first(source: Path, data_dir: Path, catalog: Path, split: str) -> None:
    """Load the products of one split of `catalog` into a new data directory (a catalog folder of
    their rows beside it, its photos linked)."""
    part = data_dir / f"catalog-{split}"
    part.mkdir(parents=True, exist_ok=True)
    with open(catalog / "styles.csv", encoding="utf-8-sig") as source_rows:
        header, *rows = source_rows.read().splitlines()
    kept = [row for row in rows if row.strip() and split_of(row.split(",", 1)[0].strip()) == split]
    (part / "styles.csv").write_text("\n".join([header, *kept]) + "\n", encoding="utf-8")
    if not (part / "images").exists():
        (part / "images").symlink_to((catalog / "images").resolve())
    env = {**os.environ, "DATA_DIR": str(data_dir)}
    env.pop("REDIS_URL", None)
    with open(data_dir / "serve.log", "ab") as log:
        subprocess.run([sys.executable, "-m", "indexer", "load", str(part), "--quiet"], cwd=source, env=env,
                       stdout=log, stderr=log, check=True)


def _wait_for_health(url: str, process: subprocess.Popen, data_dir: Path) -> None:
    deadline = time.monotonic() + SERVE_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve exited with code {process.returncode}; see {data_dir / 'serve.log'}")
        try:
            ApiClient(url).get("/health", ())
            return
        except (OSError, RuntimeError):
            time.sleep(1.0)
    raise RuntimeError(f"serve did not answer within {SERVE_TIMEOUT_SECONDS:.0f} s; see {data_dir / 'serve.log'}")


# --- report ---------------------------------------------------------------------------------------


def measure_name(family: str, queries: list[Query]) -> str:
    kinds = {query.measure for query in queries if query.family == family}
    return "hit@10" if kinds == {"hit"} else "P@10"


def relevance_table(systems: dict[str, dict[str, FamilyResult]], queries: list[Query],
                    latencies: dict[str, Latency]) -> str:
    names = list(systems)
    families = list(dict.fromkeys(query.family for query in queries))
    header = ["family", "queries", "measure", *(f"{name}" for name in names), *(f"NDCG@10 {name}" for name in names)]
    rows = []
    for family in families:
        counts = {systems[name][family].queries for name in names if family in systems[name]}
        row = [family, max(counts), measure_name(family, queries)]
        row += [systems[name][family].mean(systems[name][family].first) for name in names]
        row += [systems[name][family].mean(systems[name][family].ndcg) for name in names]
        rows.append(row)
    rows.append(["free-text latency p50 (ms)", latencies[names[0]].count, "ms",
                 *(latencies[name].p50 for name in names), *("" for _ in names)])
    return markdown_table(header, rows, digits={index: 3 for index in range(3, 3 + 2 * len(names))})


def plot(systems: dict[str, dict[str, FamilyResult]], queries: list[Query], path: Path) -> Path:
    plt = pyplot()
    families = list(dict.fromkeys(query.family for query in queries))
    names = list(systems)
    figure, axis = plt.subplots(figsize=(10, 0.45 * len(families) + 1.5))
    height = 0.8 / len(names)
    for offset, name in enumerate(names):
        values = [systems[name][family].mean(systems[name][family].first) if family in systems[name] else 0
                  for family in families]
        positions = np.arange(len(families)) + offset * height
        axis.barh(positions, values, height=height, label=name)
        for position, value in zip(positions, values, strict=True):
            axis.text(value + 0.005, position, f"{value:.2f}", va="center", fontsize=7)
    axis.set_yticks(np.arange(len(families)) + height * (len(names) - 1) / 2, families)
    axis.invert_yaxis()
    axis.set_xlim(0, 1.08)
    axis.set_xlabel("P@10 (attribute and similarity families) or hit@10 (known items)")
    # Above the bars: inside the axes it would hide the last bars' values.
    axis.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(names), fontsize=8, frameon=False)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(prog="python -m bench.relevance", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalog", type=Path, default=FASHION_SAMPLE)
    parser.add_argument("--split", choices=("test", "tune", "all"), default="test")
    parser.add_argument("--per-family", type=int, default=300, help="queries per family at most")
    parser.add_argument("--baseline", metavar="REV", help="also measure the app of this git revision")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--url", help="measure this running app (its catalog must be --catalog) instead")
    parser.add_argument("--learn-from", choices=("tune", "all"), default="tune",
                        help="tune: a new data directory loads the tune split first, so what is learnt from the "
                             "catalog (the By Image projection) never sees the test products; all: the whole "
                             "catalog at once, as a user loads it")
    parser.add_argument("--plot", type=Path, help="write the bar chart here (default: bench/results/)")
    args = parser.parse_args(argv)
    argv_shown = argv if argv is not None else sys.argv[1:]

    items = read_items(args.catalog)
    queries = QueryFactory(items, args.split).all(args.per_family)
    systems: dict[str, dict[str, FamilyResult]] = {}
    latencies: dict[str, Latency] = {}
    rankings = {}
    targets = []
    if args.baseline:
        targets.append((f"baseline {args.baseline}", worktree(args.baseline)))
    targets.append(("current", PROJECT_ROOT))
    for name, source in targets:
        print(f"{name}: {len(queries)} queries ...", file=sys.stderr)
        if args.url:
            systems[name], latencies[name], rankings[name] = run_queries(args.url, queries)
            continue
        data_dir = args.data_dir / ("current" if source == PROJECT_ROOT else source.name.replace("source-", "data-"))
        with serving(source, data_dir, args.catalog, args.learn_from) as url:
            systems[name], latencies[name], rankings[name] = run_queries(url, queries)

    context = {
        "machine": machine(),
        "catalog": f"{args.catalog.name}: {len(items):,} products; queries from the {args.split} split "
                   f"({sum(1 for item in items if args.split in ('all', split_of(item.id))):,} products)",
    }
    command = bench_command("bench.relevance", argv_shown)
    result = report(systems, latencies, queries, args.split, command, context,
                    args.plot or RESULTS_DIR / f"relevance-{args.split}.png")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"relevance-{args.split}-queries.json").write_text(json.dumps(rankings, indent=1))
    return publish(result)


def report(systems: dict[str, dict[str, FamilyResult]], latencies: dict[str, Latency], queries: list[Query],
           split: str, command: str, context: dict[str, str], chart_path: Path) -> Report:
    result = Report(name=f"relevance-{split}", title=f"Search relevance ({split} split)", command=command,
                    context=context)
    result.add("Per family", relevance_table(systems, queries, latencies))
    result.add("Chart", f"![relevance per family]({plot(systems, queries, chart_path)})")
    result.data = {"systems": {name: {family: {"queries": family_result.queries,
                                               "first": family_result.mean(family_result.first),
                                               "ndcg": family_result.mean(family_result.ndcg)}
                                      for family, family_result in families.items()}
                               for name, families in systems.items()},
                   "latency_p50_ms": {name: latency.p50 for name, latency in latencies.items()}}
    return result


if __name__ == "__main__":
    main()
