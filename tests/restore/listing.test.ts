import t from 'tap'
import { modeString, longLine } from '../../lib/restore/listing.js'
import { aclToText } from '../../lib/restore/posix-acl.js'
import { EntryType, type Entry } from '../../lib/tree/entry.js'

t.test('mode strings as tar -tv prints them', async t => {
  const table: Array<[string, number, string]> = [
    ['-', 0o644, '-rw-r--r--'], ['-', 0o4755, '-rwsr-xr-x'], ['-', 0o4644, '-rwSr--r--'], ['d', 0o1777, 'drwxrwxrwt'],
    ['d', 0o1770, 'drwxrwx--T'], ['-', 0o2755, '-rwxr-sr-x'], ['-', 0, '----------'], ['h', 0o600, 'hrw-------'],
  ]
  for (const [type, mode, want] of table) t.equal(modeString(type, mode), want, want)
})

t.test('long lines carry device numbers, link targets and hardlinks', async t => {
  const base: Entry = { name: Buffer.from('x'), type: EntryType.CharDev, mode: 0o600, uid: 0, gid: 0, uname: 'root', gname: 'root', size: 0, mtime: [0, 0], ctime: [0, 0], ino: 1, rdev: [1, 3] }
  t.match(longLine(Buffer.from('dev/null'), base, null), /^crw------- root\/root +1,3 \d{4}-\d\d-\d\d \d\d:\d\d dev\/null$/)
  const sl = { ...base, type: EntryType.Symlink, mode: 0o777, target: Buffer.from('a\nb') }
  delete (sl as Partial<Entry>).rdev
  t.match(longLine(Buffer.from('l'), sl, null), / l -> a\\nb$/)
  const f = { ...base, type: EntryType.File, size: 10 }
  delete (f as Partial<Entry>).rdev
  t.match(longLine(Buffer.from('b'), f, Buffer.from('a')), /^hrw------- root\/root +0 .* b link to a$/)
})

t.test('POSIX ACL xattr values become GNU tar ACL text', async t => {
  const acl = Buffer.alloc(4 + 8 * 4)
  acl.writeUInt32LE(2, 0)
  const put = (i: number, tag: number, perm: number, id: number): void => {
    acl.writeUInt16LE(tag, 4 + 8 * i); acl.writeUInt16LE(perm, 6 + 8 * i); acl.writeUInt32LE(id, 8 + 8 * i)
  }
  put(0, 0x01, 6, 0xffffffff); put(1, 0x02, 4, 1000); put(2, 0x04, 4, 0xffffffff); put(3, 0x20, 0, 0xffffffff)
  t.equal(aclToText(acl), 'user::rw-,user:1000:r--,group::r--,other::---')
  t.equal(aclToText(Buffer.from('junk')), null)
})
