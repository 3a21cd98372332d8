/**
 * One levelled, structured logger per process.
 *
 * Lines are logfmt on stderr (`level=info src=proxy msg="listening" port=8877`), quiet by
 * default: debug lines appear only with `--verbose`. Fields that may carry credentials are
 * redacted here, so callers can log a URL or a header map without thinking about secrets.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(source: string): Logger;
}

const LEVEL_RANK: Record<LogLevel, number> = {
  debug: 10,
  info: 20,
  warn: 30,
  error: 40,
  silent: 99,
};

const SECRET_FIELD = /authorization|cookie|token|secret|password|api[-_]?key|^key$/i;

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; stderr by default so stdout stays free for command output. */
  write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions = {}, source = 'tollgate'): Logger {
  const threshold = LEVEL_RANK[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));

  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (LEVEL_RANK[level] < threshold) return;
    write(formatLine(level, source, msg, fields));
  };

  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (childSource) => createLogger(options, childSource),
  };
}

/** A logger that drops everything, for tests and library use. */
export const silentLogger: Logger = createLogger({ level: 'silent' });

function formatLine(level: LogLevel, source: string, msg: string, fields?: LogFields): string {
  const parts = [`level=${level}`, `src=${source}`, `msg=${quote(msg)}`];
  for (const [name, value] of Object.entries(fields ?? {})) {
    if (value === undefined) continue;
    parts.push(`${name}=${quote(redact(name, value))}`);
  }
  return parts.join(' ');
}

function redact(name: string, value: unknown): string {
  if (SECRET_FIELD.test(name)) return '[redacted]';
  if (value instanceof Error) return value.message;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return stripQuery(text);
}

/** URL queries often carry api keys (`?api_key=`), so logs keep only the path. */
function stripQuery(text: string): string {
  return text.replace(/(https?:\/\/[^\s?"]+)\?[^\s"]*/g, '$1?[query]');
}

function quote(text: string): string {
  return /[\s"=]/.test(text) || text === '' ? JSON.stringify(text) : text;
}
