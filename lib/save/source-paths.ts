// lib/save owns reading the file list, walking the source, change detection and the save
// pipeline. This file: the selection — which paths a save covers — as a trie of name bytes,
// built from PATH arguments (walked recursively) or a --files-from list (taken as given,
// as find produces it). Sorting into tree order falls out of walking the trie by name bytes.
import { TarshiftError } from '../errors.js'

export interface SelectionNode {
  /** Children by name (latin1 key of the name bytes, a 1:1 mapping). */
  children: Map<string, SelectionNode>
  /** This path was listed itself. */
  listed: boolean
  /** Walk everything below (a PATH argument). */
  recursive: boolean
}

export function newNode(): SelectionNode {
  return { children: new Map(), listed: false, recursive: false }
}

/** Split bytes into lines on '\n' (or NUL with `nul`), dropping empty ones. */
export function splitList(bytes: Buffer, nul: boolean): Buffer[] {
  const sep = nul ? 0 : 0x0a
  const out: Buffer[] = []
  let start = 0
  for (;;) {
    const i = bytes.indexOf(sep, start)
    const end = i < 0 ? bytes.length : i
    if (end > start) out.push(bytes.subarray(start, end))
    if (i < 0) break
    start = i + 1
  }
  return out
}

/** Absolute, lexically normalized components of a path given as bytes. */
export function pathComponents(p: Buffer, cwd: Buffer): Buffer[] {
  const full = p[0] === 0x2f ? p : Buffer.concat([cwd, Buffer.from('/'), p])
  const out: Buffer[] = []
  let start = 0
  for (let i = 0; i <= full.length; i++) {
    if (i === full.length || full[i] === 0x2f) {
      const c = full.subarray(start, i)
      start = i + 1
      if (c.length === 0 || (c.length === 1 && c[0] === 0x2e)) continue
      if (c.length === 2 && c[0] === 0x2e && c[1] === 0x2e) {
        out.pop()
        continue
      }
      out.push(c)
    }
  }
  return out
}

export function addPath(root: SelectionNode, components: Buffer[], recursive: boolean): void {
  let n = root
  for (const c of components) {
    const k = c.toString('latin1')
    let child = n.children.get(k)
    if (!child) {
      child = newNode()
      n.children.set(k, child)
    }
    n = child
  }
  n.listed = true
  if (recursive) n.recursive = true
}

export function buildSelection(paths: Buffer[], recursive: boolean, cwd: string): SelectionNode {
  const root = newNode()
  const cwdb = Buffer.from(cwd)
  for (const p of paths) addPath(root, pathComponents(p, cwdb), recursive)
  if (root.children.size === 0 && !root.listed) {
    throw new TarshiftError('TARSHIFT_USAGE', 'nothing to save: give PATH arguments or --files-from')
  }
  return root
}

/**
 * joinPath for a name given as a latin1 string (one char per byte), in one allocation: the
 * save joins one for every entry it meets.
 */
export function joinPathText(parent: Buffer, text: string): Buffer {
  const at = parent.length === 1 && parent[0] === 0x2f ? 1 : parent.length + 1
  const b = Buffer.allocUnsafe(at + text.length)
  parent.copy(b, 0)
  b[at - 1] = 0x2f
  b.write(text, at, 'latin1')
  return b
}

export function joinPath(parent: Buffer, name: Buffer): Buffer {
  if (parent.length === 1 && parent[0] === 0x2f) return Buffer.concat([parent, name])
  return Buffer.concat([parent, Buffer.from('/'), name])
}
