// --exclude PATTERN: shell globs as GNU tar's --exclude, matched against the full path and
// against each name. Matching is fnmatch(3) on bytes (flags 0: `*` and `?` also match `/`, a
// leading `.` is not special, `\` escapes; the C locale), in native/read-ahead.c: the save's
// walk and its read-ahead thread match through the same function, so they always agree.
import { native } from '../fs/native.js'
import { UsageError } from '../errors.js'

/** Patterns as fnmatch takes them: bytes (UTF-8 of the text), a trailing `/` taken off. */
export function excludePatternBytes(patterns: string[]): Buffer[] {
  return patterns.map(p => {
    const b = Buffer.from(p.replace(/\/+$/, ''))
    if (b.includes(0)) throw new UsageError(`--exclude: a pattern cannot hold a NUL byte: ${JSON.stringify(p)}`)
    return b
  })
}

export class Excluder {
  private readonly handle: unknown
  readonly empty: boolean

  constructor(patterns: string[]) {
    this.empty = patterns.length === 0
    this.handle = native.excluder(excludePatternBytes(patterns))
  }

  /** Whether `path` (whose last bytes are `name`) is excluded. */
  excludes(path: Buffer, name: Buffer): boolean {
    if (this.empty) return false
    return native.excludesPath(this.handle, path, name.length)
  }
}
