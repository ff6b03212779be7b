"""Re-indexing without downtime, refitting the By Image projection on the way.

With IMAGE_PROJECTION=none and an index without a projection, a re-index only builds a new index
beside the live one over the stored vectors (finder.index.rebuild_index). Otherwise it moves the
catalog to a new image space (a freshly fitted projection, or `none` after a projection):
1. the features of every stored product (the disk cache, else recomputed from its photo),
2. a new generation fitted on them and the products' article types and colours, stored and made
   active: from then on every product write fills the live and the new generation,
3. every product given its vector of the new generation, in batches, each read and written
   under WATCH (a product written meanwhile is read again, never given a stale vector),
4. the new index built over those vectors beside the live one, the alias switched once it is
   complete, the old index dropped,
5. the old generation retired: writes stop filling it, its field is removed from every product
   and its projection deleted.
Searches answer from the old index until the switch and from the new one after it.
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
from finder.store import ProductStore, StoredState
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
    """Rebuild the live index from the settings; refit its projection (see the module's docstring)."""
    started = time.perf_counter()
    live = describe_index(client)
    if live is None:
        raise RuntimeError("there is no index to rebuild: load a catalog first")
    spaces = ImageSpaces(client, embedder)
    store = ProductStore(client)
    notes = _retire_abandoned(spaces, store, live.image_generation)
    wanted = LDA if settings.image_projection == LDA and embedder.projection_allowed else NONE
    if wanted == NONE and live.image_generation == NONE:
        old, new = rebuild_index(client, settings, on_progress=on_indexing)
        return ReindexReport(old, new, time.perf_counter() - started, notes)

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
    if generation == live.image_generation:  # `none` wanted (or too few to fit) and already in use
        old, new = rebuild_index(client, settings, on_progress=on_indexing)
        return ReindexReport(old, new, time.perf_counter() - started, notes)

    target = spaces.embedder_for(generation)
    spaces.activate(generation)
    try:
        # Listed again: products written before the activation, since the first list, fill only the old space.
        store.add_image_vectors(store.product_ids(), image_field(generation),
                                lambda batch: _vectors(batch, features, target, cache))
        old, new = rebuild_index(client, settings, on_progress=on_indexing,
                                 image_space=(generation, target.image_dim))
    except BaseException:
        _retire(spaces, store, generation)  # an unfinished space must not linger, nor be filled by writes
        raise
    _retire(spaces, store, old.image_generation)
    notes.append(f"By Image: the index now uses {_space(generation)}; {_space(old.image_generation)} removed")
    return ReindexReport(old, new, time.perf_counter() - started, notes)


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


def _retire_abandoned(spaces: ImageSpaces, store: ProductStore, live: str) -> list[str]:
    """Generations an interrupted re-index left behind: filled by writes or stored, but not
    searched by the index."""
    abandoned = (set(spaces.active()) | spaces.stored()) - {live}
    for generation in sorted(abandoned):
        _retire(spaces, store, generation)
    return [f"By Image: removed {_space(generation)}, left by an interrupted re-index"
            for generation in sorted(abandoned)]


def _space(generation: str) -> str:
    return "the image model's own vectors" if generation == NONE else f"projection {generation}"


def _retire(spaces: ImageSpaces, store: ProductStore, generation: str) -> None:
    spaces.deactivate(generation)
    store.drop_field(image_field(generation))
    spaces.forget(generation)
