"""Open the built documentation site in headless Chromium and check it.

    python docs/check_site.py docs/_build/html

Serves the folder on 127.0.0.1 and drives Debian's Chromium (or the browser
named by ``AIOLOOP_CHROMIUM``) through Playwright, with a fresh profile and
no network beyond the local server. Checks that the home page and one page of
each section render without script errors, that the navigation and the
search work, and that no internal link of any page (followed from the home
page) is broken, anchors included. Without Chromium the check fails when
``CI`` is set, and is skipped with a message otherwise. Exit status 0 when
every check passed.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: One page per section of the site, and what its main heading says.
SECTION_PAGES = {
    "getting-started.html": "Getting started",
    "how-to/index.html": "How-to guides",
    "how-to/migrate.html": "Migrate from pytest-asyncio",
    "concepts/index.html": "Concepts",
    "concepts/loop-scopes.html": "Loop scope and fixture scope",
    "reference/index.html": "Reference",
    "reference/options.html": "Configuration options",
    "reference/aioloop.html": "aioloop",
    "changelog.html": "Changelog",
    "benchmarks.html": "Benchmarks",
}
#: A word the search must find, and a page it must list.
SEARCH = ("uvloop", "several-backends.html")


def find_chromium() -> str | None:
    named = os.environ.get("AIOLOOP_CHROMIUM")
    if named:
        return named
    for candidate in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(candidate)
        if found:
            return found
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(root: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class Checker:
    def __init__(self, page: object, base: str) -> None:
        self.page = page
        self.base = base
        self.problems: list[str] = []
        self.script_errors: list[str] = []
        page.on("pageerror", lambda error: self.script_errors.append(str(error)))  # type: ignore[attr-defined]
        page.on(  # type: ignore[attr-defined]
            "console",
            lambda message: (
                message.type == "error" and self.script_errors.append(message.text)
            ),
        )

    def fail(self, problem: str) -> None:
        print(f"FAIL {problem}")
        self.problems.append(problem)

    def open(self, path: str) -> bool:
        self.script_errors.clear()
        response = self.page.goto(urljoin(self.base, path))  # type: ignore[attr-defined]
        if response is None or response.status != 200:
            self.fail(f"{path}: status {response and response.status}")
            return False
        self.page.wait_for_load_state("load")  # type: ignore[attr-defined]
        if self.script_errors:
            self.fail(f"{path}: script errors: {self.script_errors}")
        return True

    def heading(self) -> str:
        text: str = self.page.locator("article h1").first.inner_text()  # type: ignore[attr-defined]
        return text.replace("#", "").replace("\u00b6", "").strip()

    def check_home(self) -> None:
        if not self.open("index.html"):
            return
        if "pytest-aioloop" not in self.page.title():  # type: ignore[attr-defined]
            self.fail(f"home page title: {self.page.title()!r}")  # type: ignore[attr-defined]
        hrefs = self.page.eval_on_selector_all(  # type: ignore[attr-defined]
            ".sidebar-tree a", "links => links.map(a => a.getAttribute('href'))"
        )
        for wanted in (
            "getting-started.html",
            "how-to/index.html",
            "concepts/index.html",
            "reference/index.html",
            "changelog.html",
            "benchmarks.html",
        ):
            if wanted not in hrefs:
                self.fail(f"home page: no navigation link to {wanted} in {hrefs}")
        print(f"ok   home page: {len(hrefs)} navigation links")

    def check_sections(self) -> None:
        for path, title in SECTION_PAGES.items():
            if not self.open(path):
                continue
            heading = self.heading()
            text = self.page.locator("article").inner_text()  # type: ignore[attr-defined]
            if title not in heading:
                self.fail(f"{path}: heading {heading!r}, expected {title!r}")
            elif len(text) < 150:
                self.fail(f"{path}: only {len(text)} characters of text")
            else:
                print(f"ok   {path}: {heading!r}, {len(text)} characters")
        # Generated reference: the options table and the API entries.
        self.open("reference/options.html")
        rows = self.page.locator("article table tbody tr").count()  # type: ignore[attr-defined]
        if rows < 7:
            self.fail(f"reference/options.html: {rows} rows in the options table")
        self.open("reference/aioloop.html")
        for name in ("aioloop.load_backend", "aioloop.Backend", "aioloop.BackendError"):
            if self.page.locator(f"[id='{name}']").count() != 1:  # type: ignore[attr-defined]
                self.fail(f"reference/aioloop.html: no entry for {name}")

    def check_navigation(self) -> None:
        self.open("index.html")
        self.page.locator(".sidebar-tree a", has_text="Getting started").first.click()  # type: ignore[attr-defined]
        self.page.wait_for_load_state("load")  # type: ignore[attr-defined]
        if not self.page.url.endswith("getting-started.html"):  # type: ignore[attr-defined]
            self.fail(f"navigation: clicking 'Getting started' led to {self.page.url}")  # type: ignore[attr-defined]
            return
        self.page.locator("a.next-page").first.click()  # type: ignore[attr-defined]
        self.page.wait_for_load_state("load")  # type: ignore[attr-defined]
        if not self.page.url.endswith("how-to/index.html"):  # type: ignore[attr-defined]
            self.fail(f"navigation: 'next' from Getting started led to {self.page.url}")  # type: ignore[attr-defined]
            return
        print(f"ok   navigation: sidebar and next links lead to {self.heading()!r}")

    def check_search(self) -> None:
        word, expected = SEARCH
        self.open(f"search.html?q={word}")
        # Sphinx lists the results one by one, then writes a summary.
        summary = self.page.locator("p.search-summary", has_text="found")  # type: ignore[attr-defined]
        try:
            summary.wait_for(timeout=15_000)
        except Exception as error:
            self.fail(f"search for {word!r}: it never finished ({error})")
            return
        results = self.page.locator("ul.search li")  # type: ignore[attr-defined]
        links = self.page.eval_on_selector_all(  # type: ignore[attr-defined]
            "ul.search li a", "links => links.map(a => a.href)"
        )
        if not any(expected in link for link in links):
            self.fail(f"search for {word!r}: {expected} not among {links}")
            return
        print(f"ok   search for {word!r}: {results.count()} results")

    def check_links(self) -> None:
        """Follow every same-site link from the home page; check pages and anchors."""
        ids: dict[str, set[str]] = {}
        anchors: list[tuple[str, str, str]] = []  # (page, target page, fragment)
        home = urljoin(self.base, "index.html")
        queue = [home]
        linked_from = {home: "(start)"}
        while queue:
            url = queue.pop()
            path = urlsplit(url).path
            if not path.endswith(".html"):
                response = self.page.request.get(url)  # type: ignore[attr-defined]
                if response.status != 200:
                    self.fail(f"{linked_from[url]}: link to {path}: {response.status}")
                continue
            if not self.open(url):
                print(f"     (linked from {linked_from[url]})")
                continue
            ids[url] = set(
                self.page.eval_on_selector_all(  # type: ignore[attr-defined]
                    "[id]", "nodes => nodes.map(n => n.id)"
                )
            )
            hrefs = self.page.eval_on_selector_all(  # type: ignore[attr-defined]
                "a[href]", "links => links.map(a => a.href)"
            )
            for href in hrefs:
                target, fragment = urldefrag(href)
                if not target.startswith(self.base):
                    continue
                if fragment:
                    anchors.append((url, target, fragment))
                if target not in linked_from:
                    linked_from[target] = url
                    queue.append(target)
        for page, target, fragment in anchors:
            if target in ids and fragment not in ids[target]:
                self.fail(f"{page}: link to {target}#{fragment}: no such anchor")
        print(f"ok   links: {len(ids)} pages, {len(anchors)} anchors checked")


def main(root: Path) -> int:
    if not (root / "index.html").is_file():
        print(f"no built site in {root}: run sphinx-build first")
        return 1
    chromium = find_chromium()
    if chromium is None:
        message = (
            "Chromium not found (/usr/bin/chromium; set AIOLOOP_CHROMIUM or "
            "install Debian's 'chromium' package)"
        )
        if os.environ.get("CI"):
            print(f"FAIL {message}: the site check cannot run on CI")
            return 1
        print(f"SKIPPED the site check: {message}")
        return 0

    from playwright.sync_api import sync_playwright

    with (
        serve(root) as base,
        sync_playwright() as playwright,
        tempfile.TemporaryDirectory() as profile,
    ):
        browser = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        try:
            checker = Checker(browser.new_page(), base)
            checker.check_home()
            checker.check_sections()
            checker.check_navigation()
            checker.check_search()
            checker.check_links()
        finally:
            browser.close()
    if checker.problems:
        print(f"{len(checker.problems)} problem(s) in the built site")
        return 1
    print("the built site passed every check")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/_build/html")))
