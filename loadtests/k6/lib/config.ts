// Settings shared by every script, all from the environment (k6 run -e NAME=value ...).

export const baseUrl: string = (__ENV.BASE_URL ?? 'http://127.0.0.1:8000').replace(/\/+$/, '');
export const model: string = __ENV.MODEL ?? 'default';
export const apiKey: string | undefined = __ENV.API_KEY;

/** Tokens each request generates (sent with ignore_eos, so every request produces exactly this many). */
export const maxTokens: number = intFromEnv('MAX_TOKENS', 64);

/** Words in each prompt; the server's tokenizer decides how many tokens that is. */
export const promptWords: number = intFromEnv('PROMPT_WORDS', 100);

export function intFromEnv(name: string, fallback: number): number {
  const text = __ENV[name];
  if (text === undefined || text === '') {
    return fallback;
  }

  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${name} must be a positive number, got '${text}'`);
  }

  return value;
}

export function stringFromEnv(name: string, fallback: string): string {
  const text = __ENV[name];
  return text === undefined || text === '' ? fallback : text;
}

export function headers(): Record<string, string> {
  const result: Record<string, string> = { 'Content-Type': 'application/json' };
  if (apiKey !== undefined && apiKey !== '') {
    result['Authorization'] = `Bearer ${apiKey}`;
  }

  return result;
}
