#!/usr/bin/env node
// Soak test of smoe serve: many concurrent clients for a bounded time, mixing normal requests
// (chat and completions, whole and streamed), streams cancelled midway, malformed bodies and
// oversize prompts and bodies. Every request's outcome is checked against what its kind must get;
// at the end the server must still answer a greedy request exactly as before the soak, its resident
// memory must not have grown by more than --max-rss-growth, and no request may be lost (every
// accepted request ended in a complete answer or an error object). Needs only Node 20 (fetch).
//
//   node bench/soak.mjs --binary build/smoe --seconds 600          # starts `smoe serve` itself
//   node bench/soak.mjs --url http://127.0.0.1:8080 --pid 1234    # a running server (its RSS via --pid)
//
// Traffic goes only to the loopback server named or started here. Exit 0: every check passed.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { sseData } from "./sse.mjs";

const { values: opt } = parseArgs({
  options: {
    binary: { type: "string", default: "" },
    model: { type: "string", default: "" },
    url: { type: "string", default: "" },
    pid: { type: "string", default: "" },
    seconds: { type: "string", default: "600" },
    clients: { type: "string", default: "32" },
    "warmup-seconds": { type: "string", default: "15" },
    "max-rss-growth": { type: "string", default: "0.10" },
    "no-rss-check": { type: "boolean", default: false },
    "request-timeout": { type: "string", default: "120" },
    json: { type: "boolean", default: false },
  },
});
const seconds = Number(opt.seconds);
const clients = Number(opt.clients);
const warmupSeconds = Number(opt["warmup-seconds"]);
const requestTimeoutMs = Number(opt["request-timeout"]) * 1000;
if (!(seconds > 0) || !(clients >= 1) || !(warmupSeconds >= 0)) {
  console.error("soak: --seconds, --clients and --warmup-seconds must be positive numbers");
  process.exit(2);
}
if (!opt.binary === !opt.url) {
  console.error("soak: give either --binary (start a server) or --url (a running one)");
  process.exit(2);
}

// ------------------------------------------------------------------------------------ the server

async function startServer() {
  const args = ["serve", "--port", "0", ...(opt.model ? ["-m", opt.model] : [])];
  const child = spawn(opt.binary, args, { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve(signal ? `signal ${signal}` : code)));
  const firstLine = await new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once("line", (line) => { lines.close(); resolve(line); });
    child.once("exit", () => reject(new Error("smoe serve exited before listening")));
  });
  const match = /listening on (http:\/\/\S+)/.exec(firstLine);
  if (!match) throw new Error(`unexpected first line from smoe serve: ${firstLine}`);
  return { url: match[1], pid: child.pid, stop: () => { child.kill("SIGTERM"); return exited; } };
}

// Resident memory of a process in KiB, from /proc (Linux): the total (VmRSS, what is checked) and
// its anonymous (heap, stacks) and file-backed (the memory-mapped model) parts, which tell a leak
// from weights being paged in as new tokens' embedding rows are first read.
function rssKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name) => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, "m").exec(status);
    if (!m) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(m[1]);
  };
  return { total: field("VmRSS"), anon: field("RssAnon"), file: field("RssFile") };
}

// ------------------------------------------------------------------------------------ requests

const words = ["the", "house", "river", "letter", "evening", "garden", "sister", "walked", "quietly", "morning"];
const pick = (list) => list[Math.floor(Math.random() * list.length)];
const sentence = (n) => Array.from({ length: n }, () => pick(words)).join(" ");

const chatBody = (extra = {}) => ({
  messages: [{ role: "user", content: sentence(3 + Math.floor(Math.random() * 12)) }],
  max_tokens: 4 + Math.floor(Math.random() * 28), temperature: 0.8, ...extra,
});
const completionBody = (extra = {}) => ({
  prompt: sentence(2 + Math.floor(Math.random() * 20)),
  max_tokens: 4 + Math.floor(Math.random() * 28), temperature: 0.8, ...extra,
});

