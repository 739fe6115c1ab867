// Streamed text completions under a constant and then a ramping arrival rate.
//   k6 run -e BASE_URL=http://127.0.0.1:8000 -e MODEL=tl-q4_0.gguf loadtests/k6/completions.ts
// See loadtests/README.md for every setting and for how TTFT and ITL are estimated.
import type { Options } from 'k6/options';
import { baseUrl, intFromEnv, model, promptWords } from './lib/config.ts';
import { randomPrompt } from './lib/prompts.ts';
import { loadOptions } from './lib/scenarios.ts';
import { streamedRequest } from './lib/sse.ts';

export const options: Options = loadOptions(intFromEnv('TTFT_P90_MS', 5000));

export default function (): void {
  streamedRequest('completions', `${baseUrl}/v1/completions`, { model, prompt: randomPrompt(promptWords) });
}
