// smoe serve through the official OpenAI client: chat and completions, whole and streamed, stop
// sequences, errors as the client's exception classes, the API key, and 16 concurrent streaming
// clients whose greedy outputs equal their solo runs (continuous batching changes nothing).
import { test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { MODEL, startServer } from "./smoe_server.mjs";

async function withServer(args, body) {
  const server = await startServer(args);
  try {
    await body(server);
  } finally {
    assert.equal(await server.stop(), 0, "the server exits cleanly on SIGTERM");
  }
}

const client = (server, options = {}) =>
  new OpenAI({ baseURL: server.baseURL, apiKey: "unused", maxRetries: 0, ...options });

async function streamedChat(openai, messages, extra = {}) {
  const stream = await openai.chat.completions.create({ model: MODEL, messages, stream: true, temperature: 0, ...extra });
  let text = "";
  let finish = null;
  for await (const chunk of stream) {
    assert.equal(chunk.object, "chat.completion.chunk");
    const choice = chunk.choices[0];
    if (!choice) continue;
    text += choice.delta?.content ?? "";
    if (choice.finish_reason) finish = choice.finish_reason;
  }
  return { text, finish };
}

test("chat completions, whole and streamed, agree", async () => {
  await withServer([], async (server) => {
    const openai = client(server);
    const messages = [
      { role: "system", content: "You are brief." },
      { role: "user", content: "Who is Elizabeth Bennet?" },
    ];
    const whole = await openai.chat.completions.create({ model: MODEL, messages, max_tokens: 20, temperature: 0 });
    assert.equal(whole.object, "chat.completion");
    assert.equal(whole.model, MODEL);
    assert.equal(whole.choices.length, 1);
    assert.equal(whole.choices[0].message.role, "assistant");
    assert.ok(["stop", "length"].includes(whole.choices[0].finish_reason));
    assert.equal(whole.usage.total_tokens, whole.usage.prompt_tokens + whole.usage.completion_tokens);
    const streamed = await streamedChat(openai, messages, { max_tokens: 20 });
    assert.equal(streamed.text, whole.choices[0].message.content);
    assert.equal(streamed.finish, whole.choices[0].finish_reason);

    const models = await openai.models.list();
    assert.deepEqual(models.data.map((m) => m.id), [MODEL]);
  });
});

test("completions with stop sequences, whole and streamed", async () => {
  await withServer([], async (server) => {
    const openai = client(server);
    const prompt = "It is a truth universally acknowledged";
    const plain = await openai.completions.create({ model: MODEL, prompt, max_tokens: 24, temperature: 0 });
    assert.equal(plain.object, "text_completion");
    const text = plain.choices[0].text;
    assert.ok(text.length > 10, text);
    const stop = text.slice(Math.floor(text.length / 2), Math.floor(text.length / 2) + 3);
    const expected = text.slice(0, text.indexOf(stop));

    const stopped = await openai.completions.create({ model: MODEL, prompt, max_tokens: 24, temperature: 0, stop: [stop] });
    assert.equal(stopped.choices[0].text, expected);
    assert.equal(stopped.choices[0].finish_reason, "stop");

    const stream = await openai.completions.create({ model: MODEL, prompt, max_tokens: 24, temperature: 0, stop, stream: true });
    let streamed = "";
    let finish = null;
    for await (const chunk of stream) {
      streamed += chunk.choices[0].text;
      assert.ok(expected.startsWith(streamed), `streamed text leaked past the stop: ${JSON.stringify(streamed)}`);
      finish = chunk.choices[0].finish_reason ?? finish;
    }
    assert.equal(streamed, expected);
    assert.equal(finish, "stop");

    // Seeded sampling is reproducible.
    const seeded = () => openai.completions.create({ model: MODEL, prompt, max_tokens: 12, temperature: 0.9, seed: 7 });
    assert.equal((await seeded()).choices[0].text, (await seeded()).choices[0].text);
  });
});

test("errors arrive as the client's exceptions", async () => {
  await withServer([], async (server) => {
    const openai = client(server);
    const messages = [{ role: "user", content: "hi" }];
    await assert.rejects(openai.chat.completions.create({ model: MODEL, messages, n: 2 }), (e) => {
      assert.ok(e instanceof OpenAI.BadRequestError, String(e));
      assert.equal(e.status, 400);
      assert.equal(e.param, "n");
      return true;
    });
    await assert.rejects(openai.chat.completions.create({ model: "gpt-4", messages }), OpenAI.NotFoundError);
    await assert.rejects(openai.chat.completions.create({ model: MODEL, messages: [] }), OpenAI.BadRequestError);
    await assert.rejects(openai.completions.create({ model: MODEL, prompt: "x", temperature: 7 }), OpenAI.BadRequestError);
  });
  await withServer(["--api-key", "sesame"], async (server) => {
    const messages = [{ role: "user", content: "hi" }];
    await assert.rejects(client(server).chat.completions.create({ model: MODEL, messages }), OpenAI.AuthenticationError);
    const ok = await client(server, { apiKey: "sesame" }).chat.completions.create({ model: MODEL, messages, max_tokens: 2 });
    assert.equal(ok.choices.length, 1);
  });
});

test("16 concurrent streaming clients get their solo greedy outputs", async () => {
  await withServer(["--parallel", "4"], async (server) => {
    const openai = client(server);
    const topics = ["Elizabeth", "Mr. Darcy", "Jane", "Bingley", "the ball", "Pemberley", "Lydia", "Wickham",
                    "Moses", "Egypt", "the flood", "Noah", "Abraham", "the garden", "David", "the king"];
    const conversations = topics.map((t, i) => [{ role: "user", content: `Tell me about ${t}.` + " Please.".repeat(i % 4) }]);
    const options = (i) => ({ max_tokens: 16 + (i % 5) * 4 });
    const solo = [];
    for (let i = 0; i < conversations.length; i++) solo.push(await streamedChat(openai, conversations[i], options(i)));
    const together = await Promise.all(conversations.map((m, i) => streamedChat(openai, m, options(i))));
    for (let i = 0; i < solo.length; i++) {
      assert.ok(solo[i].text.length > 0, `request ${i} produced text`);
      assert.deepEqual(together[i], solo[i], `request ${i} (${topics[i]})`);
    }
    const metrics = await (await fetch(server.url + "/metrics")).text();
    const count = (name) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(metrics)?.[1]);
    // Some steps decoded several sequences at once (the histogram's le="1" bucket is not all steps).
    assert.ok(count("smoe_decode_batch_size_count") > count('smoe_decode_batch_size_bucket\\{le="1"\\}'), metrics);
  });
});
