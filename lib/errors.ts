// Error classes shared by every domain. Each carries a stable `code`; the CLI maps codes
// to exit codes in one place (lib/cli/exit-codes.ts). Savedir problems are TarshiftErrors
// and fatal; source-file problems never become errors (they go to the warning reporter).

export type ErrorCode =
  | 'TARSHIFT_USAGE'
  | 'TARSHIFT_NOT_A_SAVEDIR'
  | 'TARSHIFT_SAVEDIR_EXISTS'
  | 'TARSHIFT_SAVEDIR_NOT_EMPTY'
  | 'TARSHIFT_FORMAT_TOO_NEW'
  | 'TARSHIFT_BAD_CONFIG'
  | 'TARSHIFT_CORRUPT_OBJECT'
  | 'TARSHIFT_MISSING_OBJECT'
  | 'TARSHIFT_SAVEDIR_IO'
  | 'TARSHIFT_NO_SPACE'
  | 'TARSHIFT_UNKNOWN_BACKUP'
  | 'TARSHIFT_AMBIGUOUS_BACKUP'
  | 'TARSHIFT_NO_SUCH_PATH'
  | 'TARSHIFT_NOT_A_FILE'
  | 'TARSHIFT_TERMINAL_OUTPUT'
  | 'TARSHIFT_SOURCE_LIST'
  | 'TARSHIFT_RESTORE_DAMAGED'
  | 'TARSHIFT_LOCKED'
  | 'TARSHIFT_INTERRUPTED'
  | 'TARSHIFT_CHECK_FAILED'
  | 'TARSHIFT_TAR_UNREPRESENTABLE'

export interface ErrorDetail {
  path?: string
  syscall?: string
  cause?: unknown
}

export class TarshiftError extends Error {
  readonly code: ErrorCode
  readonly path?: string
  readonly syscall?: string

  constructor(code: ErrorCode, message: string, detail: ErrorDetail = {}) {
    super(message, detail.cause === undefined ? undefined : { cause: detail.cause })
    this.name = 'TarshiftError'
    this.code = code
    if (detail.path !== undefined) this.path = detail.path
    if (detail.syscall !== undefined) this.syscall = detail.syscall
  }
}

export class UsageError extends TarshiftError {
  constructor(message: string) {
    super('TARSHIFT_USAGE', message)
    this.name = 'UsageError'
  }
}

/** An object in the savedir whose bytes do not match its name or cannot be decoded. */
export class CorruptObjectError extends TarshiftError {
  readonly hash: string
  readonly why: string
  constructor(hash: string, path: string, why: string) {
    super('TARSHIFT_CORRUPT_OBJECT', `corrupt object ${hash}: ${why} (${path}); run tarshift check --repair`, { path })
    this.name = 'CorruptObjectError'
    this.hash = hash
    this.why = why
  }
}

export class MissingObjectError extends TarshiftError {
  readonly hash: string
  constructor(hash: string, path: string) {
    super('TARSHIFT_MISSING_OBJECT', `missing object ${hash} (${path}); run tarshift check`, { path, syscall: 'open' })
    this.name = 'MissingObjectError'
    this.hash = hash
  }
}

/** Node's system errors carry these fields. */
export interface SystemError extends Error {
  code?: string
  errno?: number
  syscall?: string
  path?: string
}

export function isSystemError(e: unknown, ...codes: string[]): e is SystemError {
  return e instanceof Error && typeof (e as SystemError).code === 'string' &&
    (codes.length === 0 || codes.includes((e as SystemError).code as string))
}

/**
 * Wrap an OS error met while touching the savedir into a fatal TarshiftError that says
 * what failed, where, and what to do next.
 */
export function savedirIoError(e: unknown, what: string, path: string): TarshiftError {
  if (e instanceof TarshiftError) return e
  const se = e as SystemError
  const syscall = se.syscall
  if (se.code === 'ENOSPC' || se.code === 'EDQUOT') {
    return new TarshiftError('TARSHIFT_NO_SPACE',
      `no space left on the savedir while ${what} (${path}); free space or run tarshift expire, then save again`,
      { path, ...(syscall ? { syscall } : {}), cause: e })
  }
  const reason = se.code ?? (e instanceof Error ? e.message : String(e))
  return new TarshiftError('TARSHIFT_SAVEDIR_IO', `${what} failed: ${reason} (${path})`,
    { path, ...(syscall ? { syscall } : {}), cause: e })
}
