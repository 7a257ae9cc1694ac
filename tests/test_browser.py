"""The built book in a real browser, as a reader sees it (issue 7).

Serves the built HTML (`_build/html`, or `$BOOK_HTML`) on 127.0.0.1 and drives
Debian's Chromium (`/usr/bin/chromium`, or `$CHROMIUM`) with Playwright. No test
downloads a browser, and no request may leave this machine: every request is
recorded, and anything not addressed to the local server is aborted.

Per page of the table of contents: no console errors or failed requests, no
request off the machine, every formula typeset by MathJax without TeX errors
and no raw TeX left in the text, every image decoded, every code block with a
copy button, every internal link (and its #fragment) pointing at something that
exists. Reader paths: search, next/previous through the whole book, the hidden
solutions, the copy button. Screenshots go to `_build/screenshots/`.

Run with `make browser` (builds the book first). With `CI` set, a missing
Chromium, Playwright or built site fails the tests instead of skipping them.
"""

import functools
import http.server
import os
import re
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import yaml

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright
except ImportError:  # reported by the `browser` fixture
    sync_playwright = None
    PlaywrightError = Exception

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html")).resolve()
SCREENSHOTS = Path(os.environ.get("BOOK_SCREENSHOTS", ROOT / "_build" / "screenshots"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# The network here is closed: without these flags Chromium keeps trying to
# reach Google's services and floods the log with refused connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HOST = "127.0.0.1"
OFF_MACHINE = re.compile(r"^(?!(http://127\.0\.0\.1[:/]|data:|blob:|about:))")
TIMEOUT_MS = 30_000
# Pages Sphinx writes besides the table of contents: the landing redirect,
# the index and the search page.
NON_TOC_PAGES = {"index.html", "genindex.html", "search.html"}


def toc_pages():
    """The pages of `_toc.yml` in reading order, as paths of the built site."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf8"))
    pages = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                pages.append(node["file"])
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key, []):
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    for key in ("parts", "chapters", "sections"):
        walk(toc.get(key, []))
    return [re.sub(r"\.(md|ipynb)$", "", p) + ".html" for p in pages]


PAGES = toc_pages()


def unavailable(reason):
    """Fail under CI (a missing tool must not pass as green), skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


# ---------------------------------------------------------------- fixtures


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def base_url():
    """The built site, served by a local `http.server` thread on a free port."""
    if not (SITE / "index.html").is_file():
        unavailable(f"no built book at {SITE} (run `make book`, or set BOOK_HTML)")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer((HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{HOST}:{server.server_port}/"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def browser():
    if sync_playwright is None:
        unavailable("the playwright package is not installed (pip install -e '.[test]')")
    if not os.access(CHROMIUM, os.X_OK):
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except PlaywrightError as exc:
            unavailable(f"Chromium at {CHROMIUM} does not start: {exc}")
        yield browser
        browser.close()


class Session:
    """A fresh browser context (empty storage, as a first-time reader) that
    records every request, console error and failed load, and aborts every
    request not addressed to the local server."""

    def __init__(self, browser, base_url, **context_args):
        self.base_url = base_url
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, **context_args)
        self.context.set_default_timeout(TIMEOUT_MS)
        self.requests = []
        self.errors = []
        self.context.on("request", lambda r: self.requests.append(r.url))
        # a regex is matched inside the browser driver: local requests are not
        # held up by a round trip to Python (is_local, in the checks, agrees)
        self.context.route(OFF_MACHINE, lambda route: route.abort())
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        self.page.on("requestfailed", self._failed)
        self.page.on("response", self._response)

    def _console(self, msg):
        if msg.type == "error":
            where = msg.location.get("url", "") if msg.location else ""
            self.errors.append(f"console.error: {msg.text} ({where})")

    def _failed(self, request):
        # net::ERR_ABORTED is the browser cancelling a request in flight because the page
        # moved on (the next page of a walk, say); a missing file shows as HTTP 404 instead
        if is_local(request.url) and "ERR_ABORTED" not in (request.failure or ""):
            self.errors.append(f"request failed: {request.url} ({request.failure})")

    def _response(self, response):
        if response.status >= 400:
            self.errors.append(f"HTTP {response.status}: {response.url}")

    def external_requests(self):
        return [u for u in self.requests if not is_local(u)]

    def goto(self, path):
        response = self.page.goto(self.base_url + path, wait_until="load")
        assert response is not None and response.ok, f"{path}: {response and response.status}"
        wait_for_mathjax(self.page)
        return self.page

    def path(self):
        """The current page as a path of the built site."""
        return site_path(self.page.url, self.base_url)

    def close(self):
        self.context.close()


@pytest.fixture
def session(browser, base_url):
    s = Session(browser, base_url)
    yield s
    s.close()


def is_local(url):
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):  # never leave the browser
        return True
    return parts.hostname == HOST


def site_path(url, base_url):
    """'http://127.0.0.1:PORT/book/x.html?q#f' -> 'book/x.html'."""
    assert url.startswith(base_url), url
    path = unquote(urlsplit(url).path)[len(urlsplit(base_url).path) :]
    return path + "index.html" if path.endswith("/") or not path else path


def wait_for_mathjax(page):
    """Wait until MathJax has typeset the page, on pages that load it."""
    formulas = page.locator(".math").count()
    if formulas == 0:
        return
    if page.locator('script[src*="mathjax/"]').count() == 0:
        raise AssertionError(f"{formulas} formulas but no MathJax script on the page")
    page.wait_for_function(
        "() => window.MathJax && MathJax.startup && MathJax.startup.promise"
        " && MathJax.startup.document"
    )
    page.evaluate("() => MathJax.startup.promise.then(() => true)")


# ------------------------------------------------------ one visit per page

COLLECT_JS = r"""
async () => {
  const article = document.querySelector("article.bd-article") || document.querySelector("main");
  // Formulas: every .math element MathJax rendered, and which ones have TeX
  // errors (merror) or undefined macros (noundefined draws them in red).
  const mathEls = [...document.querySelectorAll(".math")];
  const untypeset = mathEls.filter(e => !e.querySelector("mjx-container"))
    .map(e => e.textContent.trim().slice(0, 100));
  const mathErrors = [];
  if (window.MathJax && MathJax.startup && MathJax.startup.document) {
    for (const item of MathJax.startup.document.math) {
      const mml = MathJax.startup.toMML(item.root);
      if (mml.includes("<merror") || mml.includes('mathcolor="red"')) {
        mathErrors.push(item.math.slice(0, 100));
      }
    }
  }
  // Text of the article outside code and typeset math, hidden parts included
  // (a closed solution must not hide raw TeX either).
  let text = "";
  if (article) {
    const clone = article.cloneNode(true);
    clone.querySelectorAll("pre, code, script, style, textarea, mjx-container, .highlight")
      .forEach(e => e.remove());
    text = clone.textContent;
  }
  // Images: load lazy ones too, then wait for every decode.
  const images = [...document.images];
  images.forEach(img => { img.loading = "eager"; });
  await Promise.all(images.map(img => img.decode().catch(() => null)));
  const brokenImages = images.filter(img => !(img.complete && img.naturalWidth > 0))
    .map(img => img.getAttribute("src"));
  // Code blocks (outside cell outputs) without a copy button.
  const code = [...document.querySelectorAll("div.highlight")]
    .filter(e => !e.closest(".cell_output, .output"));
  const noCopy = code.filter(e => !e.querySelector("button.copybtn"))
    .map(e => e.textContent.trim().slice(0, 60));
  return {
    hasArticle: !!article,
    title: document.title,
    mathCount: mathEls.length,
    mjxCount: document.querySelectorAll("mjx-container").length,
    untypeset, mathErrors, text,
    imageCount: images.length, brokenImages,
    codeCount: code.length, noCopy,
    links: [...document.querySelectorAll("a[href], area[href], link[href]")].map(a => a.href),
  };
}
"""

# Raw TeX a reader would see: math delimiters or commands that MathJax did not
# typeset (code and rendered math are removed from the text first).
RAW_TEX = [
    re.compile(r"\\[()\[\]]"),  # \( \) \[ \]
    re.compile(r"\$\$"),
    re.compile(r"(?<![\w$])\$(?=\S)[^$\n]{1,200}?(?<=\S)\$(?![\w$])"),  # $...$
    re.compile(r"\\[A-Za-z]{2,}"),  # \frac, \alpha, \begin, ...
]


def raw_tex(text):
    hits = []
    for line in text.splitlines():
        for pattern in RAW_TEX:
            hits += [m.group(0) + "  in: " + line.strip()[:120] for m in pattern.finditer(line)]
    return hits


def check_solutions(page):
    """Open every hidden solution: content hidden before the click, shown after."""
    results = []
    for i in range(page.locator("div.solution.dropdown").count()):
        box = page.locator("div.solution.dropdown").nth(i)
        name = box.get_attribute("id")
        content = box.locator("section").first
        button = box.locator("button.toggle-button")
        if button.count() != 1:  # sphinx-togglebutton did not run
            results.append((name, not content.is_visible(), False))
            continue
        hidden_before = not content.is_visible()
        button.click()
        try:
            content.wait_for(state="visible", timeout=5_000)
        except PlaywrightError:
            pass
        visible_after = content.is_visible() and button.get_attribute("aria-expanded") == "true"
        results.append((name, hidden_before, visible_after))
    return results


@pytest.fixture(scope="module")
def visits(browser, base_url):
    """Each page visited once, in a fresh context; every check reads this."""
    cache = {}

    def visit(path):
        if path not in cache:
            s = Session(browser, base_url)
            try:
                page = s.goto(path)
                # late arrivals too (fonts, icons): errors they cause belong to the page
                page.wait_for_load_state("networkidle")
                report = page.evaluate(COLLECT_JS)
                report["solutions"] = check_solutions(page)
                report["errors"] = list(s.errors)
                report["external"] = s.external_requests()
                report["requests"] = len(s.requests)
            except (AssertionError, PlaywrightError) as exc:
                # remembered, so that the other checks of this page fail at once
                report = {"fatal": f"{exc}", "errors": s.errors}
            finally:
                s.close()
            cache[path] = report
        if "fatal" in cache[path]:
            report = cache[path]
            pytest.fail(
                f"{path} could not be checked: {report['fatal']}\n" + "\n".join(report["errors"])
            )
        return cache[path]

    return visit


class _Anchors(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key == "id" or (tag == "a" and key == "name"):
                self.ids.add(value)


@functools.cache
def anchors(path):
    parser = _Anchors()
    parser.feed((SITE / path).read_text(encoding="utf8", errors="replace"))
    return frozenset(parser.ids)


# ---------------------------------------------------------- per-page checks


def test_toc_matches_built_site():
    """The parametrized pages are exactly the built pages: none missed, none orphaned."""
    if not SITE.is_dir():
        unavailable(f"no built book at {SITE} (run `make book`, or set BOOK_HTML)")
    built = {
        p.relative_to(SITE).as_posix()
        for p in SITE.rglob("*.html")
        if not p.relative_to(SITE).parts[0].startswith("_")
    }
    assert built - NON_TOC_PAGES == set(PAGES)


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_without_errors(visits, path):
    report = visits(path)
    assert report["hasArticle"], f"{path}: no article element"
    assert report["errors"] == [], f"{path}: " + "\n".join(report["errors"])


@pytest.mark.parametrize("path", PAGES)
def test_no_request_leaves_localhost(visits, path):
    report = visits(path)
    assert report["requests"] > 0
    assert report["external"] == [], f"{path} requested: {report['external']}"


@pytest.mark.parametrize("path", PAGES)
def test_math_is_typeset(visits, path):
    report = visits(path)
    problems = [f"not typeset: {m}" for m in report["untypeset"]]
    problems += [f"TeX error or undefined macro in: {m}" for m in report["mathErrors"]]
    problems += [f"raw TeX: {hit}" for hit in raw_tex(report["text"])]
    if report["mjxCount"] < report["mathCount"]:
        problems.append(f"{report['mathCount']} formulas, {report['mjxCount']} typeset")
    assert problems == [], f"{path}:\n" + "\n".join(problems)


def test_chapters_have_math(visits):
    """The chapters are full of formulas: guards the math check against a page
    whose math silently vanished (e.g. MathJax no longer included)."""
    for path in PAGES:
        if re.match(r"book/\d\d_", path):
            assert visits(path)["mjxCount"] > 0, f"{path}: no typeset math at all"


@pytest.mark.parametrize("path", PAGES)
def test_images_load(visits, path):
    report = visits(path)
    assert report["brokenImages"] == [], f"{path}: images not loaded: {report['brokenImages']}"


@pytest.mark.parametrize("path", PAGES)
def test_code_blocks_have_copy_button(visits, path):
    report = visits(path)
    assert report["noCopy"] == [], f"{path}: code without a copy button: {report['noCopy']}"


@pytest.mark.parametrize("path", PAGES)
def test_internal_links_resolve(visits, base_url, path):
    report = visits(path)
    broken = []
    for url in report["links"]:
        if not url.startswith(base_url):
            continue  # external links are not followed: the network is closed
        target = site_path(url, base_url)
        if not (SITE / target).is_file():
            broken.append(f"{url} (no file {target})")
            continue
        fragment = unquote(urlsplit(url).fragment)
        if fragment and target.endswith(".html") and fragment not in anchors(target):
            broken.append(f"{url} (no id {fragment!r} in {target})")
    assert broken == [], f"{path}: broken links:\n" + "\n".join(sorted(set(broken)))


# ------------------------------------------------------------ reader paths


def test_every_chapter_has_images_and_code(visits):
    """Every numbered chapter shows figures and code (and so the image and
    copy-button checks above are not vacuous)."""
    for path in PAGES:
        if re.match(r"book/\d\d_", path):
            report = visits(path)
            assert report["imageCount"] > 0, f"{path}: no images"
            assert report["codeCount"] > 0, f"{path}: no code blocks"


def test_hidden_solutions_open_on_click(visits):
    solutions = [(path, *s) for path in PAGES for s in visits(path)["solutions"]]
    assert solutions, "no dropdown solution anywhere in the book"
    closed = [s for s in solutions if not s[2]]
    assert closed == [], f"solutions visible before any click: {closed}"
    stuck = [s for s in solutions if not s[3]]
    assert stuck == [], f"solutions that do not open: {stuck}"


@pytest.mark.parametrize(
    ("query", "expected"),
    [("LSTM", "book/08_lstm.html"), ("backpropagation", "book/06_bptt.html")],
)
def test_search_finds(session, query, expected):
    """A reader types into the sidebar's search field and presses Enter."""
    page = session.goto(PAGES[0])
    page.locator(".bd-sidebar-primary button.search-button-field").click()
    field = page.locator("#pst-search-dialog input[name=q]")
    field.fill(query)
    field.press("Enter")
    page.wait_for_url(lambda u: site_path(u, session.base_url) == "search.html")
    assert parse_qs(urlsplit(page.url).query)["q"] == [query]
    page.wait_for_function(
        "() => /finished|did not match/.test("
        "document.querySelector('#search-results .search-summary')?.textContent || '')"
    )
    results = page.locator("#search-results ul.search li > a")
    hrefs = [site_path(a, session.base_url) for a in _hrefs(results)]
    assert expected in hrefs[:3], f"{query!r}: {expected} not in the first results {hrefs[:5]}"
    # a reader clicks the result and lands on the chapter
    results.nth(hrefs.index(expected)).click()
    page.wait_for_url(lambda u: site_path(u, session.base_url) == expected)
    assert session.errors == []
    assert session.external_requests() == []


def _hrefs(locator):
    return locator.evaluate_all("els => els.map(a => a.href)")


def test_next_and_previous_walk_the_whole_book(session):
    page = session.goto("index.html")  # the landing page redirects to the root
    page.wait_for_url(lambda u: site_path(u, session.base_url) == PAGES[0])
    walk = [session.path()]
    while page.locator("a.right-next").count() and len(walk) <= len(PAGES):
        page.locator("a.right-next").click()
        page.wait_for_url(
            lambda u: site_path(u, session.base_url) != walk[-1], wait_until="domcontentloaded"
        )
        walk.append(session.path())
    assert walk == PAGES, "next links do not follow the table of contents"
    back = [session.path()]
    while page.locator("a.left-prev").count() and len(back) <= len(PAGES):
        page.locator("a.left-prev").click()
        page.wait_for_url(
            lambda u: site_path(u, session.base_url) != back[-1], wait_until="domcontentloaded"
        )
        back.append(session.path())
    assert back == PAGES[::-1], "previous links do not walk the table of contents back"
    assert session.errors == []
    assert session.external_requests() == []


def test_sidebar_lists_the_table_of_contents(session):
    page = session.goto(PAGES[0])
    links = _hrefs(page.locator("nav.bd-docs-nav a.reference.internal"))
    listed = [site_path(u, session.base_url) for u in links]
    assert listed == PAGES, "the sidebar does not list the table of contents in order"


def test_copy_button_copies_the_code(browser, base_url):
    s = Session(browser, base_url, permissions=["clipboard-read", "clipboard-write"])
    try:
        page = s.goto("book/08_lstm.html")
        cell = page.locator("div.cell_input div.highlight").first
        cell.hover()
        cell.locator("button.copybtn").click()
        copied = page.evaluate("() => navigator.clipboard.readText()")
        code = cell.locator("pre").inner_text()
        assert copied.strip() == code.strip() and "import" in copied
        assert s.errors == []
    finally:
        s.close()


def test_screenshots(session):
    """Reader's-eye screenshots, kept as artifacts in _build/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shots = {}
    page = session.goto("index.html")
    page.wait_for_url(lambda u: site_path(u, session.base_url) == PAGES[0])
    wait_for_mathjax(page)
    page.evaluate("() => document.fonts.ready.then(() => true)")
    shots["landing.png"] = page.screenshot(path=SCREENSHOTS / "landing.png")
    page = session.goto("book/08_lstm.html")
    page.evaluate("() => document.fonts.ready.then(() => true)")
    shots["08_lstm.png"] = page.screenshot(path=SCREENSHOTS / "08_lstm.png")
    page.locator("div.math").first.scroll_into_view_if_needed()
    shots["08_lstm_math.png"] = page.screenshot(path=SCREENSHOTS / "08_lstm_math.png")
    for name, png in shots.items():
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000, name
    assert session.errors == []


def test_the_published_book_shows_no_assignment_answer():
    """Neither a page nor a downloadable source holds three lines in a row of an answer."""
    import html
    import json
    import re

    from autograder.edition import answer_windows, course_settings, holds_an_answer

    windows = answer_windows(ROOT, course_settings(ROOT)["ASSIGNMENTS"])
    assert len(windows) > 100
    scanned = 0
    for path in sorted(SITE.rglob("*")):
        if not path.is_file() or path.suffix not in (".html", ".ipynb", ".md", ".txt", ".py"):
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".html":
            text = html.unescape(re.sub(r"<[^>]+>", "", text))
        elif path.suffix == ".ipynb":
            text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"])
        scanned += 1
        found = holds_an_answer(text, windows)
        assert found is None, f"{path.relative_to(SITE)} shows an answer:\n{found}"
    assert scanned > 30
