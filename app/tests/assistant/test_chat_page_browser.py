"""The chat page in a real headless Chromium against the app under gunicorn: the key from the URL
fragment is used, a question gets an answer streamed through `POST /v1/chat/completions`, an order
shows as an order, an Arabic conversation renders right to left (a screenshot of it is kept with
the test's files), errors and a broken stream are told to the user, and the page's SSE reader
survives a network that cuts frames anywhere."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from testsupport.chat_completions import (
    ChatCompletionsServer,
    Scripted,
    provider_env,
    stream_frames,
)
from testsupport.live_server import GunicornApp

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


@pytest.fixture(scope="module")
def openai_app(tmp_path_factory, redis_server):
    """The app with the openai provider, its upstream the scripted chat-completions server."""
    if redis_server.process is None:
        redis_server.start()
    with ChatCompletionsServer() as upstream:
        app = GunicornApp(
            tmp_path_factory.mktemp("browser-openai"),
            redis_url=redis_server.url,
            extra_env=provider_env(upstream.base_url),
        ).start()
        try:
            yield app, app.seed_demo_key(), upstream
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
    """Send `text` and wait until the `count`-th reply has been read to its end."""
    page.fill("#message", text)
    page.click("#send")
    return page.wait_for_selector(f"li.assistant[data-state=done] >> nth={count - 1}")


def test_arabic_conversation_renders_right_to_left(live_app, browser):
    app, key = live_app
    page = browser.new_page(viewport={"width": 900, "height": 900})
    try:
        page.goto(app.url(f"/#key={key}"))
        page.wait_for_selector("#company:has-text('Wazen Demo Accounting')")

        reply = send(page, "كم سعر الرواتب؟", 1)
        assert "35.00 ريال" in reply.inner_text()
        assert "مسير الرواتب" in reply.inner_text()
        proposal = send(page, "نعم", 2)
        assert "يرجى تأكيد طلبك: مسير الرواتب × 1" in proposal.inner_text()
        assert "proposal" in proposal.get_attribute("class")
        order = send(page, "نعم", 3)
        assert "تم تسجيل طلبك رقم" in order.inner_text()
        assert "order" in order.get_attribute("class")
        status = send(page, "وين طلبي؟", 4)
        assert "قيد الانتظار" in status.inner_text()
        english = send(page, "How much is VAT filing?", 5)
        assert "450.00 SAR" in english.inner_text()

        items = page.query_selector_all("#log li")
        assert [i.get_attribute("dir") for i in items] == ["rtl"] * 8 + ["ltr"] * 2
        assert [i.get_attribute("lang") for i in items] == ["ar"] * 8 + ["en"] * 2
        directions = [i.evaluate("e => getComputedStyle(e).direction") for i in items]
        assert directions == ["rtl"] * 8 + ["ltr"] * 2
        sides = [i.evaluate(FIRST_CHARACTER_SIDE) for i in items]
        assert sides == ["right"] * 8 + ["left"] * 2, sides

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

    reply = send(page, "How much is VAT filing?", 1)
    assert "450.00 SAR" in reply.inner_text()

    proposal = send(page, "order it", 2)  # the same conversation, continued by its id
    assert "proposal" in proposal.get_attribute("class")
    assert "Please confirm your order: VAT Filing × 1" in proposal.inner_text()
    assert "Your order #" not in proposal.inner_text()
    page.screenshot(path=str(app.directory / "chat-proposal.png"), full_page=True)
    proposal.query_selector("button.confirm").click()  # sends "yes"
    order = page.wait_for_selector("li.assistant[data-state=done] >> nth=2")
    assert page.query_selector_all("li.user")[-1].inner_text() == "yes"
    assert "order" in order.get_attribute("class")
    assert "Your order #" in order.inner_text()
    assert "VAT Filing" in order.inner_text()
    assert proposal.query_selector("button.confirm").is_disabled()
    assert page.is_enabled("#send")
    page.screenshot(path=str(app.directory / "chat.png"), full_page=True)
    page.close()


COMPLETIONS = "**/v1/chat/completions"


def frame(delta: dict, finish: str | None = None, **metadata: object) -> str:
    """One `data:` frame of the chat-completions stream, as the endpoint writes it."""
    chunk: dict = {
        "id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1764500000,
        "model": "wazen-demo", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }  # fmt: skip
    if metadata:
        chunk["metadata"] = metadata
    return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"


def open_page(browser, app, key: str):
    page = browser.new_page()
    page.goto(app.url(f"/#key={key}"))
    page.wait_for_selector("#company:has-text('Wazen Demo Accounting')")
    return page


def test_an_error_response_is_shown_with_its_message(live_app, browser):
    """A refusal in OpenAI's error shape: its message (and Retry-After) shown, no empty bubble,
    the send button usable again; the next message goes through."""
    app, key = live_app
    page = open_page(browser, app, key)
    try:
        error = {"message": "Too many requests for this API key.", "type": "rate_limit_error",
                 "param": None, "code": "rate_limited"}  # fmt: skip
        page.route(
            COMPLETIONS,
            lambda route: route.fulfill(
                status=429, headers={"Retry-After": "17"}, content_type="application/json",
                body=json.dumps({"error": error}),
            ),
            times=1,
        )  # fmt: skip
        page.fill("#message", "How much is payroll?")
        page.click("#send")
        page.wait_for_selector("#error:not([hidden])")
        assert page.inner_text("#error") == "Too many requests for this API key. Retry in 17 s."
        assert page.query_selector_all("li.assistant") == []
        assert len(page.query_selector_all("li.user")) == 1
        assert page.is_enabled("#send")

        reply = send(page, "How much is payroll?", 1)
        assert "35.00 SAR" in reply.inner_text()
        assert page.is_hidden("#error")
    finally:
        page.close()


NEVER_STORED = "0b7c3a52-2f43-4c1e-9a7e-5d1f4a0e9c11"
STORE_FAILED = {"message": "The reply could not be stored.", "type": "server_error",
                "param": None, "code": "database_unavailable"}  # fmt: skip


@pytest.mark.parametrize(
    ("end", "reason"),
    [
        ("", "The connection closed before the reply was complete."),
        (f"data: {json.dumps({'error': STORE_FAILED})}\n\n", STORE_FAILED["message"]),
    ],
    ids=["cut-off", "error-frame"],
)
def test_an_interrupted_stream_keeps_what_arrived_and_says_so(live_app, browser, end, reason):
    """The stream ends without its last chunk and [DONE] (cut off, or with OpenAI's in-stream
    error frame): the bubble keeps the text that arrived, in the language the first chunk named,
    and says the reply was interrupted; the next message starts a new conversation."""
    app, key = live_app
    page = open_page(browser, app, key)
    try:
        body = (
            # a conversation the server never stored: the page must not continue it
            frame({"role": "assistant", "content": ""}, language="ar", conversation_id=NEVER_STORED)
            + frame({"content": "سعر مسير الرواتب "})
            + frame({"content": "35.00 ريال"})
            + end
        )
        page.route(
            COMPLETIONS,
            lambda route: route.fulfill(status=200, content_type="text/event-stream", body=body),
            times=1,
        )
        page.fill("#message", "How much is payroll?")
        page.click("#send")
        bubble = page.wait_for_selector("li.assistant[data-state=interrupted]")
        assert bubble.evaluate("e => e.firstChild.data") == "سعر مسير الرواتب 35.00 ريال"
        assert bubble.inner_text().endswith("انقطع الرد.")  # "the reply was interrupted"
        assert (bubble.get_attribute("lang"), bubble.get_attribute("dir")) == ("ar", "rtl")
        assert page.inner_text("#error") == (
            f"The reply was interrupted: {reason} Send your message again to retry."
        )
        assert page.is_enabled("#send")

        reply = send(page, "How much is VAT filing?", 1)
        assert "450.00 SAR" in reply.inner_text()
        assert page.is_hidden("#error")
    finally:
        page.close()


# Every change in the reply log, with the newest reply's text, state and the send button's state.
RECORD_REPLY_TEXT = """() => {
  window.seen = [];
  const log = document.getElementById("log"), send = document.getElementById("send");
  new MutationObserver(() => {
    const bubble = [...log.querySelectorAll("li.assistant")].pop();
    if (!bubble) return;
    window.seen.push({ ms: performance.now(), text: bubble.firstChild.data,
                       state: bubble.dataset.state, disabled: send.disabled });
  }).observe(log, { subtree: true, childList: true, characterData: true, attributes: true });
}"""

TOKENS = ["Payroll ", "costs ", "35.00 SAR ", "per ", "employee ", "per ", "month, ", "payslips ",
          "and ", "WPS ", "file ", "included."]  # fmt: skip
TOKEN_SECONDS = 0.12


def test_chat_page_shows_a_streamed_reply(openai_app, browser):
    """The model's tokens reach the bubble as they are produced: the page showed the reply
    growing, word by word, for about as long as the model took, and then all of it."""
    app, key, upstream = openai_app
    upstream.responses.append(Scripted(stream=stream_frames(TOKENS, delay=TOKEN_SECONDS)))
    page = open_page(browser, app, key)
    try:
        page.evaluate(RECORD_REPLY_TEXT)
        page.fill("#message", "How much is payroll?")
        page.click("#send")
        bubble = page.wait_for_selector("li.assistant[data-state=done]")
        seen = page.evaluate("window.seen")

        final = "".join(TOKENS)
        assert bubble.evaluate("e => e.firstChild.data") == final
        assert upstream.requests[-1]["body"]["stream"] is True
        partial = [s for s in seen if s["text"] and s["text"] != final]
        shown = list(dict.fromkeys(s["text"] for s in partial))
        assert len(shown) >= len(TOKENS) // 2, shown  # most tokens drawn on their own
        assert all(final.startswith(text) for text in shown)
        assert [len(t) for t in shown] == sorted(len(t) for t in shown)  # only ever growing
        complete_at = next(s["ms"] for s in seen if s["text"] == final)
        # The upstream waits TOKEN_SECONDS before each frame: the first words were on screen
        # at least that long times the tokens still to come before the reply was complete.
        assert complete_at - partial[0]["ms"] >= TOKEN_SECONDS * 1e3 * (len(TOKENS) - 2)
        assert all(s["disabled"] and s["state"] == "streaming" for s in partial)
        assert page.is_enabled("#send")
    finally:
        page.close()


SSE_JS = Path(__file__).resolve().parents[2] / "assistant" / "static" / "assistant" / "sse.js"

# Every way the network may cut `wire` into reads: whole, byte by byte, and in two pieces at every
# byte (inside a UTF-8 character, between "\r" and "\n", between frames); the events each gave.
READ_IN_PIECES = """async (wire) => {
  const bytes = new TextEncoder().encode(wire);
  async function events(pieces) {
    const stream = new ReadableStream({
      start(c) { pieces.forEach((p) => c.enqueue(p)); c.close(); },
    });
    const seen = [];
    await WazenSSE.readEvents(new Response(stream), (data) => seen.push(data));
    return JSON.stringify(seen);
  }
  const ways = new Set([await events([bytes])]);
  ways.add(await events(Array.from(bytes, (b) => new Uint8Array([b]))));
  for (let i = 1; i < bytes.length; i++) {
    ways.add(await events([bytes.slice(0, i), bytes.slice(i)]));
  }
  return [...ways].map((w) => JSON.parse(w));
}"""

BROKEN_STREAM = """async (wire) => {
  const stream = new ReadableStream({ start(c) {
    c.enqueue(new TextEncoder().encode(wire));
    setTimeout(() => c.error(new TypeError("network error")), 20);
  } });
  const seen = [];
  try {
    await WazenSSE.readEvents(new Response(stream), (data) => seen.push(data));
    return { seen, error: null };
  } catch (e) {
    return { seen, error: e.message };
  }
}"""


def test_sse_reader_gets_whole_events_however_the_network_cuts_them(browser):
    page = browser.new_page()
    try:
        page.add_script_tag(path=str(SSE_JS))
        wire = (
            ": keep-alive comment\n\n"
            + frame({"content": "كم سعر الرواتب؟"}).replace("\n\n", "\r\n\r\n")
            + 'data: {"a": 1}\ndata: {"b": 2}\n\n'  # two data lines: one event, joined by \n
            + "data: x\r\ndata: y\r\n\r\n"
            + "event: ignored\nid: 7\ndata:no-space\r\r"
            + "data: [DONE]\n\n"
            + "data: cut off by the end of the stream"
        )
        expected = [
            frame({"content": "كم سعر الرواتب؟"})[len("data: ") : -2],
            '{"a": 1}\n{"b": 2}',
            "x\ny",
            "no-space",
            "[DONE]",
        ]
        assert page.evaluate(READ_IN_PIECES, wire) == [expected]
        # A stream whose last line ends with a lone "\r": that event is whole.
        assert page.evaluate(READ_IN_PIECES, "data: last\r\r") == [["last"]]
        # The connection breaks: the events before it were delivered, then the read fails.
        broken = page.evaluate(BROKEN_STREAM, frame({"content": "Payroll "}) + "data: {")
        assert broken == {"seen": [frame({"content": "Payroll "})[6:-2]], "error": "network error"}
    finally:
        page.close()
