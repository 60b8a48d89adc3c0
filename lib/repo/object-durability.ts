// How a new object is made durable, by the file system the savedir is on (doc/format.md §9).
// Whatever the file system, an object's data reaches stable storage no later than its name: a
// crash (a power cut) may lose the name, never leave it naming an empty or short file that a
// later save would find, trust and reference.
import { readFileSync, statSync } from 'node:fs'
import { UsageError } from '../errors.js'
import { EXT_MAGIC, LOCAL_TYPES, TMPFS_MAGIC, savedirFsType } from './savedir-fs-type.js'

/**
 * - `ordered`: ext3/ext4 with ordered (the default) or journalled data, and tmpfs. The
 *   writeback is started before the rename (sync_file_range WRITE, not waited for): that
 *   allocates the blocks in the running journal transaction, whose commit waits for the data,
 *   and transactions commit in order, so a committed rename comes with the data. One syncfs()
 *   then makes a batch of names durable.
 * - `writeOut`: the other local file systems syncfs serves (xfs, btrfs, zfs, f2fs, ext2, ext4
 *   with data=writeback), which do not order data before metadata: the data is written out and
 *   waited for before the rename (sync_file_range WAIT_BEFORE | WRITE | WAIT_AFTER; the
 *   journal's commit flushes the disk's cache). One syncfs() per batch, as above.
 * - `fsync`: anything else (NFS, sshfs, CIFS...): fsync() of the temporary before its rename,
 *   and of the directories written into at the batch's end.
 */
export type ObjectDurability = 'ordered' | 'writeOut' | 'fsync'

/** The ids the C puts take (native/put-objects.c). */
export const DURABILITY_ID: Record<ObjectDurability, 0 | 1 | 2> = { ordered: 0, writeOut: 1, fsync: 2 }

const known = new Map<string, ObjectDurability>()

/** Whether one syncfs() on the savedir's file system makes everything written there durable. */
export function syncfsServes(d: ObjectDurability): boolean {
  return d !== 'fsync'
}

const MODES: readonly ObjectDurability[] = ['ordered', 'writeOut', 'fsync']

/**
 * The savedir's durability (found once per savedir and process), or the one
 * TARSHIFT_OBJECT_DURABILITY names: for a file system judged wrong (a local FUSE file system
 * that keeps no order: fsync), and for tests.
 */
export function objectDurability(savedir: string): ObjectDurability {
  const forced = process.env.TARSHIFT_OBJECT_DURABILITY
  if (forced) {
    if (!(MODES as readonly string[]).includes(forced)) throw new UsageError(`TARSHIFT_OBJECT_DURABILITY must be one of ${MODES.join(', ')}, not ${JSON.stringify(forced)}`)
    return forced as ObjectDurability
  }
  let d = known.get(savedir)
  if (d === undefined) {
    const type = savedirFsType(savedir)
    if (!LOCAL_TYPES.has(type)) d = 'fsync'
    else if (type === TMPFS_MAGIC) d = 'ordered'
    else if (type === EXT_MAGIC) d = extOrdersData(savedir) ? 'ordered' : 'writeOut'
    else d = 'writeOut'
    known.set(savedir, d)
  }
  return d
}

/**
 * Whether the ext2/3/4 file system holding `dir` journals with ordered or journalled data:
 * ext3 or ext4 in /proc/self/mountinfo, and no data=writeback among its options. False when
 * that cannot be told (the safe answer: writeOut).
 */
export function extOrdersData(dir: string, mountinfo?: string): boolean {
  let major: bigint, minor: bigint
  let text: string
  try {
    const dev = statSync(dir, { bigint: true }).dev
    major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn)
    minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn)
    text = mountinfo ?? readFileSync('/proc/self/mountinfo', 'latin1')
  } catch {
    return false
  }
  return mountOrdersData(text, `${major}:${minor}`)
}

/** The mountinfo lines of device `majorMinor` ("254:0") say ext3/4 without data=writeback. */
export function mountOrdersData(mountinfo: string, majorMinor: string): boolean {
  let found = false
  for (const line of mountinfo.split('\n')) {
    // id parent major:minor root mountpoint options [optional fields] - fstype source super-options
    const fields = line.split(' ')
    if (fields[2] !== majorMinor) continue
    const dash = fields.indexOf('-', 6)
    if (dash < 0) continue
    const fstype = fields[dash + 1]
    const options = `${fields[5] ?? ''},${fields[dash + 3] ?? ''}`.split(',')
    if ((fstype !== 'ext4' && fstype !== 'ext3') || options.includes('data=writeback')) return false
    found = true
  }
  return found
}
