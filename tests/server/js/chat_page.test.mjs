// The chat page in headless Chromium, driven over the DevTools protocol: the page opened as
// "/?q=..." asks the question, streams the reply, shows the speed and draws the routing heatmap.
// The test polls the page's state until the reply has finished (no fixed waits).
// Skipped with a message when Chromium is not installed (tools/install-deps.sh installs it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { MODEL, startServer } from "./smoe_server.mjs";

const chromium = ["chromium", "chromium-browser"].find((name) => spawnSync("which", [name]).status === 0);

// Starts Chromium on `url` with a DevTools port; resolves to the page's DevTools WebSocket URL.
async function openInChromium(url, profile) {
  const browser = spawn(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--no-first-run", `--user-data-dir=${profile}`, "--remote-debugging-port=0", url],
    { stdio: ["ignore", "ignore", "pipe"], detached: true });  // its own process group, ended as a whole
  browser.exited = new Promise((resolve) => browser.once("exit", resolve));
  const endpoint = await new Promise((resolve, reject) => {
    let err = "";
    browser.stderr.on("data", (d) => {
      err += d;
      const m = /DevTools listening on ws:\/\/([^/]+)\//.exec(err);
      if (m) resolve(m[1]);
    });
    browser.once("exit", () => reject(new Error(`chromium exited: ${err}`)));
  });
  let page;
  while (!page) {  // the page target appears once the browser has opened it
    const targets = await (await fetch(`http://${endpoint}/json/list`)).json();
    page = targets.find((t) => t.type === "page");
    if (!page) await sleep(100);
  }
  return { browser, wsUrl: page.webSocketDebuggerUrl };
}

// Evaluates JavaScript expressions in the page over the DevTools protocol.
async function connect(wsUrl) {
  const ws = new WebSocket(wsUrl);
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  let nextId = 1;
  const pending = new Map();
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (pending.has(msg.id)) { pending.get(msg.id)(msg); pending.delete(msg.id); }
  };
  return {
    async evaluate(expression) {
      const id = nextId++;
      const reply = new Promise((resolve) => pending.set(id, resolve));
      ws.send(JSON.stringify({ id, method: "Runtime.evaluate", params: { expression, returnByValue: true } }));
      const msg = await reply;
      if (msg.error || msg.result.exceptionDetails) throw new Error(JSON.stringify(msg));
      return msg.result.result.value;
    },
    close: () => ws.close(),
  };
}

const skip = !chromium ? "chromium is not installed (tools/install-deps.sh installs it)"
  : typeof WebSocket === "undefined" ? "this Node has no WebSocket client (Node 20.10 or later needed)" : false;

test("the chat page streams a reply and shows the routing", { skip }, async () => {
  const server = await startServer();
  const profile = mkdtempSync(join(tmpdir(), "smoe-chromium-"));
  let browser;
  try {
    const opened = await openInChromium(`${server.url}/?q=${encodeURIComponent("Who is Elizabeth?")}`, profile);
    browser = opened.browser;
    const page = await connect(opened.wsUrl);
    const state = `(() => {
      if (!document.getElementById("heatmap")) return { finished: false };  // still loading
      const assistant = document.querySelector(".msg.assistant, .msg.error");
      return {
        model: document.getElementById("model").textContent,
        user: document.querySelector(".msg.user")?.textContent ?? null,
        reply: assistant?.textContent ?? null,
        replyClass: assistant?.className ?? null,
        finished: assistant !== null && !document.getElementById("send").disabled,
        tokens: Number(document.getElementById("count").textContent),
        speed: document.getElementById("speed").textContent,
        layers: document.querySelectorAll("#heatmap tr").length,
        cells: document.querySelectorAll("#heatmap td[title]").length,
        lit: document.querySelectorAll("#heatmap td.on").length,
      };
    })()`;
    let s = await page.evaluate(state);
    while (!s.finished) {  // poll until the reply is complete
      await sleep(100);
      s = await page.evaluate(state);
    }
    page.close();
    assert.equal(s.model, MODEL);
    assert.equal(s.user, "Who is Elizabeth?");
    assert.equal(s.replyClass, "msg assistant", `the reply failed: ${s.reply}`);
    assert.ok(s.reply.length > 0);
    assert.ok(s.tokens > 1, `tokens: ${s.tokens}`);
    assert.match(s.speed, /^[0-9]+\.[0-9]$/);
    // The bundled model: 6 layers of 8 experts, 2 chosen per token.
    assert.equal(s.layers, 6);
    assert.equal(s.cells, 6 * 8);
    assert.equal(s.lit, 6 * 2);
  } finally {
    if (browser) {
      process.kill(-browser.pid, "SIGKILL");  // the browser and its renderer processes
      await browser.exited;
      browser.stderr.destroy();
    }
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    assert.equal(await server.stop(), 0);
  }
});
