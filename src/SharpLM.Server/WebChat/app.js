// SharpLM web chat. Talks to this server's OpenAI API only: GET /v1/models fills the model picker, and each turn is
// POST /v1/chat/completions with stream: true, read as server-sent events from the response body. Model text is
// only ever put into the page as text nodes (textContent), never parsed as HTML.
"use strict";

(() => {
  const KEY_STORAGE = "sharplm.apiKey";
  const MODEL_STORAGE = "sharplm.model";
  const $ = (id) => document.getElementById(id);
  const ui = {
    model: $("model"), temperature: $("temperature"), temperatureValue: $("temperature-value"),
    topP: $("top-p"), topPValue: $("top-p-value"), maxTokens: $("max-tokens"),
    keyButton: $("key-button"), newChat: $("new-chat"), log: $("log"), empty: $("empty"),
    prompt: $("prompt"), send: $("send"), stop: $("stop"), status: $("status"),
    keyDialog: $("key-dialog"), keyReason: $("key-reason"), keyInput: $("key-input"),
    keySave: $("key-save"), keyCancel: $("key-cancel"),
  };

  /** The conversation sent with every turn: {role, content} as the API takes them. */
  let history = [];
  /** Aborts the turn in flight; null when none is. */
  let controller = null;

  function storedKey() {
    try { return localStorage.getItem(KEY_STORAGE) || ""; } catch { return ""; }
  }

  function headers(json) {
    const h = {};
    if (json) h["Content-Type"] = "application/json";
    const key = storedKey();
    if (key) h.Authorization = "Bearer " + key;
    return h;
  }

  function setStatus(text, isError) {
    ui.status.textContent = text || "";
    ui.status.classList.toggle("error", !!isError);
  }

  /** The message of an OpenAI-style error body, or the status line. */
  async function errorText(response) {
    try {
      const body = await response.json();
      if (body && body.error && body.error.message) return body.error.message;
    } catch { /* not JSON */ }
    return `${response.status} ${response.statusText}`;
  }

  function askKey(reason) {
    ui.keyReason.textContent = reason;
    ui.keyInput.value = storedKey();
    if (!ui.keyDialog.open) ui.keyDialog.showModal();
    ui.keyInput.focus();
  }

  function saveKey() {
    const key = ui.keyInput.value.trim();
    try {
      if (key) localStorage.setItem(KEY_STORAGE, key); else localStorage.removeItem(KEY_STORAGE);
    } catch { setStatus("this browser does not allow local storage: the key cannot be kept", true); }
    ui.keyDialog.close();
    loadModels();
  }

  async function loadModels() {
    setStatus("Loading models…");
    let response;
    try {
      response = await fetch("/v1/models", { headers: headers(false) });
    } catch (e) {
      setStatus("cannot reach the server: " + e.message, true);
      return;
    }
    if (response.status === 401) {
      setStatus("this server needs an API key", true);
      askKey(storedKey() ? "The stored API key was refused. Enter the key this server was started with." : "This server needs an API key (serve --api-key).");
      return;
    }
    if (!response.ok) {
      setStatus(await errorText(response), true);
      return;
    }
    const list = await response.json();
    const previous = ui.model.value || (() => { try { return localStorage.getItem(MODEL_STORAGE); } catch { return null; } })();
    ui.model.replaceChildren();
    for (const m of (list && list.data) || []) {
      const option = document.createElement("option");
      option.value = m.id;
      option.textContent = m.id;
      if (m.context_length) option.title = `${m.id}: a context of ${m.context_length} tokens`;
      ui.model.append(option);
    }
    if (previous && [...ui.model.options].some((o) => o.value === previous)) ui.model.value = previous;
    const n = ui.model.options.length;
    setStatus(n === 0 ? "the server lists no models" : n === 1 ? "" : `${n} models and adapters`, n === 0);
  }

  // ---- rendering: text paragraphs with `inline code`, and ``` fenced blocks as <pre><code>, all as text nodes ----

  function inline(parent, text) {
    const parts = text.split(/`([^`\n]+)`/);
    parts.forEach((part, i) => {
      if (i % 2 === 1) {
        const code = document.createElement("code");
        code.textContent = part;
        parent.append(code);
      } else if (part) {
        parent.append(document.createTextNode(part));
      }
    });
  }

  function codeBlock(language, text) {
    const box = document.createElement("div");
    box.className = "code";
    const head = document.createElement("div");
    head.className = "code-head";
    const label = document.createElement("span");
    label.textContent = language || "code";
    const copy = document.createElement("button");
    copy.type = "button";
    copy.textContent = "Copy";
    copy.addEventListener("click", () => {
      if (!navigator.clipboard) return;
      navigator.clipboard.writeText(text).then(() => {
        copy.textContent = "Copied";
        setTimeout(() => { copy.textContent = "Copy"; }, 1200);
      }, () => {});
    });
    head.append(label, copy);
    const pre = document.createElement("pre");
    const code = document.createElement("code");
    if (/^[\w+#.-]+$/.test(language)) code.className = "language-" + language;
    code.textContent = text;
    pre.append(code);
    box.append(head, pre);
    return box;
  }

  /** Replaces el's children with text rendered; an unclosed fence (a reply still streaming) is code to the end. */
  function render(el, text) {
    const nodes = [];
    let prose = [];
    let code = null; // lines of the open fence, or null
    let language = "";
    const flushProse = () => {
      const joined = prose.join("\n").replace(/^\n+|\n+$/g, "");
      if (joined) {
        const p = document.createElement("div");
        p.className = "text";
        inline(p, joined);
        nodes.push(p);
      }
      prose = [];
    };
    for (const line of text.split("\n")) {
      const fence = /^\s*```\s*([^`]*?)\s*$/.exec(line);
      if (fence && code === null) {
        flushProse();
        code = [];
        language = fence[1];
      } else if (fence && code !== null && fence[1] === "") {
        nodes.push(codeBlock(language, code.join("\n")));
        code = null;
      } else if (code !== null) {
        code.push(line);
      } else {
        prose.push(line);
      }
    }
    if (code !== null) nodes.push(codeBlock(language, code.join("\n")));
    flushProse();
    if (nodes.length === 0) {
      const p = document.createElement("div");
      p.className = "text";
      nodes.push(p);
    }
    el.replaceChildren(...nodes);
  }

  function addMessage(role, text) {
    ui.empty.hidden = true;
    const message = document.createElement("div");
    message.className = "message " + role;
    const label = document.createElement("div");
    label.className = "role";
    label.textContent = role === "user" ? "You" : role === "assistant" ? (ui.model.value || "assistant") : "Error";
    const content = document.createElement("div");
    content.className = "content";
    if (role === "user") {
      const p = document.createElement("div");
      p.className = "text";
      p.textContent = text;
      content.append(p);
    } else {
      render(content, text);
    }
    message.append(label, content);
    ui.log.append(message);
    scrollDown(true);
    return message;
  }

  function note(message, text) {
    let n = message.querySelector(".note");
    if (!n) {
      n = document.createElement("div");
      n.className = "note";
      message.append(n);
    }
    n.textContent = text;
  }

  function scrollDown(force) {
    const log = ui.log;
    if (force || log.scrollHeight - log.scrollTop - log.clientHeight < 120) log.scrollTop = log.scrollHeight;
  }

  // ---- streaming ----

  /** The data of each server-sent event in a response body, as they arrive. */
  async function* events(body) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).replace(/^ /, "")).join("\n");
          if (data) yield data;
        }
      }
    } finally {
      reader.releaseLock();
    }
  }

  function setBusy(busy) {
    ui.send.hidden = busy;
    ui.stop.hidden = !busy;
    ui.model.disabled = busy;
    ui.newChat.disabled = busy;
  }

  async function send() {
    const text = ui.prompt.value.trim();
    if (!text || controller) return;
    if (!ui.model.value) {
      await loadModels();
      if (!ui.model.value) return;
    }
    ui.prompt.value = "";
    autosize();
    history.push({ role: "user", content: text });
    const userMessage = addMessage("user", text);
    const message = addMessage("assistant", "");
    const content = message.querySelector(".content");
    message.dataset.state = "streaming";

    const request = {
      model: ui.model.value,
      messages: history.map(({ role, content }) => ({ role, content })),
      stream: true,
      temperature: Number(ui.temperature.value),
      top_p: Number(ui.topP.value),
    };
    const max = parseInt(ui.maxTokens.value, 10);
    if (max > 0) request.max_tokens = max;

    controller = new AbortController();
    setBusy(true);
    setStatus("Waiting for the model…");
    const started = performance.now();
    let reply = "", pieces = 0, finish = null, failure = null, stopped = false, ended = false;
    try {
      const response = await fetch("/v1/chat/completions", {
        method: "POST", headers: headers(true), body: JSON.stringify(request), signal: controller.signal,
      });
      if (response.status === 401) {
        failure = "the server refused the API key";
        askKey(storedKey() ? "The stored API key was refused. Enter the key this server was started with." : "This server needs an API key (serve --api-key).");
      } else if (!response.ok) {
        failure = await errorText(response);
      } else {
        for await (const data of events(response.body)) {
          if (data === "[DONE]") { ended = true; break; }
          const chunk = JSON.parse(data);
          if (chunk.error) { failure = chunk.error.message || "the server reported an error"; break; }
          const choice = chunk.choices && chunk.choices[0];
          const piece = choice && choice.delta && choice.delta.content;
          if (piece) {
            reply += piece;
            pieces++;
            render(content, reply);
            scrollDown(false);
            const seconds = (performance.now() - started) / 1000;
            setStatus(`Generating… ${pieces} pieces, ${(pieces / Math.max(seconds, 1e-3)).toFixed(1)}/s`);
          }
          if (choice && choice.finish_reason) finish = choice.finish_reason;
        }
        if (!ended && !failure) failure = "the reply ended early (the connection closed)";
      }
    } catch (e) {
      if (e && e.name === "AbortError") stopped = true;
      else failure = (e && e.message) || String(e);
    }
    controller = null;
    setBusy(false);

    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (failure && !reply) {
      // Nothing came back: take the turn out so that it can be sent again.
      history.pop();
      userMessage.remove();
      message.remove();
      const error = addMessage("error", "");
      error.querySelector(".content").textContent = failure;
      ui.prompt.value = text;
      autosize();
      setStatus(failure, true);
      return;
    }
    history.push({ role: "assistant", content: reply });
    render(content, reply);
    message.dataset.state = stopped ? "stopped" : failure ? "error" : "done";
    if (stopped) note(message, `Stopped after ${pieces} pieces (${seconds} s).`);
    else if (failure) note(message, "Error: " + failure);
    else note(message, `${pieces} pieces in ${seconds} s${finish === "length" ? " · hit the token limit" : ""}`);
    setStatus(stopped ? "Stopped." : failure ? failure : "", !!failure);
    ui.prompt.focus();
  }

  function stop() {
    if (controller) controller.abort();
  }

  function newChat() {
    if (controller) return;
    history = [];
    for (const m of [...ui.log.querySelectorAll(".message")]) m.remove();
    ui.empty.hidden = false;
    setStatus("");
    ui.prompt.focus();
  }

  function autosize() {
    ui.prompt.style.height = "auto";
    ui.prompt.style.height = Math.min(ui.prompt.scrollHeight, window.innerHeight * 0.4) + "px";
  }

  function showValue(input, output) {
    output.textContent = Number(input.value).toFixed(2);
  }

  ui.send.addEventListener("click", send);
  ui.stop.addEventListener("click", stop);
  ui.newChat.addEventListener("click", newChat);
  ui.keyButton.addEventListener("click", () => askKey("Set the key this server was started with (serve --api-key)."));
  ui.keySave.addEventListener("click", saveKey);
  ui.keyCancel.addEventListener("click", () => ui.keyDialog.close());
  ui.keyInput.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); saveKey(); } });
  ui.prompt.addEventListener("input", autosize);
  ui.prompt.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && controller) { e.preventDefault(); stop(); } });
  ui.temperature.addEventListener("input", () => showValue(ui.temperature, ui.temperatureValue));
  ui.topP.addEventListener("input", () => showValue(ui.topP, ui.topPValue));
  ui.model.addEventListener("change", () => { try { localStorage.setItem(MODEL_STORAGE, ui.model.value); } catch { /* not kept */ } });
  showValue(ui.temperature, ui.temperatureValue);
  showValue(ui.topP, ui.topPValue);
  loadModels();
  ui.prompt.focus();
})();
