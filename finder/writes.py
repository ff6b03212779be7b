"""Turning products into store writes, embedding only what changed. Shared by the bulk loader
and the write API, so both decide "what must be re-embedded" the same way.

Each stored product keeps two fingerprints: of (text model, embedded text) and of (image model,
image bytes). A product whose document and fingerprints match what is stored needs no write; one
whose name changed needs a new text vector but keeps its image vector, and so on.

A photo's features (finder/embeddings.py) are cached on disk by its fingerprint; a write stores
an image vector made from them for every image space writes must fill (finder/projection.py),
and if a refit starts or ends meanwhile, makes them again for the new set (the store writes each
vector in every datatype writes must fill).
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import redis

from finder.config import Settings
from finder.embeddings import Embedder, ImageError, ImageSource, decode_images, load_image
from finder.index import ensure_index
from finder.product_images import ProductImages
from finder.products import IMAGE_VERSION_LENGTH, Product
from finder.projection import FeatureCache, ImageSpaces, MissingProjection
from finder.store import ProductStore, ProductWrite, StoredState, WriteTargetsChanged, search_fields

TARGET_RETRIES = 5  # a write overtaken this often by re-indexes gives up (409)
T = TypeVar("T")


class ProductExists(Exception):
    """A create for an id that is taken."""


class ProductNotFound(Exception):
    """A replace or delete of an id that is not stored."""


class WriteConflict(Exception):
    """Someone else wrote the same product at the same moment; nothing was written."""


@dataclass(frozen=True)
class PendingWrite:
    """A product to write and what its write must embed."""

    product: Product
    replaces: dict | None  # the stored document (None for a new product)
    image: ImageSource  # where the photo comes from (path, bytes or decoded image)
    text_fingerprint: str
    image_fingerprint: str
    embed_text: bool
    embed_image: bool


def pending_write(
    product: Product, image: ImageSource, image_fingerprint: str, stored: StoredState, embedder: Embedder
) -> PendingWrite | None:
    """What writing `product` needs given what is stored; None if nothing changed."""
    product = product.model_copy(update={"image_version": image_fingerprint[:IMAGE_VERSION_LENGTH]})
    text_fingerprint = embedder.text_fingerprint(product.embedding_text())
    embed_text = stored.text_fingerprint != text_fingerprint
    embed_image = stored.image_fingerprint != image_fingerprint or not stored.has_image_vector
    unchanged = stored.document == product.to_document() and stored.search_fields == search_fields(product)
    if not embed_text and not embed_image and unchanged:
        return None
    return PendingWrite(product, stored.document, image, text_fingerprint, image_fingerprint, embed_text, embed_image)


@dataclass(frozen=True)
class EmbeddedWrite:
    """A pending write with what it had to embed: its text vector, its photo's features."""

    pending: PendingWrite
    text_vector: np.ndarray | None
    image_features: np.ndarray | None


def image_features(photos: Sequence[tuple[str, ImageSource]], embedder: Embedder,
                   cache: FeatureCache | None) -> list[np.ndarray | ImageError]:
    """The features of (fingerprint, photo) pairs: from the cache, else computed in one batch
    and cached. A photo that cannot be decoded gets its ImageError in its place."""
    found: list[np.ndarray | ImageError | None] = [cache.get(fingerprint) if cache else None
                                                   for fingerprint, _ in photos]
    missing = [position for position, features in enumerate(found) if features is None]
    decoded = {}
    for position, image in zip(missing, decode_images([photos[position][1] for position in missing]), strict=True):
        if isinstance(image, ImageError):
            found[position] = image
        else:
            decoded[position] = image
    if decoded:
        for position, features in zip(decoded, embedder.image_features(list(decoded.values())), strict=True):
            found[position] = features
            if cache:
                cache.put(photos[position][0], features)
    return found


def embed_writes(
    pending: Sequence[PendingWrite], embedder: Embedder, cache: FeatureCache | None,
    text_vectors: Mapping[str, np.ndarray] | None = None,
) -> tuple[list[EmbeddedWrite], list[tuple[PendingWrite, ImageError]]]:
    """Compute what the writes need, in batches: text vectors (but those in `text_vectors`, by
    text fingerprint, computed beforehand), and image features (cached ones are not recomputed).
    Products whose photo cannot be decoded come back separately with the reason, and are not
    written."""
    known = text_vectors or {}
    needs_image = [write for write in pending if write.embed_image]
    features, failed = {}, []
    for write, found in zip(needs_image, image_features([(write.image_fingerprint, write.image)
                                                         for write in needs_image], embedder, cache), strict=True):
        if isinstance(found, ImageError):
            failed.append((write, found))
        else:
            features[write.product.id] = found
    writable = [write for write in pending if not write.embed_image or write.product.id in features]
    needs_text = [write for write in writable if write.embed_text and write.text_fingerprint not in known]
    computed = dict(
        zip(
            (write.text_fingerprint for write in needs_text),
            embedder.embed_texts([write.product.embedding_text() for write in needs_text]), strict=True,
        )
    )
    vectors = ChainMap(computed, known)
    embedded = [EmbeddedWrite(write, vectors[write.text_fingerprint] if write.embed_text else None,
                              features.get(write.product.id))
                for write in writable]
    return embedded, failed


