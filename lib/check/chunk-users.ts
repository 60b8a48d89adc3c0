// The distinct data chunks the savesets reference, each with its length (as the entries say;
// for an object only sliced, the bytes its slices need at least)
// and the first few (tree, entry name) pairs that use it: enough to name the files and
// savesets a damaged chunk costs without keeping every reference (an appended log shares its
// first chunks with every earlier version of itself). A chunk with more users than kept is
// marked, and the check looks its users up again, once, only if it turns out damaged.
// Names are latin1 strings of the name bytes; tree names are interned by the caller.

import type { ChunkRef } from '../tree/entry.js'

export const USERS_KEPT = 4

export interface ChunkUse {
  /** Length in bytes as the first entry that uses it whole says; undefined when only sliced. */
  length: number | undefined
  /** Bytes the slices of it need (the largest offset + length), 0 when none. */
  atLeast: number
  /** Flattened pairs: tree hex, entry name (latin1), tree hex, entry name, ... */
  users: string[]
  /** More users exist than `users` holds. */
  overflow: boolean
}

export class ChunkUsers {
  private readonly map = new Map<string, ChunkUse>()

  get size(): number {
    return this.map.size
  }

  /** Record a use; returns true when the chunk was not known before. */
  add(hash: string, ref: ChunkRef, tree: string, name: string): boolean {
    const whole = ref.offset === undefined ? ref.length : undefined
    const needs = ref.offset === undefined ? 0 : ref.offset + ref.length
    const cur = this.map.get(hash)
    if (cur === undefined) {
      this.map.set(hash, { length: whole, atLeast: needs, users: [tree, name], overflow: false })
      return true
    }
    cur.length ??= whole
    if (needs > cur.atLeast) cur.atLeast = needs
    const n = cur.users.length
    // A file repeating a chunk (zeros) lists it many times: one user.
    if (cur.users[n - 2] === tree && cur.users[n - 1] === name) return false
    if (n < USERS_KEPT * 2) cur.users.push(tree, name)
    else cur.overflow = true
    return false
  }

  get(hash: string): ChunkUse | undefined {
    return this.map.get(hash)
  }

  has(hash: string): boolean {
    return this.map.has(hash)
  }

  /** Replace the users of a chunk by a complete list (after looking them up again). */
  setUsers(hash: string, users: string[]): void {
    const cur = this.map.get(hash)
    if (cur) {
      cur.users = users
      cur.overflow = false
    }
  }

  hashes(): IterableIterator<string> {
    return this.map.keys()
  }
}

/** The (tree, name) pairs of a flattened user list. */
export function userPairs(users: readonly string[]): Array<[tree: string, name: string]> {
  const out: Array<[string, string]> = []
  for (let i = 0; i + 1 < users.length; i += 2) out.push([users[i] as string, users[i + 1] as string])
  return out
}
