// Shared option handling for every command: the savedir, --host/--subset, durations, sizes.
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { resolve } from 'node:path'
import { UsageError } from '../errors.js'
import { NAME_RE } from '../repo/saveset.js'

export type OptionSpec = NonNullable<ParseArgsConfig['options']>

export const commonOptions: OptionSpec = {
  savedir: { type: 'string', short: 'r' },
  help: { type: 'boolean', short: 'h' },
  debug: { type: 'boolean' },
}

export function parse(argv: string[], options: OptionSpec): { values: Record<string, unknown>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...commonOptions, ...options }, allowPositionals: true, strict: true })
    return { values: values as Record<string, unknown>, positionals }
  } catch (e) {
    throw new UsageError(`${(e as Error).message.replace(/\. To specify.*$/s, '')}; see --help`)
  }
}

export function savedirFrom(values: Record<string, unknown>): string {
  const d = (values.savedir as string | undefined) ?? process.env.TARSHIFT_SAVEDIR
  if (!d) throw new UsageError('no savedir: give -r SAVEDIR or set TARSHIFT_SAVEDIR')
  return resolve(d)
}

export function checkName(kind: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined
  if (!NAME_RE.test(v)) throw new UsageError(`${kind} "${v}" is unusable: use 1-64 of A-Z a-z 0-9 . _ -`)
  return v
}

const UNITS: Record<string, number> = {
  s: 1, min: 60, h: 3600, d: 86400, w: 7 * 86400, m: 30.436875 * 86400, y: 365.2425 * 86400,
}

/** Durations: a number and a unit (s, min, h, d, w, m = months, y): 90d, 36h, 5min, 1y. In ms. */
export function parseDuration(v: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|min|h|d|w|m|y)$/.exec(v.trim())
  if (!m) throw new UsageError(`${what}: "${v}" is not a duration; use a number and a unit: 30s, 5min, 36h, 90d, 12w, 6m, 1y`)
  return Number(m[1]) * (UNITS[m[2] as string] as number) * 1000
}

/** Sizes: 2M, 512K, 1G, or bytes. */
export function parseSize(v: string, what: string): number {
  const m = /^(\d+)([KMG]i?B?)?$/i.exec(v.trim())
  if (!m) throw new UsageError(`${what}: "${v}" is not a size; use e.g. 512K, 2M, 1G`)
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').charAt(0).toLowerCase() as '' | 'k' | 'm' | 'g']
  return Number(m[1]) * mult
}

export function intOption(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${what} takes a whole number, not "${String(v)}"`)
  return n
}
