"""The chat page in a real headless Chromium against the app under gunicorn: the key from the URL
fragment is used, a question gets an answer, an order shows as an order."""

from __future__ import annotations

import shutil

import pytest

from tests.ops.live_server import GunicornApp

pytestmark = pytest.mark.slow

CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    "--disable-dev-shm-usage",
]  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    assert executable, "chromium not found: `make test` installs it (apt-get install chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_chat_page_answers_and_orders(tmp_path_factory, redis_server, browser):
    if redis_server.process is None:
        redis_server.start()
    app = GunicornApp(tmp_path_factory.mktemp("browser"), redis_url=redis_server.url).start()
    try:
        key = app.seed_demo_key()
        page = browser.new_page()
        page.goto(app.url(f"/#key={key}"))
        page.wait_for_selector("#company:has-text('Wazen Demo Accounting')")
        assert "key=" not in page.url  # the key leaves the address bar

        page.fill("#message", "How much is VAT filing?")
        page.click("#send")
        reply = page.wait_for_selector("li.assistant")
        assert "450.00 SAR" in reply.inner_text()

        page.fill("#message", "order it")
        page.click("#send")
        order = page.wait_for_selector("li.assistant.order")
        assert "Your order #" in order.inner_text()
        page.screenshot(path=str(app.directory / "chat.png"), full_page=True)
    finally:
        app.stop()
