// Drives the server with the official `openai` npm package: chat and completions, streaming and not.
// Prints one JSON object with what each call returned; the .NET test compares it with the reference.
// Environment: OPENAI_BASE_URL (…/v1), OPENAI_API_KEY, SERVING_MODEL.
import OpenAI from "openai";

const client = new OpenAI({ maxRetries: 0, timeout: 120_000 });
const model = process.env.SERVING_MODEL;
const results = {};

const completion = await client.completions.create({ model, prompt: "", max_tokens: 200, temperature: 0 });
results.completion = { text: completion.choices[0].text, finish: completion.choices[0].finish_reason, usage: completion.usage };

let streamed = "";
let streamedFinish = null;
let streamedUsage = null;
const completionStream = await client.completions.create({
  model, prompt: "", max_tokens: 200, temperature: 0, stream: true, stream_options: { include_usage: true },
});
for await (const chunk of completionStream) {
  if (chunk.choices.length > 0) {
    streamed += chunk.choices[0].text;
    streamedFinish = chunk.choices[0].finish_reason ?? streamedFinish;
  }
  if (chunk.usage) streamedUsage = chunk.usage;
}
results.completionStream = { text: streamed, finish: streamedFinish, usage: streamedUsage };

const messages = [
  { role: "system", content: "You tell stories." },
  { role: "user", content: "Tell me about Lily." },
];
const chat = await client.chat.completions.create({ model, messages, max_tokens: 24, temperature: 0, seed: 7 });
results.chat = { role: chat.choices[0].message.role, text: chat.choices[0].message.content, finish: chat.choices[0].finish_reason, usage: chat.usage };

let chatText = "";
let chatRole = null;
let chatFinish = null;
let chatUsage = null;
const chatStream = await client.chat.completions.create({
  model, messages, max_tokens: 24, temperature: 0, seed: 7, stream: true, stream_options: { include_usage: true },
});
for await (const chunk of chatStream) {
  if (chunk.choices.length > 0) {
    const delta = chunk.choices[0].delta;
    if (delta.role) chatRole = delta.role;
    if (delta.content) chatText += delta.content;
    chatFinish = chunk.choices[0].finish_reason ?? chatFinish;
  }
  if (chunk.usage) chatUsage = chunk.usage;
}
results.chatStream = { role: chatRole, text: chatText, finish: chatFinish, usage: chatUsage };

try {
  await client.chat.completions.create({ model, messages, temperature: 9 });
  results.badRequest = { status: 200 };
} catch (error) {
  results.badRequest = { status: error.status, param: error.param ?? error.error?.param ?? null, message: error.message };
}

const models = await client.models.list();
results.models = models.data.map((m) => m.id);

process.stdout.write(JSON.stringify(results));
