"""Free-text search: what a shopper types, answered by lexical and semantic retrieval together.

One search, three or four round trips whatever k is:
1. FT.SPELLCHECK for the words the index does not hold, and the query-vector cache's lookup; a
   misspelt word then also matches its correction, and the query is understood with the
   corrections applied
2. BM25 (finder/queries.py text_clause) under the shopper's filters, KNN over the text vectors
   under them, and KNN again among the products that have the catalog values the query names
   (finder/understanding.py); with an image model that also embeds text (CLIP), KNN over the
   image vectors too. A query vector not cached is embedded in another thread (the model
   releases the GIL) while BM25 runs: one pipeline if the vectors are known by then, else
   BM25 first and the KNN queries once they are
3. weighted reciprocal rank fusion (finder/ranking.py), then the top k documents in one JSON.MGET

Pure vector search ranks by meaning alone and misses rare exact words ("saree"); BM25 alone
misses paraphrases. Each result says which retrievers found it and at which rank, which query
words it matched and which understood values it has.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import redis

from finder.embeddings import Embedder
from finder.index import IndexInfo
from finder.products import Product
from finder.queries import (
    DISTANCE_FIELD,
    NO_FILTERS,
    Filters,
    count_query,
    knn_command,
    knn_query,
    lexical_command,
    spellcheck_command,
    text_clause,
)
from finder.query_vectors import QueryVectorCache
from finder.ranking import (
    IMAGE_VECTOR_TEXT,
    LEXICAL,
    VECTOR,
    VECTOR_UNDERSTOOD,
    Candidates,
    Fused,
    fuse,
)
from finder.schema import IMAGE_VECTOR, TEXT_VECTOR, product_id_from_search_key
from finder.search import IndexOutdated, Search, similarity_score
from finder.synonyms import stored_rules
from finder.understanding import NOTHING, UNDERSTOOD_FIELDS, Understood, Vocabulary
from finder.words import SEPARATORS, compounds, edit_distance, stem, words

CANDIDATES = 50  # per retriever: what fusion chooses from
UNDERSTOOD_COUNT = "count"  # not a retriever: how many products have every understood value
VOCABULARY_TTL_SECONDS = 30.0  # new catalog values and shopper words are understood this soon
# Below this share of query words matched, and without a close vector, the answer says that
# nothing matches well (the nearest products are still shown).
CLOSE_WORD_SHARE = 0.5
LONG_WORD = 7  # letters from which a misspelt word may be two edits from its correction
CLOSE_SIMILARITY = 0.6


@dataclass(frozen=True)
class TextHit:
    product: Product
    score: float  # fused relevance, 0..1
    distance: float | None  # text vector distance, when the vector retriever returned it
    similarity: float | None  # cosine similarity of the text vectors, likewise
    ranks: dict[str, int]  # retriever -> rank
    matched_words: tuple[str, ...]  # query words its name or attributes hold
    highlights: tuple[str, ...]  # words of its name that a query word matched
    matched_values: dict[str, str]  # understood attribute -> the product's value


@dataclass(frozen=True)
class TextResults:
    hits: list[TextHit]
    understood: Understood
    understood_matches: int  # products with every understood value, under the filters
    corrections: dict[str, str]  # misspelt query word -> correction
    did_you_mean: str | None  # the corrected query, when searching it gives other results
    close_match: bool


@dataclass(frozen=True)
class QueryVectors:
    text: np.ndarray
    image: np.ndarray | None  # in the image model's space, when it also embeds text (CLIP)


class TextSearch:
    def __init__(self, search: Search, embedder: Embedder, query_vectors: QueryVectorCache):
        self.search = search
        self.embedder = embedder
        self.query_vectors = query_vectors
        self._vocabulary: Vocabulary | None = None
        self._vocabulary_at = 0.0
        # One embedding per request thread at most (threads start on first use, after any fork).
        self._embedding = ThreadPoolExecutor(max_workers=search.settings.web_threads,
                                             thread_name_prefix="query-vectors")

    @property
    def client(self) -> redis.Redis:
        return self.search.client

    def __call__(self, text: str, k: int, filters: Filters = NO_FILTERS, ef_runtime: int | None = None) -> TextResults:
        query_words = words(text)
        corrections, vectors = self._spelling_and_vectors(text, query_words)
        results = self._search(text, vectors, query_words, corrections, k, filters, ef_runtime)
        if corrections:
            corrected = " ".join(corrections.get(word, word) for word in words(text, keep_stopwords=True))
            vectors = self._vectors_from(corrected, self.query_vectors.lookup(corrected))
            other = self._search(corrected, vectors, words(corrected), {}, k, filters, ef_runtime)
            if [hit.product.id for hit in other.hits] != [hit.product.id for hit in results.hits]:
                results = replace(results, corrections=corrections, did_you_mean=corrected)
        return results

    def _spelling_and_vectors(self, text: str,
                              query_words: list[str]) -> tuple[dict[str, str], Future[QueryVectors]]:
        """The corrections of the query's words and its vectors. One round trip for the spell
        check and the cache lookup; a vector not cached is embedded in another thread while the
        caller goes on."""
        pipe = self.client.pipeline(transaction=False)
        if query_words:
            pipe.execute_command(*spellcheck_command(self.search.index_name, query_words))
        looked_up = self.query_vectors.queue_lookup(pipe, text)
        replies = pipe.execute(raise_on_error=False) if query_words or looked_up else []
        corrections = _corrections(replies[0]) if query_words else {}
        cached = self.query_vectors.found(replies[-1]) if looked_up else None
        return corrections, self._vectors_from(text, cached)

    def vocabulary(self) -> Vocabulary:
        """The catalog values and shopper words queries are understood by, refreshed now and then."""
        if self._vocabulary is None or time.monotonic() - self._vocabulary_at > VOCABULARY_TTL_SECONDS:
            _, facets = self.search.facets()
            values = {attribute: [value for value, _ in facets[attribute]] for attribute in UNDERSTOOD_FIELDS}
            self._vocabulary = Vocabulary(values, stored_rules(self.client))
            self._vocabulary_at = time.monotonic()
        return self._vocabulary

    def _vectors_from(self, text: str, cached: np.ndarray | None) -> Future[QueryVectors]:
        """The query's vectors after the cache lookup: at once if its text vector was cached (and
        nothing else is needed), else made in another thread while the caller goes on."""
        if cached is not None and not self.embedder.image_model_embeds_text:
            vectors: Future[QueryVectors] = Future()
            vectors.set_result(QueryVectors(cached, None))
            return vectors
        return self._embedding.submit(self._embedded, text, cached)

    def _embedded(self, text: str, text_vector: np.ndarray | None) -> QueryVectors:
        if text_vector is None:
            text_vector = self.embedder.embed_texts([text])[0]
            self.query_vectors.remember(text, text_vector, in_background=self._embedding.submit)
        image_vector = None
        if self.embedder.image_model_embeds_text:  # CLIP: the photos answer free text too
            image_vector = self.embedder.embed_texts_in_image_space([text])[0]
        return QueryVectors(text_vector, image_vector)

    def _search(self, text, vectors: Future[QueryVectors], query_words, corrections, k, filters,
                ef_runtime) -> TextResults:
        corrected = " ".join(corrections.get(word, word) for word in words(text, keep_stopwords=True))
        understood = self.vocabulary().understand(corrected) if query_words else NOTHING
        clause = text_clause(query_words, corrections, [word for word in compounds(text) if word not in query_words])
        lists, understood_matches = self.search.in_live_index(
            lambda info: self._candidates(info, clause, understood, vectors, filters, ef_runtime)
        ) or ([], 0)
        fused = fuse(lists)[:k]
        products = {product.id: product for product in self.search.store.get_many([f.product_id for f in fused])
                    if product is not None}
        vector_list = next((candidates for candidates in lists if candidates.retriever == VECTOR), None)
        matcher = WordMatcher(text, corrections, self.vocabulary(), understood)
        hits = [self._hit(products[f.product_id], f, vector_list, matcher, understood)
                for f in fused if f.product_id in products]
        return TextResults(hits, understood, understood_matches, {}, None, _close(hits, len(query_words)))

    def _candidates(
        self, info: IndexInfo, clause, understood, vectors: Future[QueryVectors], filters, ef_runtime
    ) -> tuple[list[Candidates], int]:
        """Every retriever's candidates, and how many products have all the understood values, from
        the index `info` describes (by its physical name, as Search's own queries)."""
        index = info.name
        narrowed = filters.narrowed(understood.attributes) if understood.attributes else None
        planned: list[tuple[str, list]] = []
        if clause:
            planned.append((LEXICAL, lexical_command(index, clause, CANDIDATES, filters)))
        if narrowed is not None:
            planned.append((UNDERSTOOD_COUNT, ["FT.SEARCH", index, *count_query(narrowed).get_args()]))
        replies = self._run(planned) if planned and not vectors.done() else []
        ef = self.search.effective_ef_runtime(ef_runtime, CANDIDATES, info)
        policy = self.search.settings.hybrid_policy
        query_vectors = vectors.result()
        for retriever, where in ((VECTOR, filters), (VECTOR_UNDERSTOOD, narrowed)):
            if where is not None:
                query = knn_query(TEXT_VECTOR, query_vectors.text, CANDIDATES, where, ef, policy,
                                  datatype=info.datatype)
                planned.append((retriever, knn_command(index, query)))
        if query_vectors.image is not None:
            query = knn_query(IMAGE_VECTOR, query_vectors.image, CANDIDATES, filters, ef, policy,
                              datatype=info.datatype)
            planned.append((IMAGE_VECTOR_TEXT, knn_command(index, query)))
        replies += self._run(planned[len(replies):])
        lists, understood_matches = [], 0
        for (retriever, _), reply in zip(planned, replies, strict=True):
            if isinstance(reply, redis.ResponseError):
                raise IndexOutdated() from reply  # replaced by a re-index meanwhile (or refused: raised)
            if retriever == UNDERSTOOD_COUNT:
                understood_matches = int(reply[0])
            else:
                lists.append(_lexical(retriever, reply) if retriever == LEXICAL else _knn(retriever, reply))
        return lists, understood_matches

    def _run(self, planned: list[tuple[str, list]]) -> list:
        """The replies to planned (retriever, command) pairs, in one pipeline; errors as values."""
        pipe = self.client.pipeline(transaction=False)
        for _, command in planned:
            pipe.execute_command(*command)
        return pipe.execute(raise_on_error=False)

    def _hit(self, product: Product, fused: Fused, vector_list: Candidates | None, matcher: WordMatcher,
             understood: Understood) -> TextHit:
        distance = vector_list.scores.get(product.id) if vector_list else None
        similarity = similarity_score(self.search.index_info().metric, distance) if distance is not None else None
        matched_words, highlights = matcher.matches(product)
        values = {attribute: getattr(product, attribute) for attribute, wanted in understood.attributes.items()
                  if getattr(product, attribute) in wanted}
        return TextHit(product, fused.score, distance, similarity, fused.ranks, matched_words, highlights, values)


class WordMatcher:
    """Which query words a product matches, in its name or attributes: directly, through a
    plural, a correction or a shopper word ("ladies" matches a product for "Women"), or by naming
    a catalog value the product has ("chappals" named Flip Flops)."""

    def __init__(self, text: str, corrections: dict[str, str], vocabulary: Vocabulary, understood: Understood):
        self.query_words = words(text)
        self._keys = {}
        for word in self.query_words:
            keys = {stem(word)}
            if word in corrections:
                keys.add(stem(corrections[word]))
            for key in list(keys):
                keys |= {meant[0] for meant in vocabulary.meanings((key,)) if len(meant) == 1}
            self._keys[word] = keys
        self._recognised = understood.recognised

    def matches(self, product: Product) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(query words matched, words of the name that matched)."""
        held = {stem(word) for word in words(f"{product.name} {product.search_words()}", keep_stopwords=True)}
        held |= {stem("".join(words(chunk, keep_stopwords=True))) for chunk in product.name.split() if "-" in chunk}
        wanted = {word: keys for word, keys in self._keys.items() if keys & held}
        for item in self._recognised:
            if getattr(product, item.attribute) == item.value:
                for word in item.words.split():
                    wanted[word] = wanted.get(word, set()) | {stem(value_word) for value_word in words(item.value)}
        matched = tuple(word for word in self.query_words if word in wanted)
        marked = set().union(*wanted.values()) if wanted else set()
        name_words = [word for word in SEPARATORS.split(product.name) if word]
        highlights = tuple(dict.fromkeys(word for word in name_words if stem(word.lower()) in marked))
        return matched, highlights


def _corrections(reply) -> dict[str, str]:
    """Misspelt words with their most likely correction (from the index's own words), from an
    FT.SPELLCHECK reply: the first suggestion at most one edit away, or two for words of
    LONG_WORD letters or more (two edits turn short words into unrelated ones: "pizza" into
    "plaza"). An error (no index yet, or a catalog loaded without shopper words) corrects nothing."""
    if isinstance(reply, redis.ResponseError):
        return {}
    found = {}
    for _, word, suggestions in reply:
        word = _text(word)
        allowed = 2 if len(word) >= LONG_WORD else 1
        close = [_text(suggestion) for _, suggestion in suggestions if not suggestion.startswith(b"+")
                 and edit_distance(word, _text(suggestion)) <= allowed]
        if close:
            found[word] = close[0]
    return found


def _close(hits: list[TextHit], query_word_count: int) -> bool:
    if not hits:
        return False
    best_share = max(len(hit.matched_words) for hit in hits) / max(query_word_count, 1)
    best_similarity = max((hit.similarity for hit in hits if hit.similarity is not None), default=-1.0)
    return best_share > CLOSE_WORD_SHARE or best_similarity >= CLOSE_SIMILARITY


def _lexical(retriever: str, reply: list) -> Candidates:
    ids = [product_id_from_search_key(_text(key)) for key in reply[1::2]]
    scores = [float(score) for score in reply[2::2]]
    return Candidates(retriever, tuple(ids), dict(zip(ids, scores, strict=True)))


def _knn(retriever: str, reply: list) -> Candidates:
    ids, distances = [], []
    for key, fields in zip(reply[1::2], reply[2::2], strict=True):
        values = dict(zip(fields[::2], fields[1::2], strict=True))
        ids.append(product_id_from_search_key(_text(key)))
        distances.append(float(values[DISTANCE_FIELD.encode()]))
    return Candidates(retriever, tuple(ids), dict(zip(ids, distances, strict=True)))


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

