// ls output for tree entries: names like tar members (no leading '/', directories end in '/'),
// the long form carries the same fields as `tar -tv` (type letter and rwx with s/S/t/T,
// user/group, size or major,minor, date, name, "-> target", "link to X"), and a JSON form.
import { ENTRY_TYPE_NAMES, EntryType, timespecToNs, type Entry } from '../tree/entry.js'
import { showPath } from './show-path.js'

const TYPE_LETTER: Record<EntryType, string> = {
  [EntryType.File]: '-',
  [EntryType.Dir]: 'd',
  [EntryType.Symlink]: 'l',
  [EntryType.CharDev]: 'c',
  [EntryType.BlockDev]: 'b',
  [EntryType.Fifo]: 'p',
}

export function modeString(type: string, mode: number): string {
  const r = (bit: number, c: string): string => (mode & bit ? c : '-')
  const x = (exec: number, special: number, on: string, off: string): string =>
    mode & special ? (mode & exec ? on : off) : mode & exec ? 'x' : '-'
  return type +
    r(0o400, 'r') + r(0o200, 'w') + x(0o100, 0o4000, 's', 'S') +
    r(0o040, 'r') + r(0o020, 'w') + x(0o010, 0o2000, 's', 'S') +
    r(0o004, 'r') + r(0o002, 'w') + x(0o001, 0o1000, 't', 'T')
}

function pad2(n: number): string {
  return String(n).padStart(2, '0')
}

/** Local time as tar -tv prints it: YYYY-MM-DD HH:MM. */
export function tarDate(sec: number): string {
  const d = new Date(sec * 1000)
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`
}

/** Member-style name: path without leading '/', directories with a trailing '/'. */
export function memberName(path: Buffer, e: Entry): string {
  return showPath(path) + (e.type === EntryType.Dir ? '/' : '')
}

/** A hardlink entry other than its group's first path shows as "link to" the first. */
export function linkTarget(path: Buffer, e: Entry): Buffer | null {
  if (e.type !== EntryType.File || !e.link) return null
  const first = e.link[0] === 0x2f ? e.link.subarray(1) : e.link
  return first.equals(path) ? null : first
}

export function longLine(path: Buffer, e: Entry, hardlinkTo: Buffer | null): string {
  const type = hardlinkTo ? 'h' : TYPE_LETTER[e.type]
  const owner = `${e.uname || e.uid}/${e.gname || e.gid}`
  const size = e.rdev ? `${e.rdev[0]},${e.rdev[1]}` : String(hardlinkTo ? 0 : e.size)
  let line = `${modeString(type, e.mode)} ${owner} ${size.padStart(Math.max(1, 19 - owner.length))} ${tarDate(e.mtime[0])} ${memberName(path, e)}`
  if (e.type === EntryType.Symlink && e.target) line += ` -> ${showPath(e.target)}`
  if (hardlinkTo) line += ` link to ${showPath(hardlinkTo)}`
  return line
}

function isUtf8(b: Buffer): boolean {
  return Buffer.from(b.toString('utf8')).equals(b)
}

export function jsonEntry(path: Buffer, e: Entry): Record<string, unknown> {
  const o: Record<string, unknown> = {
    path: '/' + showPath(path),
    type: ENTRY_TYPE_NAMES[e.type],
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    user: e.uname ?? null,
    group: e.gname ?? null,
    size: e.size,
    mtime: new Date(e.mtime[0] * 1000).toISOString().replace(/\.\d+Z$/, `.${String(e.mtime[1]).padStart(9, '0')}Z`),
    mtimeNs: timespecToNs(e.mtime).toString(),
  }
  if (!isUtf8(path)) o.pathBase64 = Buffer.concat([Buffer.from('/'), path]).toString('base64')
  if (e.target) o.target = showPath(e.target)
  if (e.rdev) o.rdev = e.rdev
  if (e.link) o.hardlink = '/' + showPath(e.link[0] === 0x2f ? e.link.subarray(1) : e.link)
  if (e.xattrs) o.xattrs = Object.fromEntries(e.xattrs.map(([k, v]) => [k.toString('latin1'), v.toString('base64')]))
  return o
}
