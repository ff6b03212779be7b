// The product finder page: browse, filter, search by text or photo, explore similar products.
// Everything shown comes from the JSON API; the URL holds the whole view (filters, query, mode),
// so a link or a reload shows the same thing. Text from products is only ever set with
// textContent, never parsed as HTML.
"use strict";

// The server's limits and filterable fields (app/limits.py), handed over in the page.
const CONFIG = JSON.parse(document.getElementById("finder-config").textContent);
const FACETS = CONFIG.facets;
const FACET_LABELS = Object.fromEntries(FACETS.map((facet) => [facet.name, facet.label]));
const FILTER_NAMES = [...FACETS.map((facet) => facet.name), "year_min", "year_max"];
const PAGE_SIZE = CONFIG.per_page;
const K_DEFAULT = CONFIG.k;
const K_MAX = CONFIG.max_k;
const MAX_UPLOAD_BYTES = CONFIG.max_upload_bytes;
const MAX_SUGGEST_LENGTH = CONFIG.max_suggest_length;
const OPEN_FACETS = new Set(["gender", "category", "article_type", "color"]); // the rest start folded
const FACET_PREVIEW = 8;
const TYPING_DELAY_MS = 300;
const SUGGEST_DELAY_MS = 120; // suggestions come before the search the same typing starts
const MIN_QUERY_LENGTH = 2; // for searching and for suggestions alike

const $ = (id) => document.getElementById(id);
const ui = {};
let current = null; // the view being shown: { filters, view, k }
let shownProducts = 0; // products in the grid (browse paging)
let viewRequest = null; // AbortController of the request filling the grid
let facetRequest = null;
let typingTimer = null;
let suggestRequest = null;
let suggestTimer = null;
let suggestionTexts = []; // what the open list offers, in order
let highlighted = -1; // position of the highlighted suggestion, -1 for none
const expandedFacets = new Set();

class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

// --- the URL is the state -------------------------------------------------------------------

function readState() {
  const params = new URLSearchParams(location.search);
  const filters = {};
  for (const name of FILTER_NAMES) {
    const values = params.getAll(name).map((value) => value.trim()).filter(Boolean);
    if (values.length) filters[name] = name.startsWith("year_") ? [values[0]] : [...new Set(values)];
  }
  let view = { mode: "browse" };
  if (params.get("similar")) {
    view = { mode: "similar", id: params.get("similar"), by: params.get("by") === "image" ? "image" : "text" };
  } else if (params.get("photo")) {
    view = { mode: "photo", upload: params.get("photo") };
  } else if ((params.get("q") || "").trim()) {
    view = { mode: "search", q: params.get("q").trim() };
  }
  const k = Math.min(Math.max(parseInt(params.get("k"), 10) || K_DEFAULT, 1), K_MAX);
  return { filters, view, k };
}

function filterParams(filters) {
  const params = new URLSearchParams();
  for (const name of FILTER_NAMES) for (const value of filters[name] || []) params.append(name, value);
  return params;
}

function stateUrl(state) {
  const params = new URLSearchParams();
  const { view } = state;
  if (view.mode === "similar") {
    params.set("similar", view.id);
    params.set("by", view.by);
  } else if (view.mode === "photo") {
    params.set("photo", view.upload);
  } else if (view.mode === "search") {
    params.set("q", view.q);
  }
  if (view.mode !== "browse" && state.k !== K_DEFAULT) params.set("k", state.k);
  for (const [name, value] of filterParams(state.filters)) params.append(name, value);
  const query = params.toString();
  return location.pathname + (query ? `?${query}` : "");
}

function navigate(state, { replace = false } = {}) {
  history[replace ? "replaceState" : "pushState"](null, "", stateUrl(state));
  current = state;
  refresh();
}

function browseState() {
  return { filters: current.filters, view: { mode: "browse" }, k: K_DEFAULT };
}

function withFilters(filters) {
  return { ...current, filters, k: current.view.mode === "browse" ? current.k : K_DEFAULT };
}

// --- talking to the API -----------------------------------------------------------------------

