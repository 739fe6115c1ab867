import http from 'k6/http';
import { check } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import { headers, maxTokens } from './config.ts';

// k6's http module does not stream: a request returns once the whole body is in, and the experimental streams
// module only builds streams in script code, it cannot read a response body. So per-chunk arrival times are not
// observable here, and TTFT and ITL are estimated from k6's timings and the number of content chunks in the body:
//
//   receiving = time from the first response byte to the last (k6's timings.receiving);
//   n         = content chunks in the body.
//   itl_ms    = receiving / n     (mean gap, taking the interval from headers to first chunk as one more gap);
//   ttft_ms   = waiting + itl_ms  (time to headers plus one gap).
//
// This server flushes the SSE headers as soon as a request is admitted, before the first token, so `waiting` alone
// (reported as time_to_headers_ms) is a lower bound of TTFT, and the estimate above assumes prefill took about one
// decode step. It is close when prompts are short and the server is not queueing, and too low otherwise. Exact
// end-to-end latency is k6's http_req_duration; exact TTFT/ITL/TPOT percentiles come from `serving bench serve`,
// which reads the stream as it arrives.

export const ttft = new Trend('ttft_ms', true);
export const itl = new Trend('itl_ms', true);
export const timeToHeaders = new Trend('time_to_headers_ms', true);
export const outputTokens = new Counter('output_tokens');
export const promptTokens = new Counter('prompt_tokens');

export type Endpoint = 'completions' | 'chat';

interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
}

interface Chunk {
  choices?: Array<{ text?: string | null; delta?: { content?: string | null } }>;
  usage?: Usage | null;
  error?: unknown;
}

export interface ParsedStream {
  contentChunks: number;
  text: string;
  usage: Usage | undefined;
  done: boolean;
  error: string | undefined;
}

/** Splits an OpenAI event stream into events and reads the content, usage and end marker. */
export function parseStream(body: string, endpoint: Endpoint): ParsedStream {
  const result: ParsedStream = { contentChunks: 0, text: '', usage: undefined, done: false, error: undefined };
  for (const event of body.split(/\r?\n\r?\n/)) {
    const data = event
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
      .join('\n');
    if (data === '') {
      continue;
    }

    if (data === '[DONE]') {
      result.done = true;
      continue;
    }

    let chunk: Chunk;
    try {
      chunk = JSON.parse(data) as Chunk;
    } catch {
      result.error = `not JSON: ${data.slice(0, 100)}`;
      continue;
    }

    if (chunk.error !== undefined) {
      result.error = JSON.stringify(chunk.error);
    }

    const choice = chunk.choices?.[0];
    const piece = endpoint === 'chat' ? choice?.delta?.content : choice?.text;
    if (typeof piece === 'string' && piece.length > 0) {
      result.contentChunks++;
      result.text += piece;
    }

    if (chunk.usage !== undefined && chunk.usage !== null) {
      result.usage = chunk.usage;
    }
  }

  return result;
}

/** Sends one streamed request, checks it, and records the estimated TTFT and ITL and the token counts. */
export function streamedRequest(endpoint: Endpoint, path: string, payload: Record<string, unknown>): void {
  const body = JSON.stringify({
    ...payload,
    max_tokens: maxTokens,
    ignore_eos: true,
    temperature: 0,
    stream: true,
    stream_options: { include_usage: true },
  });
  const response = http.post(path, body, { headers: headers(), tags: { endpoint }, timeout: '10m' });
  const text = typeof response.body === 'string' ? response.body : '';
  const parsed = parseStream(text, endpoint);
  const ok = check(response, {
    'status is 200': (r) => r.status === 200,
    'is an event stream': (r) => (r.headers['Content-Type'] ?? '').startsWith('text/event-stream'),
    'ends with [DONE]': () => parsed.done,
    'no error event': () => parsed.error === undefined,
    'has content': () => parsed.contentChunks > 0,
    'generated max_tokens tokens': () => parsed.usage?.completion_tokens === maxTokens,
  });
  if (!ok || parsed.contentChunks === 0) {
    return;
  }

  const gap = response.timings.receiving / parsed.contentChunks;
  timeToHeaders.add(response.timings.waiting, { endpoint });
  ttft.add(response.timings.waiting + gap, { endpoint });
  itl.add(gap, { endpoint });
  outputTokens.add(parsed.usage?.completion_tokens ?? parsed.contentChunks, { endpoint });
  promptTokens.add(parsed.usage?.prompt_tokens ?? 0, { endpoint });
}
