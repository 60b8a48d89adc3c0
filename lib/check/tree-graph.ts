// The shape of the savedir as the check walk found it, kept to name what a damaged object
// costs: which savesets reach a tree and through which saved paths. Trees are shared between
// savesets (a Merkle DAG: an unchanged directory is one object used by every saveset that has
// it, at whatever path), so the walk reads each tree once and records here only the upward
// edges: child → (parent, entry name). A tree index part hangs under its index with no name.
// Pure: no I/O. Memory: one edge per (parent tree, subdirectory entry), about one per tree.
//
// Names and paths are held as latin1 strings (one char per byte: compact, and exactly
// reversible to the original bytes with Buffer.from(s, 'latin1')).

/** Parent tree and the entry name under which it lists the child; name null: index part. */
interface Edge {
  parent: string
  name: string | null
}

export interface PathsOf {
  /** Saved paths (latin1 strings of the path bytes, '/'-rooted), distinct, at most the limit. */
  paths: string[]
  /** Further paths exist. */
  more: boolean
}

export class TreeGraph {
  private readonly up = new Map<string, Edge | Edge[]>()
  private readonly roots = new Map<string, string[]>()
  private readonly rank = new Map<string, number>()
  private readonly savesetMemo = new Map<string, Set<string>>()
  private readonly pathMemo = new Map<string, PathsOf>()

  constructor(private readonly pathLimit = 5) {}

  /** Saveset `id` has root tree `hex`. Savesets are reported in the order they were added. */
  addRoot(hex: string, id: string): void {
    if (!this.rank.has(id)) this.rank.set(id, this.rank.size)
    const l = this.roots.get(hex)
    if (l) l.push(id)
    else this.roots.set(hex, [id])
  }

  /** Tree `parent` lists `child` under entry `name` (latin1), or as a part (name null). */
  addEdge(child: string, parent: string, name: string | null): void {
    const e: Edge = { parent, name }
    const cur = this.up.get(child)
    if (cur === undefined) this.up.set(child, e)
    else if (Array.isArray(cur)) cur.push(e)
    else this.up.set(child, [cur, e])
  }

  private edges(hex: string): readonly Edge[] {
    const cur = this.up.get(hex)
    return cur === undefined ? [] : Array.isArray(cur) ? cur : [cur]
  }

  private savesetSet(hex: string): Set<string> {
    const memo = this.savesetMemo.get(hex)
    if (memo) return memo
    const out = new Set<string>()
    // Set before recursing: a cycle (impossible between hash-named objects) cannot loop.
    this.savesetMemo.set(hex, out)
    for (const id of this.roots.get(hex) ?? []) out.add(id)
    for (const e of this.edges(hex)) for (const id of this.savesetSet(e.parent)) out.add(id)
    return out
  }

  /** Every saveset whose tree reaches `hex`, in saveset order. */
  savesetsOf(hex: string): string[] {
    return this.sortSavesets(this.savesetSet(hex))
  }

  sortSavesets(ids: Iterable<string>): string[] {
    return [...ids].sort((a, b) => (this.rank.get(a) ?? 0) - (this.rank.get(b) ?? 0))
  }

  /** Saved paths at which tree `hex` is found (the directory it is), at most the limit. */
  pathsOf(hex: string): PathsOf {
    const memo = this.pathMemo.get(hex)
    if (memo) return memo
    const out: PathsOf = { paths: [], more: false }
    this.pathMemo.set(hex, out)
    const seen = new Set<string>()
    const add = (p: string): void => {
      if (seen.has(p)) return
      if (out.paths.length >= this.pathLimit) {
        out.more = true
        return
      }
      seen.add(p)
      out.paths.push(p)
    }
    if (this.roots.has(hex)) add('/')
    for (const e of this.edges(hex)) {
      const above = this.pathsOf(e.parent)
      if (above.more) out.more = true
      for (const p of above.paths) add(e.name === null ? p : childPath(p, e.name))
    }
    return out
  }

  /** One saved path of tree `hex` within saveset `id`, or null when the saveset does not reach it. */
  pathIn(hex: string, id: string): string | null {
    if (this.roots.get(hex)?.includes(id)) return '/'
    for (const e of this.edges(hex)) {
      if (!this.savesetSet(e.parent).has(id)) continue
      const p = this.pathIn(e.parent, id)
      if (p !== null) return e.name === null ? p : childPath(p, e.name)
    }
    return null
  }
}

/** The saved path of entry `name` (latin1) in the directory at `dir` (latin1, '/'-rooted). */
export function childPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`
}
