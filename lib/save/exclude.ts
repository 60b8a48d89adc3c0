// --exclude PATTERN: shell globs as GNU tar's --exclude, matched against the full path and
// against each name. Matching is on bytes (latin1 strings map bytes 1:1).

function globToRegExp(glob: string): RegExp {
  let re = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string
    if (c === '*') re += '.*'
    else if (c === '?') re += '.'
    else if (c === '[') {
      const j = glob.indexOf(']', i + 2)
      if (j < 0) { re += '\\['; continue }
      let cls = glob.slice(i + 1, j)
      if (cls.startsWith('!')) cls = '^' + cls.slice(1)
      re += `[${cls.replace(/\\/g, '\\\\')}]`
      i = j
    } else if (c === '\\' && i + 1 < glob.length) {
      re += '\\' + glob[++i]
    } else re += c.replace(/[.+^${}()|\]\\/]/g, m => '\\' + m)
  }
  return new RegExp(`^${re}$`, 's')
}

export class Excluder {
  private readonly pats: RegExp[]
  constructor(patterns: string[]) {
    // Patterns are given as text; compare against latin1 views of the path bytes.
    this.pats = patterns.map(p => globToRegExp(Buffer.from(p).toString('latin1').replace(/\/+$/, '')))
  }

  get empty(): boolean {
    return this.pats.length === 0
  }

  excludes(path: Buffer, name: Buffer): boolean {
    if (this.pats.length === 0) return false
    const full = path.toString('latin1')
    const base = name.toString('latin1')
    return this.pats.some(r => r.test(base) || r.test(full))
  }
}
