// Progress on stderr: a bar with bytes, files, rate and ETA on a terminal; plain periodic
// lines otherwise; nothing with --progress none or --quiet. The total comes from the
// used space of the source file systems (statvfs), never from a fixed guess.
import { showPath } from '../restore/show-path.js'

export type ProgressMode = 'auto' | 'bar' | 'plain' | 'none'

export interface ProgressCounters {
  files: number
  dirs: number
  bytesRead: number
  bytesTotal: number
  current: Buffer | null
}

import { formatBytes } from '../format-bytes.js'
export { formatBytes }

function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?'
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = Math.floor(s % 60)
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(sec).padStart(2, '0')}s`
}

export class ProgressPrinter {
  private readonly mode: 'bar' | 'plain' | 'none'
  private last = performance.now()
  private readonly t0 = performance.now()

  constructor(mode: ProgressMode, private readonly estimate: number, private readonly interval = 0) {
    this.mode = mode === 'auto' ? (process.stderr.isTTY ? 'bar' : 'plain') : mode
    if (this.interval === 0) this.interval = this.mode === 'bar' ? 200 : 10_000
  }

  update(p: ProgressCounters, force = false): void {
    if (this.mode === 'none') return
    const now = performance.now()
    if (!force && now - this.last < this.interval) return
    this.last = now
    const secs = (now - this.t0) / 1000
    const rate = secs > 0 ? p.bytesTotal / secs : 0
    const total = Math.max(this.estimate, p.bytesTotal)
    const eta = rate > 0 ? (total - p.bytesTotal) / rate : Infinity
    const pct = total > 0 ? Math.min(100, (100 * p.bytesTotal) / total) : 0
    const stats = `${formatBytes(p.bytesTotal)} / ~${formatBytes(total)}, ${p.files} files, ${p.dirs} dirs, ${formatBytes(rate)}/s, ETA ${formatSeconds(eta)}`
    if (this.mode === 'bar') {
      const width = 24
      const fill = Math.round((pct / 100) * width)
      const line = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${pct.toFixed(0).padStart(3)}% ${stats}`
      const cols = process.stderr.columns ?? 100
      process.stderr.write(`\r${line.slice(0, cols - 1).padEnd(Math.min(cols - 1, line.length))}\x1b[K`)
    } else {
      process.stderr.write(`progress: ${pct.toFixed(0)}% ${stats}${p.current ? `, at ${showPath(p.current)}` : ''}\n`)
    }
  }

  done(): void {
    if (this.mode === 'bar') process.stderr.write('\n')
  }
}
