"""The product finder page in real headless Chromium, against the app on a real Redis.

Skipped, with the reason in the test summary, where Chromium is not installed
(Debian: apt install chromium). Screenshots of the main views go to test-artifacts/.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote_plus

import pytest

from app import create_app
from finder.products import CATEGORICAL_FIELDS
from finder.redis_server import EmbeddedRedis
from tests.support import ARTIFACTS, SAMPLE_CATALOG, serve_app, settings_for

CHROMIUM = Path("/usr/bin/chromium")
XSS_KEY = "markup-test-key-0123456789"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() and not shutil.which("chromium"),
                       reason="Chromium not installed (apt install chromium): browser tests skipped"),
]


@pytest.fixture(scope="module")
def live_url(app):
    server = serve_app(app)
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def console_errors():
    return []


@pytest.fixture
def page(browser, console_errors):
    """A fresh page; the test fails if the page logs a console error or throws that the test
    did not expect (and remove from console_errors)."""
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    page.set_default_timeout(20_000)
    yield page
    context.close()
    assert console_errors == [], f"console errors: {console_errors}"


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def cards(page):
    return page.locator("#grid .card")


def wait_for_results(page):
    page.wait_for_function("document.querySelector('#grid').getAttribute('aria-busy') === 'false'")


def card_metas(page) -> list[str]:
    return page.locator("#grid .card .card-meta").all_inner_texts()


def test_home_shows_a_grid_of_products_and_the_catalog_status(page, live_url, loaded_sample):
    page.goto(live_url)
    wait_for_results(page)
    assert cards(page).count() == 24
    first = cards(page).first
    assert first.locator(".card-name").inner_text()
    assert first.locator("img").get_attribute("alt") == first.locator(".card-name").inner_text()
    assert first.locator("img").get_attribute("loading") == "lazy"
    assert page.locator("#status").inner_text() == f"{loaded_sample.loaded} products"
    page.wait_for_function("document.querySelector('#footer').textContent.includes('index')")
    assert page.locator("#footer").inner_text() == f"{loaded_sample.loaded} products · HNSW index · COSINE distance"
    page.wait_for_function(f"document.querySelectorAll('#facets details').length === {len(CATEGORICAL_FIELDS)}")
    screenshot(page, "home")


def test_load_more_appends_the_next_page(page, live_url):
    page.goto(live_url)
    wait_for_results(page)
    page.get_by_role("button", name="Load more").click()
    page.wait_for_function("document.querySelectorAll('#grid .card').length === 48")
    names = page.locator("#grid .card .card-name").all_inner_texts()
    ids = page.locator("#grid .card [data-by=text]").evaluate_all("buttons => buttons.map(b => b.dataset.id)")
    assert len(set(ids)) == 48 and len(names) == 48


def test_by_text_and_by_image_show_similar_products_with_the_query_pinned(page, live_url):
    page.goto(live_url)
    wait_for_results(page)
    first_name = cards(page).first.locator(".card-name").inner_text()
    cards(page).first.get_by_role("button", name="By Text").click()
    page.wait_for_url(re.compile(r"similar=\w+&by=text"))
    wait_for_results(page)
    query = page.locator("#query .query-card")
    assert query.locator(".card-name").inner_text() == first_name
    assert query.get_by_role("button", name="By Text").get_attribute("aria-pressed") == "true"
    assert cards(page).count() == 12
    scores = page.locator("#grid .card-score").all_inner_texts()
    assert all(re.fullmatch(r"Similarity \d\.\d\d", text) for text in scores)
    assert re.search(rf"12 results similar to “{re.escape(first_name)}” by text · [\d.]+ ms",
                     page.locator("#status").inner_text())
    screenshot(page, "similar-by-text")

    next_name = cards(page).nth(2).locator(".card-name").inner_text()
    cards(page).nth(2).get_by_role("button", name="By Image").click()
    page.wait_for_url(re.compile(r"by=image"))
    page.wait_for_function(
        "name => document.querySelector('#query .card-name').textContent === name", arg=next_name
    )
    wait_for_results(page)
    assert cards(page).count() == 12
    assert next_name not in page.locator("#grid .card-name").all_inner_texts()
    screenshot(page, "similar-by-image")
    page.go_back()
    page.wait_for_function(
        "name => document.querySelector('#query .card-name').textContent === name", arg=first_name
    )
    assert page.title() == "Similar by text · Product Finder"
    page.get_by_role("button", name="← All products").click()
    page.wait_for_url(lambda url: "similar=" not in url)
    page.wait_for_function("document.querySelectorAll('#grid .card').length === 24")
    assert page.locator("#query").is_hidden()


def test_gender_and_category_filters_restrict_browse_and_similar_results(page, live_url):
    page.goto(live_url)
    wait_for_results(page)
    page.locator("#facets details", has_text="Gender").get_by_label(re.compile("^Women")).check()
    page.wait_for_url(re.compile(r"gender=Women"))
    wait_for_results(page)
    page.locator("#facets details", has_text="Category").get_by_label(re.compile("^Footwear")).check()
    page.wait_for_url(re.compile(r"gender=Women&category=Footwear"))
    wait_for_results(page)
    metas = card_metas(page)
    assert metas and all(meta.startswith("Women · Footwear") for meta in metas)
    chips = page.locator("#chips .chip").evaluate_all("chips => chips.map(chip => chip.getAttribute('aria-label'))")
    assert chips == ["Remove filter Gender: Women", "Remove filter Category: Footwear"]
    screenshot(page, "filtered-browse")

    cards(page).first.get_by_role("button", name="By Image").click()
    page.wait_for_url(re.compile(r"by=image.*gender=Women&category=Footwear"))
    wait_for_results(page)
    metas = card_metas(page)
    assert metas and all(meta.startswith("Women · Footwear") for meta in metas)

    page.get_by_role("button", name="Remove filter Category: Footwear").click()
    page.wait_for_url(lambda url: "category=" not in url and "gender=Women" in url)
    wait_for_results(page)
    assert all(meta.startswith("Women") for meta in card_metas(page))
    chips = page.locator("#chips .chip").evaluate_all("chips => chips.map(chip => chip.getAttribute('aria-label'))")
    assert chips == ["Remove filter Gender: Women"]
    page.wait_for_function("!document.querySelector('#facets').textContent.includes('Category (1)')")


def test_a_reload_keeps_the_filters_and_the_view(page, live_url):
    page.goto(f"{live_url}/?gender=Men&article_type=Watches")
    wait_for_results(page)
    before = card_metas(page)
    page.reload()
    wait_for_results(page)
    assert card_metas(page) == before
    assert before and all(meta.startswith("Men · Accessories · Watches") for meta in before)
    page.wait_for_function("document.querySelectorAll('#facets input:checked').length === 2")
    assert page.locator("#facets details", has_text="Gender").get_by_label(re.compile("^Men")).is_checked()


def test_the_search_box_searches_as_you_type_and_on_enter(page, live_url):
    page.goto(live_url)
    wait_for_results(page)
    page.get_by_label("Search products").press_sequentially("black floral dress", delay=30)
    page.wait_for_url(re.compile(r"q=black\+floral\+dress"))
    wait_for_results(page)
    top = cards(page).first.locator(".card-meta").inner_text()
    assert "Dresses" in top and "Black" in top
    assert "for “black floral dress”" in page.locator("#status").inner_text()
    screenshot(page, "text-search")

    box = page.get_by_label("Search products")
    box.fill("leather watch")
    box.press("Enter")
    page.wait_for_url(re.compile(r"q=leather\+watch"))
    wait_for_results(page)
    assert sum("Watches" in meta for meta in card_metas(page)) >= 8


def test_a_search_highlights_matched_words_and_offers_what_it_understood_as_filters(page, live_url):
    page.goto(f"{live_url}/?q=black+watch+for+women")
    wait_for_results(page)
    first = cards(page).first
    assert {"Black", "Watch", "Women"} <= set(first.locator(".card-name mark").all_inner_texts())
    assert first.locator(".card-score").is_hidden()  # a fused relevance is not shown as a similarity
    offer = page.get_by_role("button", name="Filter by Gender Women, Article type Watches, Colour Black")
    assert offer.inner_text() == "Women · Watches · Black"
    screenshot(page, "search-understood")
    offer.click()
    page.wait_for_url(re.compile(r"gender=Women.*article_type=Watches.*color=Black"))
    wait_for_results(page)
    metas = card_metas(page)
    assert metas and all("Women" in meta and "Watches" in meta and "Black" in meta for meta in metas)
    assert page.locator("#search-input").input_value() == "black watch for women"  # the query stays
    assert page.locator(".chip.suggestion").count() == 0  # nothing left to offer


def test_a_misspelt_search_offers_the_correction(page, live_url):
    page.goto(f"{live_url}/?q=blakc+watch")
    wait_for_results(page)
    correction = page.locator(".did-you-mean")
    assert correction.inner_text() == "black watch"
    screenshot(page, "did-you-mean")
    correction.click()
    page.wait_for_url(re.compile(r"q=black\+watch"))
    wait_for_results(page)
    assert page.locator(".did-you-mean").count() == 0


def test_a_search_with_no_close_match_says_so_and_still_shows_the_nearest(page, live_url):
    page.goto(f"{live_url}/?q=xyzzy+qwertyuiop")
    wait_for_results(page)
    assert "No close matches for “xyzzy qwertyuiop”" in page.locator(".no-close-match").inner_text()
    assert cards(page).count() == 12
    screenshot(page, "no-close-match")


def test_a_pause_after_a_space_keeps_the_space(page, live_url):
    page.goto(live_url)
    wait_for_results(page)
    box = page.get_by_label("Search products")
    box.press_sequentially("black ", delay=30)
    page.wait_for_url(re.compile(r"q=black$"))  # searched during the pause
    wait_for_results(page)
    box.press_sequentially("dress", delay=30)
    page.wait_for_url(re.compile(r"q=black\+dress$"))
    assert box.input_value() == "black dress"


def options(page):
    return page.locator("#suggestions [role=option]")


def test_the_search_box_suggests_as_you_type_and_the_keyboard_picks(page, live_url):
    page.goto(live_url)
    wait_for_results(page)
    box = page.get_by_role("combobox", name="Search products")
    listbox = page.get_by_role("listbox", name="Suggestions", include_hidden=True)
    assert box.get_attribute("aria-controls") == listbox.get_attribute("id")
    assert box.get_attribute("aria-autocomplete") == "list" and box.get_attribute("aria-expanded") == "false"
    box.press_sequentially("wom", delay=40)
    listbox.wait_for(state="visible")
    assert box.get_attribute("aria-expanded") == "true"
    texts = options(page).all_inner_texts()
    assert len(texts) > 2 and all(text.startswith("Wom") for text in texts)
    assert options(page).first.locator("span").inner_text() == "Wom"  # typed: normal weight
    assert options(page).first.locator("strong").inner_text() == texts[0][3:]  # completion: bold

    box.press("ArrowDown")
    box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == options(page).nth(1).get_attribute("id")
    assert options(page).nth(1).get_attribute("aria-selected") == "true"
    assert options(page).first.get_attribute("aria-selected") == "false"
    screenshot(page, "autocomplete")
    box.press("ArrowUp")
    box.press("ArrowUp")  # from the first, wraps to the last
    assert box.get_attribute("aria-activedescendant") == options(page).last.get_attribute("id")
    box.press("ArrowDown")  # and back to the first
    box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == options(page).nth(1).get_attribute("id")
    box.press("Enter")
    page.wait_for_url(re.compile(r"\?q=" + re.escape(quote_plus(texts[1])) + "$"))
    wait_for_results(page)
    assert listbox.is_hidden() and box.get_attribute("aria-expanded") == "false"
    assert box.input_value() == texts[1]
    assert f"for “{texts[1]}”" in page.locator("#status").inner_text()

    box.fill("")
    box.press_sequentially("dre", delay=40)
    listbox.wait_for(state="visible")
    box.press("Escape")
    assert listbox.is_hidden() and box.input_value() == "dre"
    box.press("Escape")  # a second Escape clears the box, as before
    assert box.input_value() == ""


def test_a_click_picks_a_suggestion_and_a_click_elsewhere_closes_the_list(page, live_url):
    page.goto(live_url)
    wait_for_results(page)
    box = page.get_by_role("combobox", name="Search products")
    listbox = page.get_by_role("listbox", name="Suggestions", include_hidden=True)
    box.press_sequentially("sungl", delay=40)
    page.get_by_role("option", name="Sunglasses", exact=True).click()
    page.wait_for_url(re.compile(r"\?q=Sunglasses$"))
    wait_for_results(page)
    assert listbox.is_hidden() and box.input_value() == "Sunglasses"
    assert sum("Sunglasses" in meta for meta in card_metas(page)) >= 8

    box.fill("")
    box.press_sequentially("men ", delay=40)
    listbox.wait_for(state="visible")
    assert all(text.startswith("Men ") for text in options(page).all_inner_texts())
    page.locator("#filters h2").click()  # beside the list, not under it
    assert listbox.is_hidden()
    box.focus()
    box.press("ArrowDown")  # opens the list again
    listbox.wait_for(state="visible")
    box.press("Tab")
    assert listbox.is_hidden()


def test_photo_search_shows_the_photo_and_similar_products_and_has_a_link(page, live_url):
    page.goto(f"{live_url}/?category=Accessories")
    wait_for_results(page)
    photo = SAMPLE_CATALOG / "images" / "70001.jpg"  # sunglasses
    page.locator("#photo-input").set_input_files(str(photo))
    page.wait_for_url(re.compile(r"photo=\w+&category=Accessories"))
    wait_for_results(page)
    assert page.locator("#query figure img").get_attribute("alt") == "The photo you searched with"
    page.wait_for_function("document.querySelector('#query figure img').naturalWidth > 0")
    assert "similar to your photo" in page.locator("#status").inner_text()
    assert all("Accessories" in meta for meta in card_metas(page))
    assert "Sunglasses" in card_metas(page)[0]
    screenshot(page, "photo-search")
    before = card_metas(page)
    page.reload()
    wait_for_results(page)
    assert card_metas(page) == before


def test_dropping_a_photo_on_the_page_searches_with_it(page, live_url):
    page.goto(live_url)
    wait_for_results(page)
    page.evaluate("""async () => {
        const bytes = await (await fetch('/images/70042')).arrayBuffer();
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], 'dropped.jpg', {type: 'image/jpeg'}));
        window.dispatchEvent(new DragEvent('dragenter', {dataTransfer: transfer}));
        window.droppedTransfer = transfer;
    }""")
    assert page.locator("#drop-overlay").is_visible()
    screenshot(page, "drop-overlay")
    page.evaluate(
        "window.dispatchEvent(new DragEvent('drop', {dataTransfer: window.droppedTransfer, cancelable: true}))"
    )
    page.wait_for_url(re.compile(r"photo=\w+"))
    wait_for_results(page)
    assert page.locator("#drop-overlay").is_hidden()
    top = cards(page).first.get_by_role("button", name="By Text").get_attribute("data-id")
    assert top == "70042"  # the dropped photo is that product's


def test_a_bad_upload_shows_a_readable_message(page, live_url, tmp_path, console_errors):
    page.goto(live_url)
    wait_for_results(page)
    fake = tmp_path / "holiday.jpg"
    fake.write_bytes(b"this is not really a photo")
    page.locator("#photo-input").set_input_files(str(fake))
    message = page.locator("#message")
    message.wait_for(state="visible")
    assert "Could not search with “holiday.jpg”: not an image" in message.inner_text()
    assert cards(page).count() == 24  # the products shown before stay, and so does their status
    assert page.locator("#status").inner_text().endswith("products")
    screenshot(page, "bad-upload")
    assert [error for error in console_errors if "415" in error]  # the browser logs the refused upload
    console_errors.clear()


@pytest.mark.parametrize("max_upload_mb, refused_in_the_page", [(10, True), (20, False)])
def test_the_page_refuses_only_photos_over_the_servers_limit(page, settings, loaded_sample, tmp_path, console_errors,
                                                              max_upload_mb, refused_in_the_page):
    server = serve_app(create_app(replace(settings, max_upload_mb=max_upload_mb)))
    try:
        page.goto(f"http://127.0.0.1:{server.server_port}/")
        wait_for_results(page)
        large = tmp_path / "large.jpg"
        large.write_bytes(b"\xff" * (12 * 1024 * 1024))  # 12 MB, and not really a photo
        page.locator("#photo-input").set_input_files(str(large))
        message = page.locator("#message")
        message.wait_for(state="visible")
        if refused_in_the_page:
            assert "“large.jpg” is larger than 10 MB" in message.inner_text()
        else:  # sent: the server itself answers
            assert "Could not search with “large.jpg”: not an image" in message.inner_text()
            console_errors.clear()  # the browser logs the refused upload
    finally:
        page.goto("about:blank")  # no request of this page may outlive its server
        server.shutdown()


def test_no_results_explains_and_offers_to_remove_the_filters(page, live_url):
    page.goto(f"{live_url}/?gender=Boys&article_type=Heels")
    wait_for_results(page)
    assert cards(page).count() == 0
    assert "No products match these filters." in page.locator("#message").inner_text()
    screenshot(page, "no-results")
    page.get_by_role("button", name="Remove all filters").click()
    wait_for_results(page)
    page.wait_for_function("document.querySelectorAll('#grid .card').length === 24")


def test_keyboard_alone_reaches_and_uses_the_card_buttons(page, live_url):
    page.goto(live_url)
    wait_for_results(page)
    button = cards(page).first.get_by_role("button", name="By Image")
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"by=image"))
    wait_for_results(page)
    assert cards(page).count() == 12


def test_redis_down_shows_a_message_not_a_blank_page(browser, fresh_redis, loaded_sample):
    app = create_app(settings_for(fresh_redis.url, redis_timeout=0.5))
    server = serve_app(app)
    fresh_redis.stop()
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"http://127.0.0.1:{server.server_port}/")
        message = page.locator("#message")
        message.wait_for(state="visible")
        assert "The product database is unavailable right now" in message.inner_text()
        assert page.get_by_role("button", name="Try again").is_visible()
        page.wait_for_function("document.querySelector('#footer').textContent.includes('unavailable')")
        screenshot(page, "redis-down")
    finally:
        context.close()
        server.shutdown()


def test_small_screens_put_the_filters_behind_a_button(page, live_url):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_url)
    wait_for_results(page)
    assert not page.locator("#filters").is_visible()
    toggle = page.locator("#filters-toggle")
    toggle.click()
    assert page.locator("#filters").is_visible() and toggle.get_attribute("aria-expanded") == "true"
    boxes = cards(page).evaluate_all("cards => cards.slice(0, 2).map(card => card.getBoundingClientRect().width)")
    assert all(width < 195 for width in boxes)  # two columns on a phone
    screenshot(page, "mobile-filters")


def test_markup_in_product_data_renders_as_text_and_never_runs(browser, tmp_path):
    markup = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
    with EmbeddedRedis(tmp_path / "redis") as redis_server:
        app = create_app(settings_for(redis_server.url, api_key=XSS_KEY, data_dir=tmp_path))
        product = {"id": "xss-1", "name": markup, "gender": "Women", "category": "Accessories",
                   "sub_category": "Scarves", "article_type": "Scarves", "color": "<b>Red</b>"}
        photo = (SAMPLE_CATALOG / "images" / "70001.jpg").read_bytes()
        created = app.test_client().post("/api/products", headers={"Authorization": f"Bearer {XSS_KEY}"},
                                         data={"product": json.dumps(product), "image": (io.BytesIO(photo), "x.jpg")})
        assert created.status_code == 201, created.json
        server = serve_app(app)
        context = browser.new_context()
        page = context.new_page()
        dialogs = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        try:
            base = f"http://127.0.0.1:{server.server_port}"
            page.goto(f"{base}/?color=<b>Red</b>")
            page.wait_for_function("document.querySelectorAll('#grid .card').length === 1")
            assert cards(page).first.locator(".card-name").inner_text() == markup
            assert "<b>Red</b>" in cards(page).first.locator(".card-meta").inner_text()
            assert page.locator("#chips .chip").first.get_attribute("aria-label") == "Remove filter Colour: <b>Red</b>"
            page.goto(f"{base}/?q={markup}")
            page.wait_for_function("document.querySelector('#grid').getAttribute('aria-busy') === 'false'")
            assert markup in page.locator("#status").inner_text()
            page.goto(f"{base}/?similar=xss-1&by=text")
            page.wait_for_function("document.querySelector('#query .card-name') !== null")
            assert page.locator("#query .card-name").inner_text() == markup
            page.get_by_role("combobox", name="Search products").press_sequentially("<scr", delay=40)
            options(page).first.wait_for()
            assert options(page).all_inner_texts() == [markup]
            screenshot(page, "markup-as-text")
            assert page.evaluate("window.pwned") is None
            assert page.locator("#grid img[src='x'], #query img[src='x'], #suggestions img").count() == 0
            assert dialogs == []
        finally:
            context.close()
            server.shutdown()
