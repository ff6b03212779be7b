"""Command line:
    python -m indexer load PATH [--limit N] [--recreate] [--algorithm A] [--metric M] [--quiet]
    python -m indexer reindex [--algorithm A] [--metric M] [--quiet]
"""

from __future__ import annotations

import argparse
import signal
import sys

import redis

from finder.config import ALGORITHMS, METRICS, ConfigError, Settings
from finder.embeddings import Embedder
from finder.index import (
    IndexInfo,
    apply_synonyms,
    describe_index,
    dimension_mismatches,
    drop_index,
    schema_mismatches,
    settings_mismatches,
)
from finder.projection import LDA, NONE, ImageSpaces
from finder.redis_server import RedisUnavailable, check_modules, connect, resolve_redis
from finder.schema import INDEX_ALIAS
from finder.store import ProductStore
from finder.synonyms import SynonymError, SynonymRules
from indexer.catalog import CatalogError
from indexer.loader import load_catalog
from indexer.reindex import reindex as reindex_catalog

MAX_PROBLEMS_SHOWN = 50


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops a load as cleanly as Ctrl-C
    try:
        settings = Settings.from_env().with_overrides(index_algorithm=args.algorithm, distance_metric=args.metric)
        redis_url, server = resolve_redis(settings)
        client = connect(redis_url, settings.redis_timeout)
    except (ConfigError, RedisUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        check_modules(client)
        return args.command(args, settings, client)
    except (CatalogError, SynonymError, RedisUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (redis.ConnectionError, redis.TimeoutError) as error:
        print(f"\nerror: lost the connection to Redis ({error}). Every product reported as loaded is "
              "stored; run the same command again to resume.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: every product written so far is complete; run the same command to resume",
              file=sys.stderr)
        return 130
    finally:
        if server:
            server.stop()


def load(args, settings: Settings, client) -> int:
    store = ProductStore(client)
    embedder = Embedder.from_settings(settings)
    existing = describe_index(client)
    if existing and args.recreate:
        drop_index(client, existing.name)
        removed = store.delete_all()
        print(f"dropped index {existing.name} and {removed} keys", file=sys.stderr)
        existing = None
    if settings.image_projection == LDA and not embedder.projection_allowed:
        print(f"note: IMAGE_PROJECTION=lda does not apply to {settings.image_model}: it embeds text too, and "
              "free-text search compares its text vectors with the image vectors, so those stay its own",
              file=sys.stderr)
    if existing and not _existing_index_fits(args, settings, client, embedder, existing):
        return 1
    report = load_catalog(args.path, store, embedder, settings, limit=args.limit, show_progress=not args.quiet)
    for problem in report.failed[:MAX_PROBLEMS_SHOWN]:
        print(f"skipped {problem}", file=sys.stderr)
    if len(report.failed) > MAX_PROBLEMS_SHOWN:
        print(f"... and {len(report.failed) - MAX_PROBLEMS_SHOWN} more skipped rows", file=sys.stderr)
    for note in report.notes:
        print(note)
    print(f"{args.path}: {report.summary()}")
    info = describe_index(client)
    outdated = schema_mismatches(info, settings)
    if outdated:
        print(f"index {info.name} was made by an older version ({'; '.join(outdated)}): rebuilding it from the "
              "stored products; searches keep working meanwhile", file=sys.stderr)
        return reindex(args, settings, client)
    return 0


def _existing_index_fits(args, settings: Settings, client, embedder: Embedder, info: IndexInfo) -> bool:
    """Check the live index against the configuration; False (with the error said) if loading
    into it cannot work."""
    spaces = ImageSpaces(client, embedder)
    problems = spaces.mismatches(info.image_generation)
    if not problems:
        problems = dimension_mismatches(info, embedder.text_dim, spaces.embedder_for(info.image_generation).image_dim)
    if problems:
        print(f"error: index {info.name}: {'; '.join(problems)}. Run again with --recreate to re-embed "
              "the catalog with the configured models.", file=sys.stderr)
        return False
    differences = settings_mismatches(info, settings)
    if differences:
        explicit = args.algorithm or args.metric
        print(f"{'error' if explicit else 'note'}: index {info.name}: {'; '.join(differences)}. "
              "Rebuild it with `python -m indexer reindex` (keeps the vectors) or load with --recreate.",
              file=sys.stderr)
        if explicit:
            return False
    wanted = LDA if settings.image_projection == LDA and embedder.projection_allowed else NONE
    if (wanted == NONE) != (info.image_generation == NONE):
        using = ("the image model's own vectors" if info.image_generation == NONE
                 else f"image projection {info.image_generation}")
        print(f"note: By Image uses {using} (IMAGE_PROJECTION={settings.image_projection}); "
              "`python -m indexer reindex` moves the index to the configured image vectors", file=sys.stderr)
    forgotten = apply_synonyms(client, info.name, SynonymRules.read(settings.synonyms))
    if forgotten:
        print(f"note: the index keeps synonyms the file no longer has ({', '.join(forgotten[:10])}); "
              "`python -m indexer reindex` forgets them", file=sys.stderr)
    return True


def reindex(args, settings: Settings, client) -> int:
    def progress(fraction: float) -> None:
        if not args.quiet:
            print(f"\rindexing stored products: {fraction:.0%}", end="", file=sys.stderr, flush=True)

    try:
        report = reindex_catalog(client, settings, Embedder.from_settings(settings), show_progress=not args.quiet,
                                 on_indexing=progress)
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    old, new = report.old, report.new
    entries = ProductStore(client).rebuild_suggestions()
    print(file=sys.stderr)
    for note in report.notes:
        print(note)
    print(f"{INDEX_ALIAS} now uses {new.name} ({new.algorithm} {new.metric} {new.datatype}, {new.documents} "
          f"products); dropped {old.name} ({old.algorithm} {old.metric} {old.datatype}); {entries} autocomplete "
          f"entries rebuilt. {report.seconds:.1f} s, searches answered throughout.")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m indexer", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    load_command = commands.add_parser(
        "load", help="embed a catalog folder (styles.csv + images/<id>.jpg) and write it to Redis",
        description="Embed a catalog in the Kaggle 'Fashion Product Images' layout and write it to Redis. "
        "Re-running skips unchanged products; an interrupted load resumes.",
    )
    load_command.add_argument("path", help="catalog folder holding styles.csv and images/")
    load_command.add_argument("--limit", type=_positive, metavar="N", help="read only the first N rows")
    load_command.add_argument("--recreate", action="store_true",
                              help="drop the index and every stored product first, then load from scratch")
    _index_options(load_command, "for a new index")
    load_command.set_defaults(command=load)
    reindex_command = commands.add_parser(
        "reindex", help="rebuild the index with other settings and refit the By Image projection, without downtime",
        description="Build a new index (algorithm, metric and HNSW_M / HNSW_EF_CONSTRUCTION from the options "
        "and environment, VECTOR_DATATYPE, synonyms from the SYNONYMS file) beside the live one and switch to it "
        "when it is complete; a new VECTOR_DATATYPE converts the stored vectors first. With IMAGE_PROJECTION=lda "
        "the By Image projection is fitted again on the stored products "
        "(their photos' features come from the feature cache) and every product gets its new image vector; "
        "with IMAGE_PROJECTION=none the index returns to the image model's own vectors. Nothing else is "
        "re-embedded; the autocomplete dictionary is rebuilt from the stored products. Searches keep answering "
        "throughout. Changing an embedding model needs `load --recreate` instead.",
    )
    _index_options(reindex_command, "of the new index")
    reindex_command.set_defaults(command=reindex)
    return parser


def _index_options(command: argparse.ArgumentParser, which: str) -> None:
    command.add_argument("--algorithm", type=str.upper, choices=ALGORITHMS,
                         help=f"vector index algorithm {which} (default: INDEX_ALGORITHM)")
    command.add_argument("--metric", type=str.upper, choices=METRICS,
                         help=f"distance metric {which} (default: DISTANCE_METRIC)")
    command.add_argument("--quiet", action="store_true", help="no progress output")


def _interrupt(signum: int, frame) -> None:
    raise KeyboardInterrupt


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return number


if __name__ == "__main__":
    sys.exit(main())