// Bodies the server must refuse with 400: not JSON, or fields of the wrong type or range.
const malformedBodies = [
  ["/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}"],
  ["/v1/chat/completions", "not json at all"],
  ["/v1/chat/completions", "[1, 2, 3]"],
  ["/v1/chat/completions", JSON.stringify({ messages: 5 })],
  ["/v1/chat/completions", JSON.stringify({ messages: [{ role: "user", content: 5 }] })],
  ["/v1/chat/completions", JSON.stringify({ ...chatBody(), temperature: "hot" })],
  ["/v1/chat/completions", JSON.stringify({ ...chatBody(), max_tokens: -1 })],
  ["/v1/completions", JSON.stringify({ prompt: [1, "two"] })],
  ["/v1/completions", JSON.stringify({ prompt: "hi", stream: "yes" })],
  ["/v1/completions", JSON.stringify({ prompt: "hi", top_p: 7 })],
  ["/v1/completions", "\u0000\u0001\u0002"],
];

// The kinds of request, with weights, and what each must get. `run` returns
// { status, outcome } where outcome is "ok" (as required), "cancelled" (deliberately) or a failure.
const kinds = {
  chat: { weight: 20, run: () => whole("/v1/chat/completions", chatBody(), "chat") },
  completion: { weight: 15, run: () => whole("/v1/completions", completionBody(), "completion") },
  chat_stream: { weight: 15, run: () => streamed("/v1/chat/completions", chatBody({ stream: true }), null) },
  completion_stream: { weight: 10, run: () => streamed("/v1/completions", completionBody({ stream: true }), null) },
  stream_cancelled: {
    weight: 15,
    run: () => streamed("/v1/chat/completions", chatBody({ max_tokens: 200, stream: true }), 1 + Math.floor(Math.random() * 4)),
  },
  malformed: { weight: 15, run: () => { const [path, body] = pick(malformedBodies); return refused(path, body, 400); } },
  oversize_prompt: {
    weight: 7,
    run: () => refused("/v1/completions", JSON.stringify({ prompt: sentence(400 + Math.floor(Math.random() * 2000)) }), 400,
                       "context_length_exceeded"),
  },
  oversize_body: {
    weight: 3,
    run: () => refused("/v1/chat/completions",
                       JSON.stringify({ messages: [{ role: "user", content: "x".repeat(1.5 * 1024 * 1024) }] }), 413),
  },
};
const totalWeight = Object.values(kinds).reduce((s, k) => s + k.weight, 0);
function pickKind() {
  let r = Math.random() * totalWeight;
  for (const [name, k] of Object.entries(kinds)) if ((r -= k.weight) < 0) return name;
  return "chat";
}

let baseUrl = "";
// A request whose connection was reset before any response came is sent once more, on another
// connection, as OpenAI's own clients do with connection errors: a pooled keep-alive connection
// can be closed by the server's idle timeout just as the client reuses it, and a large body is
// still being written when that happens (seen about once in 10 runs of 20 s, on an oversize body).
// The retries are counted; more than 1% of the requests (at least 2) fails the soak, and a second
// failure of the same request counts as lost.
let resets = 0;
const resetCodes = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET"]);
async function post(path, body, signal) {
  const send = () => fetch(baseUrl + path, { method: "POST", headers: { "Content-Type": "application/json" }, body, signal });
  try {
    return await send();
  } catch (e) {
    if (signal?.aborted || !resetCodes.has(e.cause?.code)) throw e;
    resets++;
    return await send();
  }
}

// A busy server may refuse with 503 (queue or connections full): counted apart, not a failure,
// as long as it is a proper error object with Retry-After.
async function busy(response) {
  const body = await response.json().catch(() => null);
  if (!body?.error || !response.headers.get("retry-after")) return { status: 503, outcome: "503 without an error object or Retry-After" };
  return { status: 503, outcome: "busy" };
}

