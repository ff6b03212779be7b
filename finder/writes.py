"""Turning products into store writes, embedding only what changed. Shared by the bulk loader
and the write API, so both decide "what must be re-embedded" the same way.

Each stored product keeps two fingerprints: of (text model, embedded text) and of (image model,
image bytes). A product whose document and fingerprints match what is stored needs no write; one
whose name changed needs a new text vector but keeps its image vector, and so on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import redis
from PIL import Image

from finder.config import Settings
from finder.embeddings import Embedder, ImageError, ImageSource, decode_images, load_image
from finder.index import ensure_index
from finder.product_images import ProductImages
from finder.products import IMAGE_VERSION_LENGTH, Product
from finder.store import ProductStore, ProductWrite, StoredState, search_fields


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
    embed_image = stored.image_fingerprint != image_fingerprint
    unchanged = stored.document == product.to_document() and stored.search_fields == search_fields(product)
    if not embed_text and not embed_image and unchanged:
        return None
    return PendingWrite(product, stored.document, image, text_fingerprint, image_fingerprint, embed_text, embed_image)


def embed_writes(
    pending: Sequence[PendingWrite], embedder: Embedder
) -> tuple[list[ProductWrite], list[tuple[PendingWrite, ImageError]]]:
    """Compute the vectors the writes need, in batches. Products whose photo cannot be decoded
    come back separately with the reason, and are not written."""
    needs_image = [write for write in pending if write.embed_image]
    images: dict[str, Image.Image] = {}
    failed = []
    for write, image in zip(needs_image, decode_images([write.image for write in needs_image]), strict=True):
        if isinstance(image, ImageError):
            failed.append((write, image))
        else:
            images[write.product.id] = image
    writable = [write for write in pending if not write.embed_image or write.product.id in images]
    image_vectors = dict(zip(images, embedder.embed_images(list(images.values())), strict=True))
    needs_text = [write for write in writable if write.embed_text]
    text_vectors = dict(
        zip(
            (write.product.id for write in needs_text),
            embedder.embed_texts([write.product.embedding_text() for write in needs_text]), strict=True,
        )
    )
    writes = [
        ProductWrite(
            product=write.product,
            text_fingerprint=write.text_fingerprint,
            image_fingerprint=write.image_fingerprint,
            replaces=write.replaces,
            text_vector=text_vectors.get(write.product.id),
            image_vector=image_vectors.get(write.product.id),
        )
        for write in writable
    ]
    return writes, failed


class ProductWriter:
    """Creates, replaces and deletes single products (the write API): validated, embedded where
    something changed, written atomically (MULTI/EXEC under WATCH), searchable when it returns."""

    def __init__(self, store: ProductStore, embedder: Embedder, images: ProductImages, settings: Settings):
        self.store = store
        self.embedder = embedder
        self.images = images
        self.settings = settings
        self._prepared = False

    def create(self, fields: dict, photo: bytes) -> Product:
        """Raises pydantic.ValidationError, ImageError, ProductExists or WriteConflict."""
        return self._write(fields, photo, must_exist=False)

    def replace(self, product_id: str, fields: dict, photo: bytes | None) -> Product:
        """Replace every field; without a photo the stored one (and its vector) stays."""
        return self._write({**fields, "id": product_id}, photo, must_exist=True)

    def delete(self, product_id: str) -> None:
        with self.store.watching(product_id) as watched:
            stored = watched.state()
            if stored.document is None:
                raise ProductNotFound(product_id)
            try:
                watched.delete()
            except redis.WatchError:
                raise WriteConflict(product_id) from None
        self.images.discard(stored.document.get("image_path"))

    def _write(self, fields: dict, photo: bytes | None, must_exist: bool) -> Product:
        # Everything that can be refused is checked before anything is written.
        draft = Product(**fields, image_path="(set below)")
        image = load_image(photo) if photo is not None else None
        if not self._prepared:  # a catalog may start empty and be filled through the API alone, or
            # come from before autocomplete existed (its first write must not start a partial dictionary)
            ensure_index(self.store.client, self.settings, self.embedder.text_dim, self.embedder.image_dim)
            self.store.ensure_suggestions()
            self._prepared = True
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
                    writes, _ = embed_writes([pending], self.embedder)  # the photo is already decoded
                    watched.commit(writes[0])
                    product = pending.product
            except BaseException as error:
                self.images.discard(new_path)  # this write's own file; nothing points to it
                if isinstance(error, redis.WatchError):
                    raise WriteConflict(draft.id) from None
                raise
        if new_path:
            self.images.discard(old_path)
        return product if pending is not None else Product.from_stored(stored.document)
