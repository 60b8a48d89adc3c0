// Options shared by the commands that read a saveset (restore, ls, cat, diff).
import { checkName, type OptionSpec } from './options.js'
import type { ResolveFilter } from '../repo/saveset.js'

export const readerOptions: OptionSpec = {
  host: { type: 'string' },
  subset: { type: 'string' },
  'no-lock': { type: 'boolean' },
  wait: { type: 'string' },
}

export function filterFrom(values: Record<string, unknown>): ResolveFilter {
  const host = checkName('host', values.host as string | undefined)
  const subset = checkName('subset', values.subset as string | undefined)
  return { ...(host ? { host } : {}), ...(subset ? { subset } : {}) }
}
