// Structured pino logging with stable operation names (`op`) and redaction of anything secret.
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export const redactPaths = [
  'password',
  'secret',
  'token',
  'authorization',
  '*.password',
  '*.secret',
  '*.secretKey',
  '*.secretAccessKey',
  '*.clientSecret',
  '*.token',
  '*.access_token',
  '*.assertion',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
];

export function createLogger(options: { name: string; level: string; destination?: pino.DestinationStream }): Logger {
  const opts: LoggerOptions = {
    name: options.name,
    level: options.level,
    redact: { paths: redactPaths, censor: '[redacted]' },
    base: { service: options.name },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}
