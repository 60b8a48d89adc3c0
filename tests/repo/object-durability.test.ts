import t from 'tap'
import { statSync } from 'node:fs'
import { DURABILITY_ID, extOrdersData, mountOrdersData, objectDurability, syncfsServes } from '../../lib/repo/object-durability.js'
import { tmpDirFor } from '../helpers/fixture-tree.js'

// Lines as /proc/self/mountinfo has them: id parent major:minor root mountpoint options
// [optional fields] - fstype source super-options.
const MOUNTINFO = [
  '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict',
  '30 27 254:1 / /srv rw,relatime shared:5 - ext4 /dev/vdb rw,data=writeback',
  '31 27 254:2 / /old rw,relatime - ext2 /dev/vdc rw',
  '32 27 254:3 / /data rw,relatime master:1 shared:7 - xfs /dev/vdd rw,attr2,inode64',
  '33 27 254:4 / /j rw - ext3 /dev/vde rw,data=journal',
  '34 27 254:0 /home /home rw,relatime - ext4 /dev/vda rw,discard,resv_strict',
  '',
].join('\n')

t.test('ext3/ext4 order data unless mounted data=writeback; ext2, xfs and unknown devices do not', async t => {
  t.ok(mountOrdersData(MOUNTINFO, '254:0'), 'ext4, default options (and a bind mount of it)')
  t.notOk(mountOrdersData(MOUNTINFO, '254:1'), 'ext4 data=writeback (optional fields before the dash)')
  t.notOk(mountOrdersData(MOUNTINFO, '254:2'), 'ext2: no journal')
  t.notOk(mountOrdersData(MOUNTINFO, '254:3'), 'xfs')
  t.ok(mountOrdersData(MOUNTINFO, '254:4'), 'ext3 data=journal')
  t.notOk(mountOrdersData(MOUNTINFO, '9:9'), 'a device not listed: not known to order')
  t.notOk(mountOrdersData('garbage\nmore garbage', '254:0'), 'unreadable lines')
})

t.test('extOrdersData reads the device of the directory from stat', async t => {
  const dir = tmpDirFor(t)
  const dev = statSync(dir).dev
  const majorMinor = `${Math.floor(dev / 256) & 0xfff}:${(dev & 0xff) | ((Math.floor(dev / 4096) & ~0xff) >>> 0)}`
  t.ok(extOrdersData(dir, `1 1 ${majorMinor} / / rw - ext4 /dev/x rw\n`), 'its device as ext4: ordered')
  t.notOk(extOrdersData(dir, `1 1 ${majorMinor} / / rw - ext4 /dev/x rw,data=writeback\n`), 'as ext4 data=writeback: not')
  t.notOk(extOrdersData('/nonexistent/dir', MOUNTINFO), 'a directory that cannot be stat\'ed: not known to order')
})

t.test('objectDurability: by file system, or as TARSHIFT_OBJECT_DURABILITY says; a bad value is a usage error', async t => {
  const before = process.env.TARSHIFT_OBJECT_DURABILITY
  t.teardown(() => {
    if (before === undefined) delete process.env.TARSHIFT_OBJECT_DURABILITY
    else process.env.TARSHIFT_OBJECT_DURABILITY = before
  })
  delete process.env.TARSHIFT_OBJECT_DURABILITY
  t.equal(objectDurability('/dev/shm'), 'ordered', 'tmpfs')
  t.equal(objectDurability('/proc'), 'fsync', 'a file system syncfs does not serve (proc)')
  t.throws(() => objectDurability('/nonexistent/savedir'), { code: 'TARSHIFT_SAVEDIR_IO', syscall: 'statfs' })
  for (const m of ['ordered', 'writeOut', 'fsync'] as const) {
    process.env.TARSHIFT_OBJECT_DURABILITY = m
    t.equal(objectDurability('/dev/shm'), m, `forced: ${m}`)
  }
  process.env.TARSHIFT_OBJECT_DURABILITY = 'never'
  t.throws(() => objectDurability('/dev/shm'), { code: 'TARSHIFT_USAGE', message: /TARSHIFT_OBJECT_DURABILITY must be one of ordered, writeOut, fsync/ })
  t.same(DURABILITY_ID, { ordered: 0, writeOut: 1, fsync: 2 }, 'the ids of native/put-objects.c')
  t.ok(syncfsServes('ordered') && syncfsServes('writeOut') && !syncfsServes('fsync'))
})