async function whole(path, body, kind) {
  const response = await post(path, JSON.stringify(body), AbortSignal.timeout(requestTimeoutMs));
  if (response.status === 503) return busy(response);
  const text = await response.text();
  if (response.status !== 200) return { status: response.status, outcome: `HTTP ${response.status}: ${text.slice(0, 200)}` };
  const answer = JSON.parse(text);
  const choice = answer.choices?.[0];
  const content = kind === "chat" ? choice?.message?.content : choice?.text;
  if (typeof content !== "string" || !["stop", "length"].includes(choice.finish_reason) || !answer.usage)
    return { status: 200, outcome: `incomplete answer: ${text.slice(0, 200)}` };
  return { status: 200, outcome: "ok" };
}

// A streamed request, read to its end or (cancelAfter chunks) aborted midway.
async function streamed(path, body, cancelAfter) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error("timed out")), requestTimeoutMs);
  try {
    const response = await post(path, JSON.stringify(body), controller.signal);
    if (response.status === 503) return await busy(response);
    if (response.status !== 200) return { status: response.status, outcome: `HTTP ${response.status}: ${(await response.text()).slice(0, 200)}` };
    let chunks = 0, finished = false, done = false;
    for await (const data of sseData(response)) {
      if (data === "[DONE]") { done = true; break; }
      const chunk = JSON.parse(data);
      if (chunk.error) return { status: 200, outcome: `error in stream: ${chunk.error.message}` };
      if (chunk.choices?.[0]?.finish_reason) finished = true;
      if (cancelAfter !== null && ++chunks >= cancelAfter) {
        controller.abort();
        return { status: 200, outcome: "cancelled" };
      }
    }
    // A cancellation that came after the stream had already ended is a complete stream.
    if (!done || !finished) return { status: 200, outcome: "stream ended without finish_reason and [DONE]" };
    return { status: 200, outcome: "ok" };
  } finally {
    clearTimeout(timer);
  }
}

async function refused(path, body, wantStatus, wantCode = null) {
  const response = await post(path, body, AbortSignal.timeout(requestTimeoutMs));
  if (response.status === 503) return busy(response);
  const text = await response.text();
  let error = null;
  try { error = JSON.parse(text).error; } catch { /* checked below */ }
  if (response.status !== wantStatus || !error?.message) return { status: response.status, outcome: `wanted ${wantStatus} with an error object, got ${response.status}: ${text.slice(0, 200)}` };
  if (wantCode && error.code !== wantCode) return { status: response.status, outcome: `wanted code ${wantCode}, got ${error.code}` };
  return { status: response.status, outcome: "ok" };
}

// ------------------------------------------------------------------------------------ the run

// Each kind's outcomes by status; failures kept with their messages.
const table = {};
const failures = [];
let sent = 0, answered = 0;
function record(kind, status, outcome) {
  answered++;
  const row = (table[kind] ??= {});
  const key = outcome === "busy" ? "503" : outcome === "cancelled" ? "cancelled" : outcome === "ok" ? String(status) : "FAILED";
  row[key] = (row[key] ?? 0) + 1;
  if (!["ok", "busy", "cancelled"].includes(outcome)) failures.push(`${kind}: ${outcome}`);
}

async function client(until) {
  while (Date.now() < until) {
    const kind = pickKind();
    sent++;
    try {
      const { status, outcome } = await kinds[kind].run();
      record(kind, status, outcome);
    } catch (e) {
      // A network error, a time-out or a body that is not what it claims: the request was lost.
      record(kind, 0, `lost: ${e.cause?.code ?? e.name}: ${e.message}`);
    }
  }
}

async function runClients(n, secondsToRun) {
  const until = Date.now() + secondsToRun * 1000;
  await Promise.all(Array.from({ length: n }, () => client(until)));
}

// The reference request: greedy, so the same before and after the soak.
async function greedyAnswer() {
  const response = await post("/v1/completions", JSON.stringify({ prompt: "Once upon a time", max_tokens: 24, temperature: 0 }));
  if (response.status !== 200) throw new Error(`the greedy reference request got HTTP ${response.status}`);
  return (await response.json()).choices[0].text;
}

