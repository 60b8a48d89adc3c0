// lib/restore/show-path.ts: display of byte paths (ls, warnings, errors).
// Readable rendering of byte paths for test messages, escaped the way GNU tar's default
// ("escape") quoting style does in a UTF-8 locale: printable UTF-8 is kept, a backslash becomes
// \\, the C control escapes (\a \b \t \n \v \f \r) are used, and every other byte of a control
// character, of a character glibc does not print, or not part of valid UTF-8 becomes a 3-digit
// octal escape (\377). The mapping is injective: two different paths never render the same.

// Beyond controls, glibc's iswprint() is false for line/paragraph separators and unassigned code
// points (noncharacters included); format and private-use characters count as printable.
// (V8 and glibc may disagree on code points assigned by a very recent Unicode version.)
const NOT_PRINTABLE = /^[\p{Zl}\p{Zp}\p{Cn}]$/u

const C_ESCAPES: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r' }

function octal(byte: number): string {
  return '\\' + byte.toString(8).padStart(3, '0')
}

/** Length of the valid UTF-8 sequence starting at i (1..4), or 0 if the byte there starts none. */
function utf8SeqLength(p: Buffer, i: number): number {
  const b0 = p[i] as number
  if (b0 < 0x80) return 1
  let len: number
  let min: number
  if (b0 >= 0xc2 && b0 <= 0xdf) [len, min] = [2, 0x80]
  else if (b0 >= 0xe0 && b0 <= 0xef) [len, min] = [3, 0x800]
  else if (b0 >= 0xf0 && b0 <= 0xf4) [len, min] = [4, 0x10000]
  else return 0
  if (i + len > p.length) return 0
  let cp = b0 & (0xff >> (len + 1))
  for (let k = 1; k < len; k++) {
    const b = p[i + k] as number
    if ((b & 0xc0) !== 0x80) return 0
    cp = (cp << 6) | (b & 0x3f)
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0
  return len
}

/** Escapes a byte path (or name) for display; an empty buffer renders as ''. */
export function showPath(p: Buffer): string {
  let out = ''
  let i = 0
  while (i < p.length) {
    const b = p[i] as number
    if (b === 0x5c) {
      out += '\\\\'
      i++
    } else if (b < 0x20 || b === 0x7f) {
      out += C_ESCAPES[b] ?? octal(b)
      i++
    } else if (b < 0x80) {
      out += String.fromCharCode(b)
      i++
    } else {
      const len = utf8SeqLength(p, i)
      const cp = len > 0 ? p.subarray(i, i + len).toString('utf8').codePointAt(0) ?? 0 : 0
      if (len === 0 || (cp >= 0x80 && cp <= 0x9f) || NOT_PRINTABLE.test(String.fromCodePoint(cp))) {
        // Undecodable byte, C1 control, or a character glibc's iswprint rejects: byte by byte.
        const n = Math.max(len, 1)
        for (let k = 0; k < n; k++) out += octal(p[i + k] as number)
        i += n
      } else {
        out += String.fromCodePoint(cp)
        i += len
      }
    }
  }
  return out
}