def store_writes(store: ProductStore, spaces: ImageSpaces, embedded: Sequence[EmbeddedWrite]) -> None:
    """Write products in one transaction, each with an image vector for every active image space."""
    while True:
        generations = spaces.active()
        try:
            store.save(product_writes(embedded, spaces, generations), generations)
            return
        except WriteTargetsChanged:
            continue  # a re-index began or ended meanwhile: vectors for the new set


def product_writes(embedded: Sequence[EmbeddedWrite], spaces: ImageSpaces,
                   generations: Sequence[str]) -> list[ProductWrite]:
    """The store writes, with image vectors of the given generations made from the features."""
    with_features = [write for write in embedded if write.image_features is not None]
    try:
        vectors = spaces.vectors(np.stack([write.image_features for write in with_features]), generations) \
            if with_features else {}
    except MissingProjection:
        if tuple(generations) != spaces.active():  # a re-index retired and forgot one since they were read
            raise WriteTargetsChanged() from None
        raise
    row = {write.pending.product.id: position for position, write in enumerate(with_features)}
    return [
        ProductWrite(
            product=write.pending.product,
            text_fingerprint=write.pending.text_fingerprint,
            image_fingerprint=write.pending.image_fingerprint,
            replaces=write.pending.replaces,
            text_vector=write.text_vector,
            image_vectors={field: matrix[row[write.pending.product.id]] for field, matrix in vectors.items()}
            if write.image_features is not None else None,
        )
        for write in embedded
    ]


class ProductWriter:
    """Creates, replaces and deletes single products (the write API): validated, embedded where
    something changed, written atomically (MULTI/EXEC under WATCH), searchable when it returns.

    On a catalog without an index, the first write creates one over the image model's own
    vectors: a projection cannot be learnt from one product (`python -m indexer reindex` fits
    one once there are enough)."""

    def __init__(self, store: ProductStore, spaces: ImageSpaces, images: ProductImages, settings: Settings,
                 features: FeatureCache | None):
        self.store = store
        self.spaces = spaces
        self.embedder = spaces.embedder
        self.images = images
        self.settings = settings
        self.features = features
        self._prepared = False

    def create(self, fields: dict, photo: bytes) -> Product:
        """Raises pydantic.ValidationError, ImageError, ProductExists or WriteConflict."""
        return self._write(fields, photo, must_exist=False)

    def replace(self, product_id: str, fields: dict, photo: bytes | None) -> Product:
        """Replace every field; without a photo the stored one (and its vector) stays."""
        return self._write({**fields, "id": product_id}, photo, must_exist=True)

    def delete(self, product_id: str) -> None:
        stored = _overtaken_retries(product_id, lambda: self._delete_once(product_id))
        self.images.discard(stored.document.get("image_path"))

    def _delete_once(self, product_id: str) -> StoredState:
        with self.store.watching(product_id) as watched:
            stored = watched.state()
            if stored.document is None:
                raise ProductNotFound(product_id)
            try:
                watched.delete()
            except redis.WatchError:
                raise WriteConflict(product_id) from None
        return stored

    def _write(self, fields: dict, photo: bytes | None, must_exist: bool) -> Product:
        # Everything that can be refused is checked before anything is written.
        draft = Product(**fields, image_path="(set below)")
        image = load_image(photo) if photo is not None else None
        if not self._prepared:  # a catalog may start empty and be filled through the API alone, or
            # have been loaded before autocomplete existed (a write must not start a partial dictionary)
            ensure_index(self.store.client, self.settings, self.embedder.text_dim, self.embedder.image_dim)
            self.store.ensure_suggestions()
            self._prepared = True
        return _overtaken_retries(draft.id, lambda: self._write_once(draft, photo, image, must_exist))

    def _write_once(self, draft: Product, photo: bytes | None, image, must_exist: bool) -> Product:
        # Read before the WATCH begins: any change of the set after this read then fails the
        # generation check or the commit, and either is WriteTargetsChanged (see WatchedProduct).
        generations = self.spaces.active()
        with self.store.watching(draft.id) as watched:
            stored = watched.state()
            if must_exist and stored.document is None:
                raise ProductNotFound(draft.id)
            if not must_exist and stored.document is not None:
                raise ProductExists(draft.id)
            old_path = stored.document["image_path"] if stored.document else None
            fingerprint = self.embedder.image_fingerprint(photo) if photo is not None else stored.image_fingerprint
            new_photo = photo is not None and fingerprint != stored.image_fingerprint
            new_path = str(self.images.save(draft.id, photo, image)) if new_photo else None
            product = draft.model_copy(update={"image_path": new_path or old_path})
            source = image if image is not None else product.image_path
            pending = pending_write(product, source, fingerprint, stored, self.embedder)
            try:
                if pending is not None:
                    embedded, _ = embed_writes([pending], self.embedder, self.features)  # the photo is decoded
                    watched.commit(product_writes(embedded, self.spaces, generations)[0], generations)
                    product = pending.product
            except BaseException as error:
                self.images.discard(new_path)  # this write's own file; nothing points to it
                if isinstance(error, redis.WatchError):
                    raise WriteConflict(draft.id) from None
                raise
        if new_path:
            self.images.discard(old_path)
        return product if pending is not None else Product.from_stored(stored.document)


def _overtaken_retries(product_id: str, attempt: Callable[[], T]) -> T:
    """attempt(), again each time a re-index overtook it (it wrote nothing), at most TARGET_RETRIES times."""
    for _ in range(TARGET_RETRIES):
        try:
            return attempt()
        except WriteTargetsChanged:
            continue
    raise WriteConflict(product_id)
