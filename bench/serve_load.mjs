#!/usr/bin/env node
// Load benchmark for smoe serve: N concurrent clients stream completions for a bounded time;
// reports requests/s, aggregate generated tokens/s, time to first token and inter-token latency
// (p50/p99). With --clients 1,8 it runs each level in turn and prints throughput relative to the
// first. Needs only Node (fetch), no packages.
//
//   node bench/serve_load.mjs --url http://127.0.0.1:8080 --clients 1,8 --seconds 30 --max-tokens 64
import { parseArgs } from "node:util";
import { sseData } from "./sse.mjs";

const { values: opt } = parseArgs({
  options: {
    url: { type: "string", default: "http://127.0.0.1:8080" },
    clients: { type: "string", default: "1,8" },
    seconds: { type: "string", default: "30" },
    "max-tokens": { type: "string", default: "64" },
    prompt: { type: "string", default: "Once upon a time, in a land far away," },
    "api-key": { type: "string", default: "" },
    json: { type: "boolean", default: false },
  },
});

const headers = { "Content-Type": "application/json" };
if (opt["api-key"]) headers.Authorization = `Bearer ${opt["api-key"]}`;

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

// One streamed request: time to first token, gaps between tokens, tokens generated.
async function oneRequest(model, prompt) {
  const start = performance.now();
  const response = await fetch(`${opt.url}/v1/completions`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      model, prompt, max_tokens: Number(opt["max-tokens"]), temperature: 0, stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
  let last = null, ttft = null, tokens = 0;
  const gaps = [];
  for await (const data of sseData(response)) {
    if (data === "[DONE]") continue;
    const chunk = JSON.parse(data);
    const now = performance.now();
    if (chunk.usage) tokens = chunk.usage.completion_tokens;
    if (!chunk.choices.length || chunk.choices[0].finish_reason) continue;
    if (ttft === null) ttft = now - start;
    else gaps.push(now - last);
    last = now;
  }
  return { ttft, gaps, tokens };
}

async function runLevel(model, clients, seconds) {
  const deadline = performance.now() + seconds * 1000;
  const ttfts = [], gaps = [];
  let requests = 0, tokens = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const r = await oneRequest(model, `${opt.prompt} (client ${c}, request ${i})`);
        requests++;
        tokens += r.tokens;
        if (r.ttft !== null) ttfts.push(r.ttft);
        gaps.push(...r.gaps);
      }
    }),
  );
  const wall = (performance.now() - started) / 1000;
  ttfts.sort((a, b) => a - b);
  gaps.sort((a, b) => a - b);
  return {
    clients, seconds: wall, requests, tokens,
    requests_per_second: requests / wall,
    tokens_per_second: tokens / wall,
    ttft_ms: { p50: percentile(ttfts, 50), p99: percentile(ttfts, 99) },
    inter_token_ms: { p50: percentile(gaps, 50), p99: percentile(gaps, 99) },
  };
}

const models = await (await fetch(`${opt.url}/v1/models`, { headers })).json();
const model = models.data[0].id;
const results = [];
for (const clients of opt.clients.split(",").map(Number)) {
  const r = await runLevel(model, clients, Number(opt.seconds));
  r.speedup = results.length ? r.tokens_per_second / results[0].tokens_per_second : 1;
  results.push(r);
  if (!opt.json) {
    const f = (x) => x.toFixed(1);
    console.log(
      `${clients} clients: ${r.requests} requests in ${f(r.seconds)} s (${r.requests_per_second.toFixed(2)}/s), ` +
        `${f(r.tokens_per_second)} tokens/s aggregate (x${r.speedup.toFixed(2)}), ` +
        `TTFT p50 ${f(r.ttft_ms.p50)} ms p99 ${f(r.ttft_ms.p99)} ms, ` +
        `inter-token p50 ${f(r.inter_token_ms.p50)} ms p99 ${f(r.inter_token_ms.p99)} ms`,
    );
  }
}
if (opt.json) console.log(JSON.stringify({ model, results }, null, 2));
