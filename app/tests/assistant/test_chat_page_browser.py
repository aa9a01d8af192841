"""The chat page in a real headless Chromium against the app under gunicorn: the key from the URL
fragment is used, a question gets an answer, an order shows as an order, and an Arabic
conversation renders right to left (a screenshot of it is kept with the test's files)."""

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


@pytest.fixture(scope="module")
def live_app(tmp_path_factory, redis_server):
    if redis_server.process is None:
        redis_server.start()
    app = GunicornApp(tmp_path_factory.mktemp("browser"), redis_url=redis_server.url).start()
    try:
        yield app, app.seed_demo_key()
    finally:
        app.stop()


# Where, inside its bubble, a message's first character is drawn: "right" for right-to-left.
FIRST_CHARACTER_SIDE = """(item) => {
  const range = document.createRange();
  range.setStart(item.firstChild, 0);
  range.setEnd(item.firstChild, 1);
  const glyph = range.getBoundingClientRect(), box = item.getBoundingClientRect();
  return glyph.left - box.left > box.right - glyph.right ? "right" : "left";
}"""


def send(page, text: str, count: int):
    page.fill("#message", text)
    page.click("#send")
    return page.wait_for_selector(f"li.assistant >> nth={count - 1}")


def test_arabic_conversation_renders_right_to_left(live_app, browser):
    app, key = live_app
    page = browser.new_page(viewport={"width": 900, "height": 900})
    try:
        page.goto(app.url(f"/#key={key}"))
        page.wait_for_selector("#company:has-text('Wazen Demo Accounting')")

        reply = send(page, "كم سعر الرواتب؟", 1)
        assert "35.00 ريال" in reply.inner_text()
        assert "مسير الرواتب" in reply.inner_text()
        order = send(page, "نعم", 2)
        assert "تم تسجيل طلبك رقم" in order.inner_text()
        assert "order" in order.get_attribute("class")
        status = send(page, "وين طلبي؟", 3)
        assert "قيد الانتظار" in status.inner_text()
        english = send(page, "How much is VAT filing?", 4)
        assert "450.00 SAR" in english.inner_text()

        items = page.query_selector_all("#log li")
        assert [i.get_attribute("dir") for i in items] == ["rtl"] * 6 + ["ltr"] * 2
        assert [i.get_attribute("lang") for i in items] == ["ar"] * 6 + ["en"] * 2
        directions = [i.evaluate("e => getComputedStyle(e).direction") for i in items]
        assert directions == ["rtl"] * 6 + ["ltr"] * 2
        sides = [i.evaluate(FIRST_CHARACTER_SIDE) for i in items]
        assert sides == ["right"] * 6 + ["left"] * 2, sides

        shot = app.directory / "chat-arabic.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert shot.stat().st_size > 10_000  # a rendered page, not an empty canvas
    finally:
        page.close()


def test_chat_page_answers_and_orders(live_app, browser):
    app, key = live_app
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
    page.close()
