import time
import pytest
from assistant import providers, services
from tests.assistant.chat_completions_server import ChatCompletionsServer, Scripted, completion

pytestmark = pytest.mark.django_db(transaction=True)

CASES = {
    "429 Retry-After 5 (x3)": [Scripted(429, {"error": {}}, headers={"Retry-After": "5"})] * 3,
    "429 Retry-After 1.5 (x3)": [Scripted(429, {"error": {}}, headers={"Retry-After": "1.5"})] * 3,
    "drip 1 byte/s": [Scripted(body=completion("x" * 50), drip=1.0)] * 3,
    "hang": [Scripted(hang=True)] * 3,
    "500 x3 (back-off)": [Scripted(500, {"error": {}})] * 3,
    "slow 1.9 s then 200": [Scripted(body=completion("late"), delay=1.9)] * 3,
}

@pytest.mark.parametrize("case", list(CASES))
def test_measure(case, settings, tenant):
    with ChatCompletionsServer() as server:
        settings.LLM_PROVIDER = "openai"
        settings.OPENAI_BASE_URL = server.base_url
        settings.OPENAI_API_KEY = "sk-test"
        settings.OPENAI_TIMEOUT = 2
        settings.OPENAI_MAX_RETRIES = 2
        settings.WAZEN_LLM_REPLY_DEADLINE = 5
        providers._provider.cache_clear()
        server.responses.extend(CASES[case])
        t = time.monotonic()
        r = services.reply_create(tenant=tenant, message="hi", conversation_id=None)
        el = time.monotonic() - t
        print(f"\nMEASURE {case}: {el:.2f} s, attempts={len(server.requests)}, apology={r.reply == services.APOLOGY}")
        providers._provider.cache_clear()
