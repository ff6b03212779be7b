"""Shoppers for the load benchmark (bench.throughput runs this; it can also run on its own):

    BENCH_WORKLOAD=bench/results/workload.json BENCH_MIX=mixed \\
        .venv/bin/locust -f bench/locustfile.py --headless -u 80 -r 20 -t 60s --host http://127.0.0.1:5000

BENCH_WORKLOAD is a workload file written by bench.throughput (bench.workload.Workload).
BENCH_MIX: `mixed` (browse 30%, similar 50% split evenly between by text and by image, free-text
search 20% from the workload's pool of shopper queries) or `similar` (similar only). Users send
their next request as soon as the previous one answers (no think time), so requests per second
measure what the server can take.
FastHttpUser (geventhttpclient) costs the load generator several times less CPU than
HttpUser (requests), which matters when it shares 2 cores with the server.
"""

from __future__ import annotations

import os
import random
from urllib.parse import urlencode

from locust import FastHttpUser, constant

from bench.workload import Workload

WORKLOAD = Workload.load(os.environ["BENCH_WORKLOAD"])
K = 12


def browse(user: Shopper) -> None:
    user.client.get(f"/api/products?{urlencode(random.choice(WORKLOAD.browse_filters))}", name="browse")


def similar_by_text(user: Shopper) -> None:
    user.client.get(f"/api/products/{random.choice(WORKLOAD.product_ids)}/similar?by=text&k={K}", name="similar")


def similar_by_image(user: Shopper) -> None:
    user.client.get(f"/api/products/{random.choice(WORKLOAD.product_ids)}/similar?by=image&k={K}", name="similar")


def free_text(user: Shopper) -> None:
    user.client.get(f"/api/search?{urlencode({'q': random.choice(WORKLOAD.texts), 'k': K})}", name="free-text")


MIXES = {
    "mixed": {browse: 30, similar_by_text: 25, similar_by_image: 25, free_text: 20},
    "similar": {similar_by_text: 1, similar_by_image: 1},
}


class Shopper(FastHttpUser):
    wait_time = constant(0)
    tasks = MIXES[os.environ.get("BENCH_MIX", "mixed")]
