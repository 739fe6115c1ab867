import type { Options } from 'k6/options';
import { intFromEnv, stringFromEnv } from './config.ts';

// Two open-model scenarios, one after the other: a constant arrival rate (RATE requests per second for DURATION),
// then a ramp (0 to MAX_RATE over RAMP_DURATION, held for RAMP_DURATION, back to 0). Arrival-rate executors start
// iterations on schedule whether or not earlier ones finished, like `serving bench serve`, so a slow server shows
// up as latency and dropped iterations rather than as a lower offered load. SCENARIO=constant or ramping runs one.

const rate = intFromEnv('RATE', 2);
const maxRate = intFromEnv('MAX_RATE', 8);
const duration = stringFromEnv('DURATION', '1m');
const rampDuration = stringFromEnv('RAMP_DURATION', '1m');
const maxVUs = intFromEnv('MAX_VUS', 128);
const selected = stringFromEnv('SCENARIO', 'both');

export function loadOptions(ttftThresholdMs: number): Options {
  const scenarios: NonNullable<Options['scenarios']> = {};
  if (selected === 'both' || selected === 'constant') {
    scenarios['constant'] = {
      executor: 'constant-arrival-rate',
      rate,
      timeUnit: '1s',
      duration,
      preAllocatedVUs: Math.min(maxVUs, rate * 4),
      maxVUs,
    };
  }

  if (selected === 'both' || selected === 'ramping') {
    scenarios['ramping'] = {
      executor: 'ramping-arrival-rate',
      startRate: 0,
      timeUnit: '1s',
      preAllocatedVUs: Math.min(maxVUs, maxRate * 4),
      maxVUs,
      stages: [
        { target: maxRate, duration: rampDuration },
        { target: maxRate, duration: rampDuration },
        { target: 0, duration: rampDuration },
      ],
      // After the constant scenario (plus its graceful stop) when both run.
      startTime: selected === 'both' ? `${durationSeconds(duration) + 30}s` : '0s',
    };
  }

  return {
    scenarios,
    thresholds: {
      http_req_failed: ['rate<0.01'],
      checks: ['rate>0.99'],
      ttft_ms: [`p(90)<${ttftThresholdMs}`],
    },
    summaryTrendStats: ['avg', 'med', 'p(90)', 'p(99)', 'max'],
  };
}

function durationSeconds(text: string): number {
  const match = /^(\d+)(s|m|h)$/.exec(text);
  if (match === null) {
    throw new Error(`durations are written like 90s, 2m or 1h, got '${text}'`);
  }

  const unit = match[2] === 'h' ? 3600 : match[2] === 'm' ? 60 : 1;
  return Number(match[1]) * unit;
}
