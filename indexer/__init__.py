"""The bulk loader: `python -m indexer load PATH` embeds a catalog folder and writes it to Redis."""
