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
  /** Lines the first walk printed, once the save walks again (restart()): not printed twice. */
  private printedBefore = new Set<string>()
  /** Note lines printed (few: sockets, mount points), remembered for restart(). */
  private noteLines: string[] = []

  constructor(private readonly quiet: boolean, private readonly out: (line: string) => void = l => process.stderr.write(l)) {}

  warn(path: Buffer, code: string, what: string): void {
    const w = { path: showPath(path), code, message: what }
    this.warnings.push(w)
    this.print(warningLine(w))
  }

  /** The save walks the tree again from the start: forget the warnings, print each line once. */
  restart(): void {
    for (const w of this.warnings) this.printedBefore.add(warningLine(w))
    for (const l of this.noteLines) this.printedBefore.add(l)
    this.warnings = []
    this.noteLines = []
    this.notes = 0
  }

  private print(line: string): void {
    if (!this.printedBefore.has(line)) this.out(line)
  }

  note(path: Buffer, what: string): void {
    this.notes++
    if (this.quiet) return
    const line = `tarshift: note: ${showPath(path)}: ${what}\n`
    this.noteLines.push(line)
    this.print(line)
  }

  get count(): number {
    return this.warnings.length
  }
}

function warningLine(w: SourceWarning): string {
  return `tarshift: warning: ${w.path}: ${w.message}${w.code ? ` (${w.code})` : ''}\n`
}
