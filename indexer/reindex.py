"""Re-indexing without downtime, refitting the By Image projection and converting the vectors'
datatype on the way.

With IMAGE_PROJECTION=none, an index without a projection and VECTOR_DATATYPE unchanged, a
re-index only builds a new index beside the live one over the stored vectors
(finder.index.rebuild_index). Otherwise it moves the catalog to a new image space (a freshly
fitted projection, or `none` after a projection) and/or a new datatype:
1. the features of every stored product (the disk cache, else recomputed from its photo),
2. a new generation fitted on them and the products' article types and colours, stored; it and
   the new datatype made active: from then on every product write fills the live and the new
   generation, in the live and the new datatype,
3. every product given its vector of the new generation, and its other vectors converted to the
   new datatype (into fields of their own: the live index keeps reading the old ones), in
   batches, each read and written under WATCH (a product written meanwhile is read again, never
   given a stale vector),
4. the new index built over those vectors beside the live one, the alias switched once it is
   complete, the old index dropped,
5. the old generation and datatype retired: writes stop filling them, their fields are removed
   from every product and the old projection deleted.
Searches answer from the old index until the switch and from the new one after it. Converting
FLOAT32 to FLOAT16 rounds the stored vectors, and converting back keeps that rounding: text
vectors are not embedded again (`load --recreate` would), only image vectors of a new projection.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import redis
from tqdm import tqdm

from finder.config import Settings
from finder.embeddings import Embedder, ImageError
from finder.index import IndexInfo, describe_index, rebuild_index
from finder.projection import LDA, NONE, FeatureCache, ImageSpaces, can_fit, feature_cache, fit_projection, image_field
from finder.schema import TEXT_VECTOR
from finder.store import ACTIVE_DATATYPES, ProductStore, StoredState
from finder.writes import image_features
from indexer.loader import BATCH_SIZE, fitted_note, too_few_to_fit


@dataclass
class ReindexReport:
    old: IndexInfo
    new: IndexInfo
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def reindex(client: redis.Redis, settings: Settings, embedder: Embedder, *, show_progress: bool = False,
            on_indexing: Callable[[float], None] | None = None) -> ReindexReport:
    """Rebuild the live index from the settings; refit its projection, convert its vectors to
    VECTOR_DATATYPE (see the module's docstring)."""
    started = time.perf_counter()
    live = describe_index(client)
    if live is None:
        raise RuntimeError("there is no index to rebuild: load a catalog first")
    spaces = ImageSpaces(client, embedder)
    store = ProductStore(client)
    notes = _retire_abandoned(spaces, store, live)
    wanted = LDA if settings.image_projection == LDA and embedder.projection_allowed else NONE
    generation, vectors_for = live.image_generation, None
    if wanted != NONE or live.image_generation != NONE:
        generation, vectors_for = _next_image_space(spaces, store, settings, wanted, show_progress, notes)
    datatype = settings.vector_datatype
    new_space, new_datatype = generation != live.image_generation, datatype != live.datatype
    if not new_space and not new_datatype:
        old, new = rebuild_index(client, settings, on_progress=on_indexing)
        return ReindexReport(old, new, time.perf_counter() - started, notes)

    target = spaces.embedder_for(generation)
    if new_datatype:
        ACTIVE_DATATYPES.add(client, datatype)
    if new_space:
        spaces.activate(generation)
    try:
        # Listed after the activations: products written since then fill the new space and datatype themselves.
        product_ids = store.product_ids()
        if new_space:  # in every active datatype
            store.add_image_vectors(product_ids, image_field(generation), vectors_for)
        if new_datatype:
            store.convert_vectors(product_ids, [TEXT_VECTOR] if new_space else [TEXT_VECTOR, image_field(generation)],
                                  live.datatype, datatype)
        old, new = rebuild_index(client, settings, on_progress=on_indexing,
                                 image_space=(generation, target.image_dim))
    except BaseException:  # an unfinished space or datatype must not linger, nor be filled by writes
        if new_space:
            _retire(spaces, store, generation)
        if new_datatype:
            _retire_datatype(store, datatype, live.image_generation)
        raise
    if new_space:
        _retire(spaces, store, old.image_generation)
        notes.append(f"By Image: the index now uses {_space(generation)}; {_space(old.image_generation)} removed")
    if new_datatype:
        _retire_datatype(store, old.datatype, generation)
        notes.append(f"Vectors: converted to {datatype}; the {old.datatype} ones removed")
    return ReindexReport(old, new, time.perf_counter() - started, notes)


def _next_image_space(spaces: ImageSpaces, store: ProductStore, settings: Settings, wanted: str, show_progress: bool,
                      notes: list[str]) -> tuple[str, Callable[[dict[str, StoredState]], dict[str, np.ndarray]]]:
    """The image space the new index will search: a projection fitted again on the stored
    products (saved, not yet active), or `none` when it is wanted or too few can teach one. With
    it, what makes a batch of stored products' vectors of that space."""
    embedder = spaces.embedder
    product_ids = store.product_ids()
    states = store.stored_state(product_ids)
    cache = feature_cache(settings, embedder)
    features, unreadable = _stored_features(states, embedder, cache, show_progress)
    generation = NONE
    if wanted == LDA:
        labelled = [states[pid] for pid in product_ids
                    if states[pid].document and states[pid].image_fingerprint in features]
        article_types = [state.document["article_type"] for state in labelled]
        if can_fit(article_types):
            projection = fit_projection(np.stack([features[state.image_fingerprint] for state in labelled]),
                                        article_types, [state.document.get("color") for state in labelled],
                                        embedder.image_features_id)
            spaces.save(projection)
            generation = projection.generation
            notes.append(fitted_note(projection))
        else:
            notes.append(too_few_to_fit(len(labelled)))
    if unreadable:
        notes.append(f"By Image: {len(unreadable)} products whose photo could not be read have no image vector "
                     f"in the new index (first: {unreadable[0]}); load them again once their photo is fixed")
    target = spaces.embedder_for(generation)
    return generation, lambda batch: _vectors(batch, features, target, cache)


def _stored_features(states: dict[str, StoredState], embedder: Embedder, cache: FeatureCache | None,
                     show_progress: bool) -> tuple[dict[str, np.ndarray], list[str]]:
    """Image fingerprint -> features for every stored product, and the products whose photo
    could not be read."""
    photos = {state.image_fingerprint: state.document["image_path"] for state in states.values()
              if state.document and state.image_fingerprint}
    features, unreadable_photos = {}, set()
    items = list(photos.items())
    with tqdm(total=len(items), unit=" photos", desc="Photos", disable=not show_progress) as progress:
        for start in range(0, len(items), BATCH_SIZE):
            batch = items[start : start + BATCH_SIZE]
            for (fingerprint, _), found in zip(batch, image_features(batch, embedder, cache), strict=True):
                if isinstance(found, ImageError):
                    unreadable_photos.add(fingerprint)
                else:
                    features[fingerprint] = found
            progress.update(len(batch))
    unreadable = sorted(pid for pid, state in states.items() if state.document and (
        state.image_fingerprint in unreadable_photos or not state.image_fingerprint))
    return features, unreadable


def _vectors(batch: dict[str, StoredState], features: dict[str, np.ndarray], target: Embedder,
             cache: FeatureCache | None) -> dict[str, np.ndarray]:
    """Vectors of the target space for a batch of stored products; a photo replaced since the
    features were gathered is read again (the cache usually has it: the write computed it)."""
    changed = {state.image_fingerprint: state.document["image_path"] for state in batch.values()
               if state.image_fingerprint and state.image_fingerprint not in features}
    for (fingerprint, _), found in zip(changed.items(), image_features(list(changed.items()), target, cache),
                                       strict=True):
        if not isinstance(found, ImageError):
            features[fingerprint] = found
    ready = [pid for pid, state in batch.items() if state.image_fingerprint in features]
    if not ready:
        return {}
    vectors = target.image_vectors(np.stack([features[batch[pid].image_fingerprint] for pid in ready]))
    return dict(zip(ready, vectors, strict=True))


def _retire_abandoned(spaces: ImageSpaces, store: ProductStore, live: IndexInfo) -> list[str]:
    """Generations and datatypes an interrupted re-index left behind: filled by writes or stored,
    but not searched by the index."""
    abandoned = (set(spaces.active()) | spaces.stored()) - {live.image_generation}
    for generation in sorted(abandoned):
        _retire(spaces, store, generation)
    notes = [f"By Image: removed {_space(generation)}, left by an interrupted re-index"
             for generation in sorted(abandoned)]
    for datatype in sorted(set(ACTIVE_DATATYPES.members(store.client)) - {live.datatype}):
        _retire_datatype(store, datatype, live.image_generation)
        notes.append(f"Vectors: removed the {datatype} ones, left by an interrupted re-index")
    return notes


def _space(generation: str) -> str:
    return "the image model's own vectors" if generation == NONE else f"projection {generation}"


def _retire(spaces: ImageSpaces, store: ProductStore, generation: str) -> None:
    spaces.deactivate(generation)
    store.drop_fields([image_field(generation)])  # in every datatype
    spaces.forget(generation)


def _retire_datatype(store: ProductStore, datatype: str, generation: str) -> None:
    """Writes stop storing vectors as `datatype`, and the stored ones go: the text vectors and
    those of `generation`, the only image space the index searches (other spaces went whole)."""
    ACTIVE_DATATYPES.remove(store.client, datatype)
    store.drop_fields([TEXT_VECTOR, image_field(generation)], [datatype])
