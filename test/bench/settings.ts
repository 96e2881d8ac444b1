/** The benchmark's knobs, all from the environment and the command line (see README "Benchmarks"). */

const number = (name: string, fallback: number, { allowZero = false } = {}) => {
  const raw = process.env[name];
  const value = raw === undefined || raw.trim() === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new Error(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${raw}`);
  }
  return value;
};

/** Seconds measured per row and round. */
export const DURATION = number('BENCH_DURATION', 5);
/** Seconds of load before each measured run (JIT, connection pools, caches); not counted. */
export const WARMUP = number('BENCH_WARMUP', Math.min(1, DURATION), { allowZero: true });
/** Every row runs once per round; figures are medians over rounds. */
export const ROUNDS = Math.trunc(number('BENCH_ROUNDS', 5));
/** Connection counts each HTTP row is measured at (unless a row declares its own). */
export const CONNECTIONS: readonly number[] = (process.env.BENCH_CONNECTIONS ?? '10,50')
  .split(',')
  .map((part) => Number(part.trim()))
  .filter((value, index, all) => {
    if (!Number.isInteger(value) || value < 1) throw new Error('BENCH_CONNECTIONS must be a list of positive integers, e.g. 10,50');
    return all.indexOf(value) === index;
  });
/** When set, the HTTP rows run on a throw-away database of this PostgreSQL server too. */
export const POSTGRES_SERVER_URL = process.env.BENCH_DATABASE_URL?.trim() || undefined;
/** Starts timed per database for the start-up and idle-memory rows. */
export const STARTS = 3;
/** Pause between "ready" and reading the idle RSS, so start-up garbage has been collected or not. */
export const SETTLE_MS = 2_000;

export const FILTERS = process.argv.slice(2).map((word) => word.toLowerCase());
export const selected = (name: string) => FILTERS.length === 0 || FILTERS.some((word) => name.toLowerCase().includes(word));
