/**
 * Errors that end tsuv with a documented exit code. Library code throws these; only the entry
 * points (cli.ts, worker entries) turn them into an exit, so everything stays testable.
 */
export const EXIT = {
  ok: 0,
  /** Bad configuration, or a refused prerequisite (e.g. thread mode where the runtime cannot). */
  config: 1,
  /** CLI usage error: unknown flag, bad value, bad combination. */
  usage: 2,
  /** The app could not be loaded, or its startup failed. */
  app: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class TsuvError extends Error {
  readonly exitCode: ExitCode;
  /** Extra detail (e.g. a stack) shown only at debug level. */
  readonly detail?: string;
  constructor(message: string, exitCode: ExitCode, detail?: string) {
    super(message);
    this.name = "TsuvError";
    this.exitCode = exitCode;
    this.detail = detail;
  }
}

export class UsageError extends TsuvError {
  constructor(message: string) {
    super(message, EXIT.usage);
    this.name = "UsageError";
  }
}

export class ConfigError extends TsuvError {
  constructor(message: string) {
    super(message, EXIT.config);
    this.name = "ConfigError";
  }
}

export class AppLoadError extends TsuvError {
  constructor(message: string, detail?: string) {
    super(message, EXIT.app, detail);
    this.name = "AppLoadError";
  }
}

export class StartupFailure extends TsuvError {
  constructor(detail?: string) {
    super("Application startup failed. Exiting.", EXIT.app, detail);
    this.name = "StartupFailure";
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Did a runtime's permission model refuse this (Deno's NotCapable without -A; Node's
 * ERR_ACCESS_DENIED under --permission), rather than the operating system or a missing file?
 */
export function deniedByPermissions(error: unknown): boolean {
  const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown };
  return name === "NotCapable" || code === "ERR_ACCESS_DENIED";
}
