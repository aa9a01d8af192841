// The try-it page: talks to the OpenAI-compatible API (POST /v1/chat/completions, streamed) with
// the key from the URL fragment (#key=…), which browsers never send to the server, or from the
// key field; the key stays in sessionStorage. Replies are drawn as their chunks arrive.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const log = $("log"), error = $("error"), keyInput = $("api-key");
  let conversationId = null;
  let company = null; // {key, slug}: the assistant ("model") the key talks to
  let streaming = null; // the AbortController of the reply being read

  const fragmentKey = new URLSearchParams(location.hash.slice(1)).get("key");
  if (fragmentKey) {
    sessionStorage.setItem("wazen-key", fragmentKey);
    history.replaceState(null, "", location.pathname);
  }
  keyInput.value = sessionStorage.getItem("wazen-key") || "";
  const currentKey = () => keyInput.value.trim();

  // Each message gets its own direction: an Arabic reply reads right to left even when it
  // quotes an English service name, and an English one stays left to right. The customer's
  // messages are read by their letters; the assistant's language comes with its first chunk.
  const ARABIC = /[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]/g;
  const LATIN = /[A-Za-z]/g;
  function language(text) {
    const arabic = (text.match(ARABIC) || []).length;
    return arabic > (text.match(LATIN) || []).length ? "ar" : "en";
  }

  function setLanguage(item, lang) {
    item.lang = lang === "ar" ? "ar" : "en";
    item.dir = item.lang === "ar" ? "rtl" : "ltr";
  }

  // A bubble's first child is always its text node (chunks are appended to it); notes follow.
  function add(role, text, lang) {
    const item = document.createElement("li");
    item.className = role;
    setLanguage(item, lang || language(text));
    item.appendChild(document.createTextNode(text));
    log.appendChild(item);
    item.scrollIntoView({ block: "end" });
    return item;
  }

  function showError(message) {
    error.textContent = message;
    error.hidden = !message;
  }

  function headers() {
    return { "Content-Type": "application/json", Authorization: "Bearer " + currentKey() };
  }

  // The message of an error response: the OpenAI shape {"error": {"message", ...}}.
  async function errorMessage(response) {
    const body = await response.json().catch(() => ({}));
    const retry = response.headers.get("Retry-After");
    const message = (body.error && body.error.message) || "Request failed (" + response.status + ").";
    return retry && response.status === 429 ? message + " Retry in " + retry + " s." : message;
  }

  async function loadCompany() {
    showError("");
    const key = currentKey();
    try {
      const response = await fetch("/api/v1/services", { headers: headers() });
      if (!response.ok) throw new Error(await errorMessage(response));
      const catalog = await response.json();
      company = { key, slug: catalog.company.slug };
      $("company").textContent = catalog.company.name + " · " + catalog.services.length + " services";
    } catch (e) {
      company = null;
      $("company").textContent = "";
      showError(e.message);
    }
  }

  const INTERRUPTED = { en: "The reply was interrupted.", ar: "انقطع الرد." };

  // Reads one streamed reply into `bubble`: chat.completion.chunk frames, then "data: [DONE]".
  async function streamReply(message, bubble, signal) {
    const request = { model: company.slug, messages: [{ role: "user", content: message }], stream: true };
    if (conversationId) request.metadata = { conversation_id: conversationId };
    const response = await fetch("/v1/chat/completions", {
      method: "POST", headers: { ...headers(), Accept: "text/event-stream" },
      body: JSON.stringify(request), signal,
    });
    if (!response.ok) throw new Error(await errorMessage(response));
    if (!(response.headers.get("Content-Type") || "").startsWith("text/event-stream")) {
      throw new Error("The server answered without a stream (" + response.status + ").");
    }
    bubble.dataset.state = "streaming";
    const text = bubble.firstChild;
    let done = false;
    // A new conversation is continued only once its first reply is complete: a reply cut off
    // before its end may not have been stored, and the next message then starts afresh.
    let replyConversation = conversationId;
    await WazenSSE.readEvents(response, (data) => {
      if (data === "[DONE]") {
        done = true;
        return;
      }
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message || "The server stopped the reply.");
      const meta = chunk.metadata || {};
      if (meta.conversation_id) replyConversation = meta.conversation_id;
      if (meta.language) setLanguage(bubble, meta.language);
      if (meta.order) bubble.classList.add("order");
      if (meta.proposal) bubble.classList.add("proposal");
      const choice = (chunk.choices || [])[0];
      const delta = choice && choice.delta && choice.delta.content;
      if (typeof delta === "string" && delta) {
        text.appendData(delta);
        bubble.scrollIntoView({ block: "end" });
      }
    });
    if (!done) throw new Error("The connection closed before the reply was complete.");
    conversationId = replyConversation;
    if (bubble.classList.contains("proposal")) addConfirm(bubble);
  }

  // A proposed order is placed only when the customer's next message says yes: the button sends
  // exactly that message ("yes" / "نعم"), like typing it.
  const CONFIRM = {
    en: { label: "Yes, place the order", say: "yes" },
    ar: { label: "نعم، سجّل الطلب", say: "نعم" },
  };
  function addConfirm(bubble) {
    const words = CONFIRM[bubble.lang] || CONFIRM.en;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "confirm";
    button.textContent = words.label;
    button.addEventListener("click", () => {
      $("message").value = words.say;
      $("chat-form").requestSubmit();
    });
    bubble.appendChild(document.createElement("br"));
    bubble.appendChild(button);
  }

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem("wazen-key", currentKey());
    if (streaming) streaming.abort();
    conversationId = null;
    log.replaceChildren();
    loadCompany();
  });

  $("chat-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("message"), button = $("send");
    const message = input.value.trim();
    if (!message || streaming) return;
    showError("");
    // A proposal is answered by the very next message, whatever it is: its button is spent.
    log.querySelectorAll("button.confirm").forEach((button) => { button.disabled = true; });
    const controller = new AbortController();
    streaming = controller;
    button.disabled = true;
    let bubble = null;
    try {
      if (!company || company.key !== currentKey()) await loadCompany();
      if (!company || controller.signal.aborted) return;
      add("user", message);
      input.value = "";
      bubble = add("assistant", "", language(message));
      bubble.dataset.state = "waiting";
      bubble.setAttribute("aria-busy", "true");
      await streamReply(message, bubble, controller.signal);
      bubble.dataset.state = "done";
    } catch (e) {
      if (controller.signal.aborted) return; // the key changed: that conversation is gone
      const reason = e instanceof TypeError ? "The connection failed (" + e.message + ")." : e.message;
      if (bubble && bubble.dataset.state !== "streaming") {
        bubble.remove(); // refused before a word was said: the error is the answer
        showError(reason);
      } else if (bubble) {
        // Keep what arrived, and say that it is not the whole reply.
        bubble.dataset.state = "interrupted";
        const note = document.createElement("span");
        note.className = "note";
        note.textContent = INTERRUPTED[bubble.lang] || INTERRUPTED.en;
        bubble.appendChild(note);
        showError("The reply was interrupted: " + reason + " Send your message again to retry.");
      } else {
        showError(reason);
      }
    } finally {
      if (bubble) bubble.removeAttribute("aria-busy");
      if (streaming === controller) streaming = null;
      button.disabled = false;
      input.focus();
    }
  });

  if (keyInput.value) loadCompany();
})();
