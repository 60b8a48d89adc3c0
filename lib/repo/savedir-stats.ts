// Savedir totals for `info`: object counts and sizes from the object files themselves
// (a stat and a 16-byte header read each; nothing is decompressed).
import { closeSync, openSync, readSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { decodeHeader, HEADER_SIZE, ObjectKind } from '../codec/object-header.js'
import { isSystemError, savedirIoError } from '../errors.js'
import { objectDirs } from './layout.js'
import { isTempName } from './atomic-write.js'

export interface ObjectTotals {
  objects: number
  dataObjects: number
  treeObjects: number
  /** Bytes on disk of the .data files. */
  storedBytes: number
  /** Uncompressed bytes the objects hold. */
  rawBytes: number
  temporaries: number
  unreadable: number
}

export function objectTotals(savedir: string): ObjectTotals {
  const t: ObjectTotals = { objects: 0, dataObjects: 0, treeObjects: 0, storedBytes: 0, rawBytes: 0, temporaries: 0, unreadable: 0 }
  const head = Buffer.alloc(HEADER_SIZE)
  for (const { dir, names } of objectDirs(savedir)) {
    for (const n of names) {
      if (isTempName(n)) {
        t.temporaries++
        continue
      }
      if (!n.endsWith('.data')) continue
      const p = join(dir, n)
      try {
        const size = statSync(p).size
        const fd = openSync(p, 'r')
        let got: number
        try {
          got = readSync(fd, head, 0, HEADER_SIZE, 0)
        } finally {
          closeSync(fd)
        }
        const h = decodeHeader(head.subarray(0, got))
        if (typeof h === 'string') {
          t.unreadable++
          continue
        }
        t.objects++
        t.storedBytes += size
        t.rawBytes += h.length
        if (h.kind === ObjectKind.Data) t.dataObjects++
        else t.treeObjects++
      } catch (e) {
        if (isSystemError(e, 'ENOENT')) continue // expired meanwhile
        throw savedirIoError(e, 'reading an object header', p)
      }
    }
  }
  return t
}
