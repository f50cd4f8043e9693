"""Real Chromium (Debian's /usr/bin/chromium) driven by Playwright against a live server.

Playwright's sync API runs an event loop; in the test's own thread that changes which database
connection Django hands out. So the browser lives in one dedicated thread for the session, and a
test passes it the browser steps to run (`in_browser(steps)`), keeping ORM calls in the test
thread before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import pytest

from tests.factories import totp_code
from tests.services import CHROMIUM

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PASSWORD = "correct horse battery staple"
T = TypeVar("T")


class BrowserThread:
    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chromium")
        self._playwright = None
        self._browser = None
        self._executor.submit(self._start).result()

    def _start(self) -> None:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )

    def _run(self, steps: Callable) -> object:
        context = self._browser.new_context(locale="en-GB")
        context.set_default_timeout(15_000)
        try:
            return steps(context.new_page())
        finally:
            context.close()

    def run(self, steps: Callable[..., T]) -> T:
        return self._executor.submit(self._run, steps).result()

    def start(self, steps: Callable[..., T]) -> Future[T]:
        """Run `steps` without waiting: the test thread meanwhile changes the database (say,
        runs a job) while the page is open."""
        return self._executor.submit(self._run, steps)

    def close(self) -> None:
        def stop() -> None:
            self._browser.close()
            self._playwright.stop()

        self._executor.submit(stop).result()
        self._executor.shutdown()


@pytest.fixture(scope="session")
def browser_thread():
    thread = BrowserThread()
    yield thread
    thread.close()


@pytest.fixture
def in_browser(browser_thread, live_server):
    """`in_browser(steps)` runs `steps(page, base_url)` in Chromium and returns its result;
    `in_browser.start(steps)` returns at once with a Future of it."""

    def run(steps: Callable) -> object:
        return browser_thread.run(lambda page: steps(page, live_server.url))

    run.start = lambda steps: browser_thread.start(lambda page: steps(page, live_server.url))
    return run


def sign_in(
    page, base_url: str, username: str, password: str = PASSWORD, *, totp_key: bytes | None = None
) -> None:
    """Sign in through the login form; approving officers and administrators also type the
    code of their authenticator app, computed here from their device's key (`device.bin_key`,
    read in the test thread: no ORM in the browser's)."""
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    if totp_key is not None:
        page.wait_for_url(f"{base_url}/login/code/**")
        page.get_by_label("Code").fill(totp_code(totp_key))
        page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"{base_url}/")
