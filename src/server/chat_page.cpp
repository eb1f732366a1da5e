// The chat page: plain HTML, CSS and JavaScript with no build step. It keeps the conversation in
// the page, streams each reply from /v1/chat/completions, shows the generation speed, and asks
// for the smoe_routing extension to draw which experts each layer chose for the latest token.
// Opened as /?q=TEXT it asks TEXT right away.
#include "server/chat_page.h"

namespace smoe::server {

std::string_view chat_page_html() {
  static constexpr std::string_view kPage = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>smoe chat</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font-family: system-ui, sans-serif; margin: 0; display: flex; height: 100vh; }
  main { flex: 1; display: flex; flex-direction: column; padding: 1em; min-width: 0; }
  aside { width: 22em; padding: 1em; border-left: 1px solid #ddd; background: #fafafa; overflow: auto; }
  #log { flex: 1; overflow-y: auto; }
  .msg { white-space: pre-wrap; margin: .4em 0; padding: .5em .7em; border-radius: 6px; }
  .user { background: #e8f0fe; } .assistant { background: #f1f1f1; } .error { background: #fde8e8; }
  form { display: flex; gap: .5em; } textarea { flex: 1; height: 4em; }
  #heatmap { border-collapse: collapse; font-size: 11px; }
  #heatmap td { width: 1.6em; height: 1.2em; text-align: center; border: 1px solid #fff; }
  #heatmap td.on { background: #d9480f; color: #fff; } #heatmap td.off { background: #e9ecef; }
</style>
</head>
<body>
<main>
  <div id="log"></div>
  <form id="form">
    <textarea id="input" placeholder="Say something (Enter sends, Shift+Enter for a new line)"></textarea>
    <button id="send" type="submit">Send</button>
  </form>
</main>
<aside>
  <div>Model: <span id="model">?</span></div>
  <div>Speed: <span id="speed">-</span> tokens/s</div>
  <div>Tokens: <span id="count">0</span></div>
  <p><label>API key <input id="key" type="password" size="12"></label></p>
  <p><button id="reset" type="button">New conversation</button></p>
  <h4>Experts chosen per layer, last token</h4>
  <table id="heatmap"></table>
</aside>
<script>
"use strict";
const conversation = [];
let modelId = null;
const $ = (id) => document.getElementById(id);

function headers() {
  const h = { "Content-Type": "application/json" };
  if ($("key").value) h["Authorization"] = "Bearer " + $("key").value;
  return h;
}

function addMessage(role, text) {
  const div = document.createElement("div");
  div.className = "msg " + role;
  div.textContent = text;
  $("log").appendChild(div);
  $("log").scrollTop = $("log").scrollHeight;
  return div;
}

// One row per layer, one cell per expert; the chosen experts are lit (the first choice is marked 1).
function drawRouting(routing, nExperts) {
  const table = $("heatmap");
  table.innerHTML = "";
  routing.forEach((experts, layer) => {
    const row = table.insertRow();
    row.insertCell().textContent = "L" + layer;
    for (let e = 0; e < nExperts; e++) {
      const cell = row.insertCell();
      const rank = experts.indexOf(e);
      cell.className = rank >= 0 ? "on" : "off";
      cell.textContent = rank >= 0 ? String(rank + 1) : "";
      cell.title = "layer " + layer + ", expert " + e;
    }
  });
}

async function loadModel() {
  try {
    const r = await fetch("/v1/models", { headers: headers() });
    const body = await r.json();
    modelId = body.data[0].id;
    $("model").textContent = modelId;
  } catch (e) {
    $("model").textContent = "unavailable";
  }
}

// Reads a server-sent event stream, calling onData with each parsed "data:" payload.
async function readEvents(response, onData) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        const data = line.slice(6);
        if (data === "[DONE]") return;
        onData(JSON.parse(data));
      }
    }
  }
}

async function send(text) {
  if (!modelId) await loadModel();
  conversation.push({ role: "user", content: text });
  addMessage("user", text);
  const div = addMessage("assistant", "");
  $("send").disabled = true;
  let reply = "", tokens = 0, maxExpert = 8;
  const start = performance.now();
  let firstTokenAt = null;
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST", headers: headers(),
      body: JSON.stringify({ model: modelId, messages: conversation, stream: true, smoe_routing: true,
                             temperature: 0.7, max_tokens: 512 }),
    });
    if (!response.ok) {
      const err = await response.json().catch(() => ({}));
      throw new Error((err.error && err.error.message) || response.statusText);
    }
    await readEvents(response, (chunk) => {
      if (chunk.error) throw new Error(chunk.error.message);
      const choice = chunk.choices[0];
      if (choice && choice.delta && choice.delta.content) {
        reply += choice.delta.content;
        div.textContent = reply;
      }
      if (chunk.smoe) {
        tokens++;
        if (firstTokenAt === null) firstTokenAt = performance.now();
        for (const layer of chunk.smoe.routing) for (const e of layer) maxExpert = Math.max(maxExpert, e + 1);
        drawRouting(chunk.smoe.routing, maxExpert);
        const seconds = (performance.now() - firstTokenAt) / 1000;
        $("speed").textContent = tokens > 1 && seconds > 0 ? ((tokens - 1) / seconds).toFixed(1) : "-";
        $("count").textContent = String(tokens);
      }
      $("log").scrollTop = $("log").scrollHeight;
    });
    conversation.push({ role: "assistant", content: reply });
  } catch (e) {
    conversation.pop();
    div.className = "msg error";
    div.textContent = "Error: " + e.message;
  } finally {
    $("send").disabled = false;
  }
}

$("form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = $("input").value.trim();
  if (!text) return;
  $("input").value = "";
  send(text);
});
$("input").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); $("form").requestSubmit(); }
});
$("reset").addEventListener("click", () => { conversation.length = 0; $("log").innerHTML = ""; });
// "/?q=TEXT" opens the page and asks TEXT at once (a link to a question; also how the page is tested).
const question = new URLSearchParams(location.search).get("q");
loadModel().then(() => { if (question) send(question); });
</script>
</body>
</html>
)HTML";
  return kPage;
}

}  // namespace smoe::server
