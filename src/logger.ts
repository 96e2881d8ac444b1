import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Paths pino blanks before a line is written. Credentials and secret material must never be
 * logged; this is the safety net for the day someone logs a whole request or input object.
 */
export const REDACTED_PATHS = [
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  'headers["x-api-key"]',
  '*.headers.cookie',
  'variables',
  '*.variables',
  'value',
  '*.value',
  '*.*.value',
  'secret',
  '*.secret',
  '*.*.secret',
  'apiKey',
  '*.apiKey',
  'token',
  '*.token',
  'password',
  '*.password',
  '*.secretKey',
  '*.webhookSecret',
  '*.*.secretKey',
  '*.*.webhookSecret',
  '*.testSecretKey',
  '*.liveSecretKey',
  '*.testWebhookSecret',
  '*.liveWebhookSecret',
];

/**
 * Without a destination, lines go to stdout through an asynchronous buffer: a request does not
 * wait for its log line to be written. Pino flushes that buffer when the process exits;
 * `flushLogs` before a planned exit.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { service: 'coffer' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** Writes out what is buffered; resolves when it is written (or could not be). */
export const flushLogs = (logger: Logger): Promise<void> => new Promise((resolve) => logger.flush(() => resolve()));