async function api(path, { params, signal, method = "GET", body } = {}) {
  const query = params && params.toString();
  let response;
  try {
    response = await fetch(query ? `${path}?${query}` : path, { method, body, signal, headers: { Accept: "application/json" } });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError("network", "The server cannot be reached. Check your connection and try again.", 0);
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch (error) {
    payload = null;
  }
  if (!response.ok) {
    const problem = (payload && payload.error) || {};
    const message = response.status === 503
      ? "The product database is unavailable right now. Please try again in a moment."
      : problem.message || `The server answered with an error (${response.status}).`;
    throw new ApiError(problem.code || "error", message, response.status);
  }
  return payload;
}

function freshRequest(previous) {
  if (previous) previous.abort();
  return new AbortController();
}

// --- showing a view ---------------------------------------------------------------------------

function refresh() {
  const q = current.view.mode === "search" ? current.view.q : "";
  if (ui.searchInput.value.trim() !== q) ui.searchInput.value = q; // keeps a space just typed
  ui.back.hidden = current.view.mode === "browse";
  document.title = pageTitle(current.view);
  renderChips();
  loadFacets();
  loadView();
}

async function loadView() {
  viewRequest = freshRequest(viewRequest);
  const { signal } = viewRequest;
  const { view, filters, k } = current;
  setBusy(true, view.mode === "photo" ? "Searching with your photo…" : "Loading…");
  hideMessage();
  try {
    if (view.mode === "browse") {
      const params = filterParams(filters);
      params.set("per_page", PAGE_SIZE);
      showPage(await api("/api/products", { params, signal }), { append: false });
    } else {
      const params = filterParams(filters);
      params.set("k", k);
      let body;
      if (view.mode === "similar") {
        params.set("by", view.by);
        body = await api(`/api/products/${encodeURIComponent(view.id)}/similar`, { params, signal });
      } else if (view.mode === "search") {
        params.set("q", view.q);
        params.set("explain", "1"); // for the matched words to highlight
        body = await api("/api/search", { params, signal });
      } else {
        body = await api(`/api/search/image/${encodeURIComponent(view.upload)}`, { params, signal });
      }
      showResults(body);
    }
  } catch (error) {
    if (error.name !== "AbortError") showFailure(error);
  }
}

async function loadMore() {
  if (current.view.mode !== "browse") {
    navigate({ ...current, k: Math.min(current.k + K_DEFAULT, K_MAX) }, { replace: true });
    return;
  }
  viewRequest = freshRequest(viewRequest);
  const params = filterParams(current.filters);
  params.set("per_page", PAGE_SIZE);
  params.set("page", Math.floor(shownProducts / PAGE_SIZE) + 1);
  ui.more.disabled = true;
  try {
    showPage(await api("/api/products", { params, signal: viewRequest.signal }), { append: true });
  } catch (error) {
    if (error.name !== "AbortError") showFailure(error);
  } finally {
    ui.more.disabled = false;
  }
}

function showPage(body, { append }) {
  setBusy(false);
  ui.query.hidden = true;
  ui.hints.hidden = true;
  if (!append) {
    ui.grid.replaceChildren();
    shownProducts = 0;
  }
  ui.grid.append(...body.products.map((product) => productCard(product)));
  shownProducts += body.products.length;
  ui.status.textContent = countOf(body.total, hasFilters() ? "matching product" : "product");
  ui.more.textContent = "Load more";
  ui.more.hidden = shownProducts >= body.total;
  if (!body.total) showEmpty();
}

function showResults(body) {
  setBusy(false);
  const { view } = current;
  const results = body.results;
  const isSearch = view.mode === "search";
  ui.grid.replaceChildren(...results.map((result) => productCard(result.product, {
    score: isSearch ? null : result.score, // a fused relevance is no similarity: words are highlighted instead
    highlights: isSearch && result.explain ? result.explain.highlights : [],
  })));
  ui.hints.hidden = true;
  const count = countOf(results.length, "result");
  const time = `${body.took_ms.toLocaleString(undefined, { maximumFractionDigits: 1 })} ms`;
  if (view.mode === "similar") {
    showQueryProduct(body.query.product, view.by);
    ui.status.textContent = `${count} similar to “${body.query.product.name}” by ${view.by} · ${time}`;
  } else if (view.mode === "photo") {
    showQueryPhoto(body.query.image_url);
    ui.status.textContent = `${count} similar to your photo · ${time}`;
  } else {
    ui.query.hidden = true;
    ui.status.textContent = `${count} for “${view.q}” · ${time}`;
    showSearchHints(body);
  }
  ui.more.textContent = "Show more";
  ui.more.hidden = results.length < current.k || current.k >= K_MAX;
  if (!results.length) showEmpty();
}

function countOf(number, noun) {
  return `${number.toLocaleString()} ${noun}${number === 1 ? "" : "s"}`;
}

function pageTitle(view) {
  const titles = { search: `“${view.q}”`, similar: `Similar by ${view.by}`, photo: "Photo search" };
  return view.mode in titles ? `${titles[view.mode]} · Product Finder` : "Product Finder";
}

function showQueryProduct(product, by) {
  const card = productCard(product, { badge: `Similar by ${by} to` });
  card.classList.add("query-card");
  card.querySelector("img").src = product.image_url; // the product looked at closely: its full photo
  for (const button of card.querySelectorAll("[data-by]")) {
    button.setAttribute("aria-pressed", String(button.dataset.by === by));
  }
  ui.query.replaceChildren(card);
  ui.query.hidden = false;
}

function showQueryPhoto(imageUrl) {
  const figure = document.createElement("figure");
  figure.className = "query-photo";
  const image = document.createElement("img");
  image.src = imageUrl;
  image.alt = "The photo you searched with";
  const caption = document.createElement("figcaption");
  caption.textContent = "Your photo";
  figure.append(image, caption);
  ui.query.replaceChildren(figure);
  ui.query.hidden = false;
}

function productCard(product, { score = null, badge = null, highlights = [] } = {}) {
  const card = ui.cardTemplate.content.firstElementChild.cloneNode(true);
  const image = card.querySelector("img");
  image.src = product.thumbnail_url; // the full photo is a click away
  card.querySelector(".card-photo").href = product.image_url;
  image.alt = product.name;
  card.querySelector(".card-name").replaceChildren(...nameWithMarks(product.name, highlights));
  card.querySelector(".card-meta").textContent = [product.gender, product.category, product.article_type, product.color]
    .filter(Boolean)
    .join(" · ");
  if (score !== null) {
    const scoreLine = card.querySelector(".card-score");
    scoreLine.textContent = `Similarity ${score.toFixed(2)}`;
    scoreLine.hidden = false;
  }
  if (badge) {
    const badgeLine = card.querySelector(".card-badge");
    badgeLine.textContent = badge;
    badgeLine.hidden = false;
  }
  for (const button of card.querySelectorAll("[data-by]")) {
    button.dataset.id = product.id;
    button.setAttribute("aria-label", `Find products similar to ${product.name} by ${button.dataset.by}`);
  }
  return card;
}

// The name as text nodes, with the words the search matched in <mark>.
function nameWithMarks(name, words) {
  const marked = new Set(words.map((word) => word.toLowerCase()));
  if (!marked.size) return [document.createTextNode(name)];
  return name.split(/([^\s!-\/:-@[-^`{-~]+)/).filter(Boolean).map((part) => {
    if (!marked.has(part.toLowerCase())) return document.createTextNode(part);
    const mark = document.createElement("mark");
    mark.textContent = part;
    return mark;
  });
}

// Under a free-text search: "did you mean", an honest note when nothing matches well, and the
// catalog values the query named, offered as filters (all at once, or one by one).
function showSearchHints(body) {
  const parts = [];
  if (body.did_you_mean) {
    const line = document.createElement("p");
    const link = document.createElement("a");
    link.href = stateUrl({ filters: current.filters, view: { mode: "search", q: body.did_you_mean }, k: K_DEFAULT });
    link.textContent = body.did_you_mean;
    link.className = "did-you-mean";
    link.addEventListener("click", (event) => {
      event.preventDefault();
      searchFor(body.did_you_mean, { replace: false });
    });
    line.append("Did you mean ", link, "?");
    parts.push(line);
  }
  if (!body.close_match) {
    const note = document.createElement("p");
    note.className = "no-close-match";
    note.textContent = `No close matches for “${body.query.q}”; the nearest products are below.`;
    parts.push(note);
  }
  const offered = offeredFilters(body.understood.attributes);
  if (offered.length) {
    const line = document.createElement("p");
    line.className = "suggested-filters";
    const label = document.createElement("span");
    label.textContent = "Narrow to";
    // All at once only when some product has them all; one by one when there are several.
    if (body.understood.products > 0) line.append(label, suggestionChip(offered));
    else line.append(label);
    if (offered.length > 1 || !body.understood.products) line.append(...offered.map((pair) => suggestionChip([pair])));
    parts.push(line);
  }
  ui.hints.replaceChildren(...parts);
  ui.hints.hidden = parts.length === 0;
}

// [attribute, value] pairs the query named that the filters do not already hold.
function offeredFilters(attributes) {
  const pairs = [];
  for (const [name, values] of Object.entries(attributes || {})) {
    if (!FACET_LABELS[name]) continue;
    for (const value of values) if (!(current.filters[name] || []).includes(value)) pairs.push([name, value]);
  }
  return pairs;
}

function suggestionChip(pairs) {
  const chip = document.createElement("button");
  chip.type = "button";
  chip.className = pairs.length > 1 ? "chip suggestion all" : "chip suggestion";
  chip.textContent = pairs.map(([, value]) => value).join(" · ");
  chip.setAttribute("aria-label", `Filter by ${pairs.map(([name, value]) => `${FACET_LABELS[name]} ${value}`).join(", ")}`);
  chip.addEventListener("click", () => {
    const filters = { ...current.filters };
    for (const [name, value] of pairs) filters[name] = [...new Set([...(filters[name] || []), value])];
    navigate({ ...current, filters });
  });
  return chip;
}

function exploreSimilar(id, by) {
  navigate({ filters: current.filters, view: { mode: "similar", id, by }, k: K_DEFAULT });
  window.scrollTo({ top: 0 });
  ui.results.focus({ preventScroll: true });
}

// --- states: loading, empty, failure ------------------------------------------------------------

function setBusy(busy, text) {
  ui.grid.setAttribute("aria-busy", String(busy));
  document.body.classList.toggle("loading", busy);
  if (busy && text) ui.status.textContent = text;
}

function hideMessage() {
  ui.message.hidden = true;
  ui.message.replaceChildren();
}

function showMessage(kind, text, action) {
  const paragraph = document.createElement("p");
  paragraph.textContent = text;
  ui.message.className = `message ${kind}`;
  ui.message.replaceChildren(paragraph);
  if (action) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button";
    button.textContent = action.label;
    button.addEventListener("click", action.run);
    ui.message.append(button);
  }
  ui.message.hidden = false;
}

function showEmpty() {
  if (hasFilters()) {
    showMessage("empty", "No products match these filters.", { label: "Remove all filters", run: () => navigate(withFilters({})) });
  } else {
    const emptyText = {
      browse: "The catalog is empty. Load one with: python -m indexer load PATH",
      similar: "There are no other products to compare with.",
    };
    showMessage("empty", emptyText[current.view.mode] || "Nothing found.");
  }
}

function showFailure(error) {
  setBusy(false);
  ui.grid.replaceChildren();
  ui.query.hidden = true;
  ui.hints.hidden = true;
  ui.more.hidden = true;
  ui.status.textContent = "";
  if (error.code === "upload_not_found") {
    showMessage("error", "This photo search has expired (photos are kept for a day). Upload the photo again.");
  } else if (error.status === 404) {
    showMessage("error", "That product no longer exists.", { label: "Browse products", run: () => navigate(browseState()) });
  } else {
    showMessage("error", error.message, { label: "Try again", run: () => refresh() });
  }
  loadFooter();
}

// --- filters: facet menus and chips -----------------------------------------------------------

function hasFilters() {
  return Object.keys(current.filters).length > 0;
}

async function loadFacets() {
  facetRequest = freshRequest(facetRequest);
  try {
    const body = await api("/api/facets", { params: filterParams(current.filters), signal: facetRequest.signal });
    renderFacets(body.facets);
  } catch (error) {
    if (error.name === "AbortError") return;
    const note = document.createElement("p");
    note.className = "muted";
    note.textContent = "Filters are unavailable right now.";
    ui.facets.replaceChildren(note);
  }
}

function renderFacets(facets) {
  const groups = FACETS.map(({ name, label }) => {
    const selected = current.filters[name] || [];
    const values = facets[name] || [];
    const known = new Set(values.map((entry) => entry.value));
    // A selected value the catalog lacks still shows, so it can be cleared here too.
    const entries = [...values, ...selected.filter((value) => !known.has(value)).map((value) => ({ value, count: 0 }))];
    const details = document.createElement("details");
    details.className = "facet";
    details.open = OPEN_FACETS.has(name) || selected.length > 0;
    const summary = document.createElement("summary");
    summary.textContent = selected.length ? `${label} (${selected.length})` : label;
    const list = document.createElement("ul");
    const showAll = expandedFacets.has(name);
    entries.forEach((entry, position) => {
      const isSelected = selected.includes(entry.value);
      if (!showAll && position >= FACET_PREVIEW && !isSelected) return;
      list.append(facetOption(name, entry, isSelected));
    });
    details.append(summary, list);
    if (entries.length > FACET_PREVIEW) {
      const toggle = document.createElement("button");
      toggle.type = "button";
      toggle.className = "link-button";
      toggle.textContent = showAll ? "Show fewer" : `Show all ${entries.length}`;
      toggle.addEventListener("click", () => {
        showAll ? expandedFacets.delete(name) : expandedFacets.add(name);
        renderFacets(facets);
      });
      details.append(toggle);
    }
    return details;
  });
  ui.facets.replaceChildren(...groups);
  ui.clearFilters.hidden = !hasFilters();
}

function facetOption(name, entry, isSelected) {
  const item = document.createElement("li");
  const label = document.createElement("label");
  const box = document.createElement("input");
  box.type = "checkbox";
  box.checked = isSelected;
  box.addEventListener("change", () => toggleFilter(name, String(entry.value), box.checked));
  const text = document.createElement("span");
  text.textContent = entry.value;
  const count = document.createElement("span");
  count.className = "count";
  count.textContent = entry.count.toLocaleString();
  label.append(box, text, count);
  item.append(label);
  return item;
}

function toggleFilter(name, value, on) {
  const values = new Set(current.filters[name] || []);
  on ? values.add(value) : values.delete(value);
  const filters = { ...current.filters };
  if (values.size) filters[name] = [...values];
  else delete filters[name];
  navigate(withFilters(filters));
}

function renderChips() {
  const chips = [];
  for (const name of FILTER_NAMES) {
    for (const value of current.filters[name] || []) {
      const text = name === "year_min" ? `Year from ${value}` : name === "year_max" ? `Year to ${value}` : `${FACET_LABELS[name]}: ${value}`;
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "chip";
      chip.setAttribute("aria-label", `Remove filter ${text}`);
      const label = document.createElement("span");
      label.textContent = text;
      const cross = document.createElement("span");
      cross.setAttribute("aria-hidden", "true");
      cross.textContent = "×";
      chip.append(label, cross);
      chip.addEventListener("click", () => removeFilter(name, value));
      chips.push(chip);
    }
  }
  ui.chips.replaceChildren(...chips);
  ui.chips.hidden = chips.length === 0;
  ui.filtersToggle.textContent = chips.length ? `Filters (${chips.length})` : "Filters";
}

function removeFilter(name, value) {
  const filters = { ...current.filters };
  const remaining = (filters[name] || []).filter((entry) => entry !== value);
  if (remaining.length) filters[name] = remaining;
  else delete filters[name];
  navigate(withFilters(filters));
}

// --- free-text and photo search ---------------------------------------------------------------

function searchFor(text, { replace }) {
  const q = text.trim();
  if (q.length < MIN_QUERY_LENGTH) {
    if (current.view.mode === "search") navigate(browseState(), { replace });
    return;
  }
  if (current.view.mode === "search" && current.view.q === q) return;
  navigate({ filters: current.filters, view: { mode: "search", q }, k: K_DEFAULT }, { replace });
}

async function searchByPhoto(file) {
  if (!file) return;
  if (!file.type.startsWith("image/")) {
    showMessage("error", `“${file.name}” is not an image. Choose a JPEG, PNG or WebP photo.`);
    return;
  }
  if (file.size > MAX_UPLOAD_BYTES) {
    const limit = (MAX_UPLOAD_BYTES / 1024 / 1024).toLocaleString(undefined, { maximumFractionDigits: 1 });
    showMessage("error", `“${file.name}” is larger than ${limit} MB. Choose a smaller photo.`);
    return;
  }
  viewRequest = freshRequest(viewRequest);
  const previousStatus = ui.status.textContent;
  setBusy(true, "Searching with your photo…");
  hideMessage();
  const form = new FormData();
  form.append("image", file);
  const params = filterParams(current.filters);
  params.set("k", K_DEFAULT);
  try {
    const body = await api("/api/search/image", { method: "POST", body: form, params, signal: viewRequest.signal });
    current = { filters: current.filters, view: { mode: "photo", upload: body.query.upload_id }, k: K_DEFAULT };
    history.pushState(null, "", stateUrl(current));
    ui.searchInput.value = "";
    ui.back.hidden = false;
    document.title = pageTitle(current.view);
    showResults(body);
  } catch (error) {
    if (error.name !== "AbortError") {
      setBusy(false);
      ui.status.textContent = previousStatus; // what is shown has not changed
      showMessage("error", `Could not search with “${file.name}”: ${error.message}`);
    }
  }
}

// --- autocomplete: a combobox over the search box --------------------------------------------------

// What the server matches: runs of whitespace as one space; a trailing space ends a word.
function typedPrefix() {
  return ui.searchInput.value.replace(/\s+/g, " ").trimStart();
}

function scheduleSuggestions(delay) {
  clearTimeout(suggestTimer);
  if (suggestRequest) suggestRequest.abort(); // its answer is for other text
  const prefix = typedPrefix();
  const length = prefix.trim().length;
  if (length < MIN_QUERY_LENGTH || length > MAX_SUGGEST_LENGTH) {
    closeSuggestions();
    return;
  }
  suggestTimer = setTimeout(() => loadSuggestions(prefix), delay);
}

async function loadSuggestions(prefix) {
  suggestRequest = freshRequest(suggestRequest);
  try {
    const body = await api("/api/suggest", { params: new URLSearchParams({ q: prefix }), signal: suggestRequest.signal });
    if (document.activeElement === ui.searchInput) showSuggestions(prefix, body.suggestions.map((entry) => entry.text));
  } catch (error) {
    if (error.name !== "AbortError") closeSuggestions(); // a help, never worth an error message
  }
}

function showSuggestions(prefix, texts) {
  suggestionTexts = texts;
  ui.suggestions.replaceChildren(...texts.map((text, position) => suggestionOption(prefix, text, position)));
  setSuggestionsOpen(texts.length > 0);
  highlight(-1);
}

function suggestionOption(prefix, text, position) {
  const option = document.createElement("li");
  option.id = `suggestion-${position}`;
  option.setAttribute("role", "option");
  option.dataset.position = position;
  // What was typed in normal weight, the completion in bold (all of it for a fuzzy match).
  const typed = text.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase() ? prefix.length : 0;
  const start = document.createElement("span");
  start.textContent = text.slice(0, typed);
  const completion = document.createElement("strong");
  completion.textContent = text.slice(typed);
  option.append(start, completion);
  return option;
}

function highlight(position) {
  highlighted = position;
  [...ui.suggestions.children].forEach((option, index) => option.setAttribute("aria-selected", String(index === position)));
  if (position < 0) {
    ui.searchInput.removeAttribute("aria-activedescendant");
    return;
  }
  const option = ui.suggestions.children[position];
  ui.searchInput.setAttribute("aria-activedescendant", option.id);
  option.scrollIntoView({ block: "nearest" });
}

function setSuggestionsOpen(open) {
  ui.suggestions.hidden = !open;
  ui.searchInput.setAttribute("aria-expanded", String(open));
}

function closeSuggestions() {
  clearTimeout(suggestTimer);
  if (suggestRequest) suggestRequest.abort();
  setSuggestionsOpen(false);
  highlight(-1);
}

function pickSuggestion(text) {
  closeSuggestions();
  clearTimeout(typingTimer);
  ui.searchInput.value = text;
  searchFor(text, { replace: false }); // as if typed and submitted
}

function onSearchKey(event) {
  const open = !ui.suggestions.hidden;
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault(); // the caret stays where it is
    if (!open) {
      scheduleSuggestions(0);
      return;
    }
    const count = suggestionTexts.length;
    const step = event.key === "ArrowDown" ? 1 : -1;
    highlight(highlighted < 0 ? (step > 0 ? 0 : count - 1) : (highlighted + step + count) % count);
  } else if (event.key === "Enter" && open && highlighted >= 0) {
    event.preventDefault();
    pickSuggestion(suggestionTexts[highlighted]);
  } else if (event.key === "Escape") {
    event.preventDefault(); // a search box would clear itself: the first Escape only closes the list
    if (open) {
      closeSuggestions();
    } else if (ui.searchInput.value) {
      ui.searchInput.value = "";
      searchFor("", { replace: false });
    }
  }
}

// --- footer: catalog size and index --------------------------------------------------------------

async function loadFooter() {
  try {
    const [health, index] = await Promise.all([api("/health"), api("/api/index").catch(() => null)]);
    const parts = [countOf(health.products, "product")];
    if (index) parts.push(`${index.algorithm} index`, `${index.metric} distance`);
    ui.footer.textContent = parts.join(" · ");
  } catch (error) {
    ui.footer.textContent = "Product database unavailable";
  }
}

// --- wiring -------------------------------------------------------------------------------------

function dropHasFiles(event) {
  return event.dataTransfer && [...event.dataTransfer.types].includes("Files");
}

function start() {
  Object.assign(ui, {
    searchForm: $("search-form"), searchInput: $("search-input"), suggestions: $("suggestions"),
    photoButton: $("photo-button"), photoInput: $("photo-input"), facets: $("facets"), clearFilters: $("clear-filters"),
    chips: $("chips"), status: $("status"), message: $("message"), query: $("query"), hints: $("search-hints"),
    grid: $("grid"), more: $("more"),
    results: $("results"), footer: $("footer"), back: $("back"), dropOverlay: $("drop-overlay"), filters: $("filters"),
    filtersToggle: $("filters-toggle"), cardTemplate: $("card-template"),
  });

  ui.searchForm.addEventListener("submit", (event) => {
    event.preventDefault();
    closeSuggestions();
    clearTimeout(typingTimer);
    searchFor(ui.searchInput.value, { replace: false });
  });
  ui.searchInput.addEventListener("input", () => {
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => searchFor(ui.searchInput.value, { replace: current.view.mode === "search" }), TYPING_DELAY_MS);
    scheduleSuggestions(SUGGEST_DELAY_MS);
  });
  ui.searchInput.addEventListener("keydown", onSearchKey);
  ui.searchInput.addEventListener("blur", closeSuggestions); // Tab, or a click anywhere else
  ui.suggestions.addEventListener("mousedown", (event) => event.preventDefault()); // the box keeps the focus
  ui.suggestions.addEventListener("click", (event) => {
    const option = event.target.closest("[role=option]");
    if (option) pickSuggestion(suggestionTexts[Number(option.dataset.position)]);
  });
  ui.photoButton.addEventListener("click", () => ui.photoInput.click());
  ui.photoInput.addEventListener("change", () => {
    searchByPhoto(ui.photoInput.files[0]);
    ui.photoInput.value = "";
  });
  ui.grid.addEventListener("click", onCardButton);
  ui.query.addEventListener("click", onCardButton);
  ui.more.addEventListener("click", loadMore);
  ui.back.addEventListener("click", () => navigate(browseState()));
  ui.clearFilters.addEventListener("click", () => navigate(withFilters({})));
  ui.filtersToggle.addEventListener("click", () => {
    const open = ui.filters.classList.toggle("open");
    ui.filtersToggle.setAttribute("aria-expanded", String(open));
  });

  let dragDepth = 0;
  window.addEventListener("dragenter", (event) => {
    if (!dropHasFiles(event)) return;
    dragDepth += 1;
    ui.dropOverlay.hidden = false;
  });
  window.addEventListener("dragleave", () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) ui.dropOverlay.hidden = true;
  });
  window.addEventListener("dragover", (event) => {
    if (dropHasFiles(event)) event.preventDefault();
  });
  window.addEventListener("drop", (event) => {
    if (!dropHasFiles(event)) return;
    event.preventDefault();
    dragDepth = 0;
    ui.dropOverlay.hidden = true;
    searchByPhoto(event.dataTransfer.files[0]);
  });
  window.addEventListener("popstate", () => {
    closeSuggestions();
    current = readState();
    refresh();
  });

  current = readState();
  refresh();
  loadFooter();
}

function onCardButton(event) {
  const button = event.target.closest("button[data-by]");
  if (button && button.dataset.id) exploreSimilar(button.dataset.id, button.dataset.by);
}

document.addEventListener("DOMContentLoaded", start);
