// lib/restore/tar-names.ts owns member names as bytes: the name a member is written under
// (directories end in '/'), the ustar prefix/name split, the ASCII-safe stand-in written into
// fixed header fields when a pax record carries the real bytes, and the name of the pax header
// itself. Names are Buffers end to end: never decoded, never normalized (display: show-path.ts).
import { isUtf8 } from 'node:buffer'

const SLASH = 0x2f
const UNDERSCORE = 0x5f

export const NAME_WIDTH = 100
export const PREFIX_WIDTH = 155
export const LINKNAME_WIDTH = 100
/** uname/gname fields are 32 bytes and NUL-terminated. */
export const OWNER_NAME_MAX = 31

/** The bytes a member is written under: its name, plus '/' for a directory. */
export function memberPath(name: Buffer, isDir: boolean): Buffer {
  return isDir ? Buffer.concat([name, Buffer.from('/')]) : name
}

export function isPlainAscii(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if ((bytes[i] as number) >= 0x80) return false
  return true
}

export function isValidUtf8(bytes: Buffer): boolean {
  return isUtf8(bytes)
}

const NO_PREFIX = Buffer.alloc(0)

/**
 * Split a path into ustar prefix (≤ 155 bytes) and name (≤ 100 bytes, not empty) at a '/',
 * the '/' itself dropped. Returns null when no split fits. Takes the longest prefix, as GNU tar.
 */
export function splitUstar(path: Buffer): { prefix: Buffer; name: Buffer } | null {
  if (path.length <= NAME_WIDTH) return { prefix: NO_PREFIX, name: path }
  // A trailing '/' (directory) belongs to the name part, never a split point.
  for (let i = Math.min(path.length - 2, PREFIX_WIDTH); i >= 1 && path.length - i - 1 <= NAME_WIDTH; i--) {
    if (path[i] === SLASH) return { prefix: path.subarray(0, i), name: path.subarray(i + 1) }
  }
  return null
}

/** A copy with every byte ≥ 0x80 replaced by '_', cut to `max` bytes. */
export function asciiSafe(bytes: Buffer, max: number): Buffer {
  return asciiInPlace(Buffer.from(bytes.subarray(0, max)), max)
}

/** `bytes` itself, cut to `max` bytes, with every byte ≥ 0x80 replaced by '_'. */
function asciiInPlace(bytes: Buffer, max: number): Buffer {
  const out = bytes.length > max ? bytes.subarray(0, max) : bytes
  for (let i = 0; i < out.length; i++) if ((out[i] as number) >= 0x80) out[i] = UNDERSCORE
  return out
}

const PAX_TAG = Buffer.from('/PaxHeaders/')

/**
 * The name GNU tar 1.34 gives an extended header: "<dir>/PaxHeaders/<base>", made ASCII-safe
 * and cut to the 100-byte name field ("PaxHeaders/<base>" when the directory is too long).
 */
export function paxHeaderName(path: Buffer): Buffer {
  let end = path.length
  while (end > 0 && path[end - 1] === SLASH) end--
  const slash = path.lastIndexOf(SLASH, end - 1)
  const dir = slash > 0 ? path.subarray(0, slash) : Buffer.from('.')
  const base = path.subarray(slash + 1, end)
  const full = dir.length + PAX_TAG.length + base.length
  const name = full <= NAME_WIDTH ? Buffer.concat([dir, PAX_TAG, base], full) : Buffer.concat([PAX_TAG.subarray(1), base])
  return asciiInPlace(name, NAME_WIDTH)
}
