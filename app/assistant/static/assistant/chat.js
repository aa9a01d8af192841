// The try-it page: talks to the JSON API with the key from the URL fragment (#key=…), which
// browsers never send to the server, or from the key field; the key stays in sessionStorage.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const log = $("log"), error = $("error"), keyInput = $("api-key");
  let conversationId = null;

  const fragmentKey = new URLSearchParams(location.hash.slice(1)).get("key");
  if (fragmentKey) {
    sessionStorage.setItem("wazen-key", fragmentKey);
    history.replaceState(null, "", location.pathname);
  }
  keyInput.value = sessionStorage.getItem("wazen-key") || "";

  // Each message gets its own direction: an Arabic reply reads right to left even when it
  // quotes an English service name, and an English one stays left to right.
  const ARABIC = /[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]/g;
  const LATIN = /[A-Za-z]/g;
  function language(text) {
    const arabic = (text.match(ARABIC) || []).length;
    return arabic > (text.match(LATIN) || []).length ? "ar" : "en";
  }

  function add(role, text, extraClass) {
    const item = document.createElement("li");
    item.className = role + (extraClass ? " " + extraClass : "");
    item.lang = language(text);
    item.dir = item.lang === "ar" ? "rtl" : "ltr";
    item.textContent = text;
    log.appendChild(item);
    item.scrollIntoView({ block: "end" });
  }

  function showError(message) {
    error.textContent = message;
    error.hidden = !message;
  }

  async function api(path, options) {
    const response = await fetch(path, {
      ...options,
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + keyInput.value.trim() },
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error((body.error && body.error.message) || "Request failed (" + response.status + ")");
    }
    return body;
  }

  async function loadCompany() {
    showError("");
    try {
      const catalog = await api("/api/v1/services", { method: "GET" });
      $("company").textContent = catalog.company.name + " · " + catalog.services.length + " services";
    } catch (e) {
      $("company").textContent = "";
      showError(e.message);
    }
  }

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem("wazen-key", keyInput.value.trim());
    conversationId = null;
    log.replaceChildren();
    loadCompany();
  });

  $("chat-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("message"), button = $("send");
    const message = input.value.trim();
    if (!message) return;
    showError("");
    add("user", message);
    input.value = "";
    button.disabled = true;
    try {
      const body = await api("/api/v1/chat", {
        method: "POST",
        body: JSON.stringify(conversationId ? { message, conversation_id: conversationId } : { message }),
      });
      conversationId = body.conversation_id;
      add("assistant", body.reply, body.order ? "order" : "");
    } catch (e) {
      showError(e.message);
    } finally {
      button.disabled = false;
      input.focus();
    }
  });

  if (keyInput.value) loadCompany();
})();