let server = null;
let ok = true;
try {
  if (opt.binary) server = await startServer();
  baseUrl = server ? server.url : opt.url.replace(/\/$/, "");
  const pid = server ? server.pid : Number(opt.pid);
  const checkRss = !opt["no-rss-check"] && pid > 0;
  const before = await greedyAnswer();

  // Warm-up at full concurrency, so that the allocator's per-thread arenas and the handler threads'
  // stacks have been touched before the starting RSS is read; its requests are checked too.
  await runClients(clients, warmupSeconds);
  const rssStart = checkRss ? rssKiB(pid) : null;
  const started = Date.now();
  await runClients(clients, seconds);
  const elapsed = (Date.now() - started) / 1000;
  const rssEnd = checkRss ? rssKiB(pid) : null;
  const after = await greedyAnswer();
  const health = await fetch(baseUrl + "/health").then((r) => r.status);

  const lost = sent - answered + failures.filter((f) => f.includes("lost:")).length;
  const maxResets = Math.max(2, Math.floor(0.01 * sent));
  const ratio = checkRss ? rssEnd.total / rssStart.total : NaN;
  const summary = {
    seconds: Number(elapsed.toFixed(1)), warmup_seconds: warmupSeconds, clients, requests: answered,
    by_kind: table, rss_start_kib: rssStart, rss_end_kib: rssEnd, rss_ratio: Number(ratio.toFixed(4)),
    lost, failures: failures.length, connection_resets_retried: resets, greedy_unchanged: before === after, health,
  };
  if (opt.json) console.log(JSON.stringify(summary));
  else {
    console.log(`soak: ${answered} requests from ${clients} clients in ${summary.seconds} s (after ${warmupSeconds} s of warm-up)`);
    for (const [kind, row] of Object.entries(table).sort())
      console.log(`  ${kind.padEnd(18)} ${Object.entries(row).map(([k, v]) => `${k}: ${v}`).join(", ")}`);
    const mib = (r) => `${(r.total / 1024).toFixed(1)} MiB (anonymous ${(r.anon / 1024).toFixed(1)}, file ${(r.file / 1024).toFixed(1)})`;
    if (checkRss) console.log(`  RSS ${mib(rssStart)} at start, ${mib(rssEnd)} at end: ratio ${ratio.toFixed(3)}`);
    else console.log("  RSS not checked");
    console.log(`  lost ${lost}, failed ${failures.length}, connection resets retried ${resets}, greedy answer ${before === after ? "unchanged" : "CHANGED"}, /health ${health}`);
  }
  if (resets > maxResets) { console.error(`soak: FAILED ${resets} connections were reset before an answer (limit ${maxResets})`); ok = false; }
  for (const f of failures.slice(0, 20)) console.error(`soak: FAILED ${f}`);
  if (failures.length > 20) console.error(`soak: ... and ${failures.length - 20} more failures`);
  if (failures.length || lost) ok = false;
  if (before !== after) { console.error(`soak: FAILED the greedy answer changed:\n  before: ${JSON.stringify(before)}\n  after:  ${JSON.stringify(after)}`); ok = false; }
  if (health !== 200) { console.error(`soak: FAILED /health answered ${health}`); ok = false; }
  if (checkRss && ratio > 1 + Number(opt["max-rss-growth"])) {
    console.error(`soak: FAILED resident memory grew by ${((ratio - 1) * 100).toFixed(1)}% (limit ${Number(opt["max-rss-growth"]) * 100}%)`);
    ok = false;
  }
} catch (e) {
  console.error(`soak: FAILED ${e.stack ?? e}`);
  ok = false;
} finally {
  if (server) {
    const code = await server.stop();
    if (code !== 0) { console.error(`soak: FAILED smoe serve exited with ${code} after SIGTERM (expected 0)`); ok = false; }
  }
}
console.log(ok ? "soak: passed" : "soak: FAILED");
process.exit(ok ? 0 : 1);
