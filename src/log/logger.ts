import { logList, logValue } from './logValue.js';

export type LogLevel = 'info' | 'warn' | 'error';
export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined | readonly string[]>>;

/** Where lines go: the Functions InvocationContext in Azure, stdout/stderr in the local host. */
export type LogSink = (level: LogLevel, line: string) => void;

/**
 * One JSON object per line, so App Insights and `jq` can query fields. Callers pass diagnoses and
 * names, never keys or tokens: there is nothing here to redact because nothing secret is handed in.
 * Every string is escaped and bounded on the way out (`logValue`): much of what is logged came from
 * outside (claims, upstream messages), and no value may forge, reorder or flood a line.
 */
export class Logger {
  constructor(
    readonly sink: LogSink,
    readonly fields: LogFields = {},
  ) {}

  child(fields: LogFields): Logger {
    return new Logger(this.sink, { ...this.fields, ...fields });
  }

  info(event: string, fields: LogFields = {}): void {
    this.#write('info', event, fields);
  }

  warn(event: string, fields: LogFields = {}): void {
    this.#write('warn', event, fields);
  }

  error(event: string, fields: LogFields = {}): void {
    this.#write('error', event, fields);
  }

  #write(level: LogLevel, event: string, fields: LogFields): void {
    const line: Record<string, unknown> = { level, event };
    for (const [name, value] of Object.entries({ ...this.fields, ...fields })) {
      line[name] = typeof value === 'string' ? logValue(value) : isList(value) ? logList(value) : value;
    }
    this.sink(level, JSON.stringify(line));
  }
}

function isList(value: LogFields[string]): value is readonly string[] {
  return Array.isArray(value);
}

export const consoleSink: LogSink = (level, line) => {
  if (level === 'info') console.log(line);
  else console.error(line);
};
