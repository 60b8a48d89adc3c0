// User and group names of uids/gids, cached: a save meets few distinct owners.
import { native } from './native.js'

const users = new Map<number, string | null>()
const groups = new Map<number, string | null>()

export function userName(uid: number): string | undefined {
  let n = users.get(uid)
  if (n === undefined) {
    n = native.getpwuid(uid)
    users.set(uid, n)
  }
  return n ?? undefined
}

export function groupName(gid: number): string | undefined {
  let n = groups.get(gid)
  if (n === undefined) {
    n = native.getgrgid(gid)
    groups.set(gid, n)
  }
  return n ?? undefined
}
