/** Structured diagnostics on stderr (pino); data goes to stdout, never here. */
import { pino, type Logger } from 'pino';
import { PortwatchError } from '../errors.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function createLogger(level: string): Logger {
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new PortwatchError('EUSAGE', `invalid log level '${level}': use one of ${LOG_LEVELS.join(', ')}`);
  }
  return pino({ name: 'portwatch', level }, pino.destination({ dest: 2, sync: true }));
}
