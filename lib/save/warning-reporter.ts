// The one reporter for problems with source files: each is a warning (path, errno, what was
// done); the save goes on and ends with exit code 1. Notes (a skipped socket) do not count.
import { showPath } from '../restore/show-path.js'

export interface SourceWarning {
  path: string
  code: string
  message: string
}

export class WarningReporter {
  warnings: SourceWarning[] = []
  notes = 0
  /** Lines printed: a walk started again (restart()) does not print them twice. */
  private printed = new Set<string>()

  constructor(private readonly quiet: boolean, private readonly out: (line: string) => void = l => process.stderr.write(l)) {}

  warn(path: Buffer, code: string, what: string): void {
    const w = { path: showPath(path), code, message: what }
    this.warnings.push(w)
    this.print(`tarshift: warning: ${w.path}: ${what}${code ? ` (${code})` : ''}\n`)
  }

  /** The save walks the tree again from the start: forget the warnings, print each line once. */
  restart(): void {
    this.warnings = []
    this.notes = 0
  }

  private print(line: string): void {
    if (this.printed.has(line)) return
    this.printed.add(line)
    this.out(line)
  }

  note(path: Buffer, what: string): void {
    this.notes++
    if (!this.quiet) this.print(`tarshift: note: ${showPath(path)}: ${what}\n`)
  }

  get count(): number {
    return this.warnings.length
  }
}
