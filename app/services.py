"""What every request needs, created once per process and shared by all requests."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from flask import current_app

from finder.config import Settings
from finder.embeddings import Embedder
from finder.product_images import ProductImages
from finder.projection import ImageSpaces, feature_cache
from finder.query_vectors import QueryVectorCache
from finder.redis_server import connect
from finder.search import Search
from finder.store import ProductStore
from finder.text_search import TextSearch
from finder.thumbnails import Thumbnails
from finder.uploads import UploadStore
from finder.writes import ProductWriter


@dataclass(frozen=True)
class Services:
    settings: Settings
    redis_url: str
    client: redis.Redis
    store: ProductStore
    search: Search
    text_search: TextSearch
    uploads: UploadStore
    thumbnails: Thumbnails
    embedder: Embedder
    writer: ProductWriter

    @classmethod
    def create(cls, settings: Settings, redis_url: str) -> Services:
        client = connect(redis_url, settings.redis_timeout)
        store = ProductStore(client)
        embedder = Embedder.from_settings(settings)
        spaces = ImageSpaces(client, embedder)
        search = Search(client, store, settings, spaces=spaces)
        return cls(
            settings=settings,
            redis_url=redis_url,
            client=client,
            store=store,
            search=search,
            text_search=TextSearch(search, embedder, QueryVectorCache.from_settings(client, settings)),
            uploads=UploadStore(client),
            thumbnails=Thumbnails(settings.thumbnails_dir),
            embedder=embedder,
            writer=ProductWriter(store, spaces, ProductImages(settings.product_images_dir), settings,
                                 feature_cache(settings, embedder)),
        )


def services() -> Services:
    return current_app.extensions["finder"]
