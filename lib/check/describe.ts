// Small pure helpers that word check's findings: byte paths for display, bounded lists, ages,
// sizes, the reason of a corrupt object. (lib/cli/progress.ts has its own formatBytes; check does not import upward into cli.)
import type { CorruptObjectError } from '../errors.js'
import { showPath } from '../restore/show-path.js'

/** A saved path held as a latin1 string of its bytes, escaped for display as GNU tar does. */
export function showSavedPath(latin1: string): string {
  return showPath(Buffer.from(latin1, 'latin1'))
}

/** "a, b, c" or "a, b, c and 4 more" (at most `max` named). */
export function listSome(items: readonly string[], max = 5, more = 0): string {
  const shown = items.slice(0, max)
  const rest = items.length - shown.length + more
  return rest > 0 ? `${shown.join(', ')} and ${rest} more` : shown.join(', ')
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}

export function formatAge(ms: number): string {
  const s = Math.floor(ms / 1000)
  if (s < 120) return `${s} s`
  if (s < 7200) return `${Math.floor(s / 60)} min`
  if (s < 3 * 86400) return `${Math.floor(s / 3600)} h`
  return `${Math.floor(s / 86400)} d`
}

export { formatBytes as formatSize } from '../format-bytes.js'

/** The reason inside a CorruptObjectError's message ("corrupt object H: WHY (PATH); ..."). */
export function corruptWhy(e: CorruptObjectError): string {
  const m = /^corrupt object [0-9a-f]+: (.*) \([^()]*\); run tarshift check --repair$/s.exec(e.message)
  const why = m?.[1] ?? e.message
  const h = /^content hash is ([0-9a-f]+)$/.exec(why)
  return h ? `its content hashes to ${h[1]}, not to its name` : why
}
