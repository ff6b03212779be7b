"""The page's first screen with Kaggle-size photos: bytes and time in Chromium, per system.

    .venv/bin/python -m bench.page_weight [--baseline f06bb64] [--data-dir /tmp/page-weight]

The repo's sample catalog (data/sample, 304 products) is copied with every photo upscaled to
1800x2400 JPEG (quality 90: the size of the Kaggle data set's photos). Each system, this tree
("current") and --baseline (by default the commit before grid thumbnails), loads it from its own
source tree into its own data directory (bench.relevance.serving). The home page is then opened
in headless Chromium at 1366x900 with an empty browser cache, twice (the first visit after the
server started, when thumbnails are made, and a second one in a new browser context), over
loopback and over an emulated 10 Mbit/s, 40 ms connection. From the browser's own Resource
Timing: bytes transferred for the page and everything it loaded, the images in the first
screen (grid cards in the viewport), their bytes and when the last of them arrived.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image

from bench.common import Report, bench_command, machine, markdown_table, measuring_quietly, publish
from bench.relevance import serving, worktree
from finder.config import DEFAULT_CATALOG, PROJECT_ROOT

KAGGLE_SIZE = (1800, 2400)
VIEWPORT = {"width": 1366, "height": 900}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Resource Timing, read in the page once the network is idle.
FIRST_SCREEN = """() => {
  const page = performance.getEntriesByType('navigation')[0];
  const loaded = performance.getEntriesByType('resource');
  const inView = new Set([...document.querySelectorAll('img')].filter(image => {
    const box = image.getBoundingClientRect();
    return image.complete && image.naturalWidth > 0 && box.top < innerHeight && box.bottom > 0;
  }).map(image => image.currentSrc));
  const images = loaded.filter(entry => inView.has(entry.name));
  return {
    total_bytes: page.transferSize + loaded.reduce((sum, entry) => sum + entry.transferSize, 0),
    first_screen_images: images.length,
    first_screen_image_bytes: images.reduce((sum, entry) => sum + entry.transferSize, 0),
    first_screen_ms: Math.max(0, ...images.map(entry => entry.responseEnd)),
  };
}"""


# Loopback (no limit), and a shopper on a fair mobile or home connection (Chrome DevTools' emulation).
NETWORKS = {
    "loopback": None,
    "10 Mbit/s, 40 ms": {"offline": False, "latency": 40, "downloadThroughput": 10e6 / 8, "uploadThroughput": 5e6 / 8},
}


@dataclass(frozen=True)
class Visit:
    system: str
    network: str
    visit: str
    total_bytes: int
    first_screen_images: int
    first_screen_image_bytes: int
    first_screen_ms: float


def kaggle_size_catalog(folder: Path, source: Path = DEFAULT_CATALOG) -> Path:
    """The sample catalog with its photos upscaled to the Kaggle data set's size (made once)."""
    if (folder / "styles.csv").is_file():
        return folder
    (folder / "images").mkdir(parents=True, exist_ok=True)
    for photo in sorted((source / "images").glob("*.jpg")):
        with Image.open(photo) as image:
            image.convert("RGB").resize(KAGGLE_SIZE, Image.Resampling.LANCZOS).save(
                folder / "images" / photo.name, quality=90)
    shutil.copy(source / "styles.csv", folder / "styles.csv")  # last: its presence means done
    return folder


def visits(system: str, url: str) -> list[Visit]:
    from playwright.sync_api import sync_playwright

    found = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        for network, conditions in NETWORKS.items():
            for visit in ("first", "second"):
                context = browser.new_context(viewport=VIEWPORT)  # an empty cache each time
                page = context.new_page()
                if conditions:
                    context.new_cdp_session(page).send("Network.emulateNetworkConditions", conditions)
                page.goto(url, wait_until="networkidle", timeout=120_000)
                found.append(Visit(system, network, visit, **page.evaluate(FIRST_SCREEN)))
                context.close()
        browser.close()
    return found


def report(results: list[Visit], command: str, context: dict[str, str]) -> Report:
    result = Report("page-weight", "The first screen with Kaggle-size photos (1800x2400)", command, context)
    result.add("Chromium, empty cache, 1366x900", markdown_table(
        ["system", "network", "visit", "bytes transferred (all)", "first-screen images", "their bytes",
         "last first-screen image, ms"],
        [[r.system, r.network, r.visit, r.total_bytes, r.first_screen_images, r.first_screen_image_bytes,
          r.first_screen_ms] for r in results],
        digits={6: 0},
    ))
    result.data = {"visits": [asdict(r) for r in results]}
    return result


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default="f06bb64", help="a git revision to compare with (default: before "
                        "thumbnails)")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/page-weight"))
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} not found: install the Debian package chromium")
    catalog = kaggle_size_catalog(args.data_dir / "catalog")
    context = {"machine": machine(), "catalog": f"data/sample ({len(list((catalog / 'images').glob('*.jpg')))} "
               f"products), photos upscaled to {KAGGLE_SIZE[0]}x{KAGGLE_SIZE[1]} JPEG quality 90"}
    results = []
    for system, source in ((f"baseline {args.baseline}", worktree(args.baseline)), ("current", PROJECT_ROOT)):
        with serving(source, args.data_dir / system.replace(" ", "-"), catalog, learn_from="all") as url:
            with measuring_quietly(context):
                results += visits(system, url)
            context[f"other load, {system}"] = context.pop("other load")
    return publish(report(results, bench_command("bench.page_weight", argv), context))


if __name__ == "__main__":
    main()
