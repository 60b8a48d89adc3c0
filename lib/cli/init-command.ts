import type { Command } from './main.js'
import { parse, parseSize, savedirFrom } from './options.js'
import { initSavedir } from '../repo/init.js'
import { codecByName } from '../codec/codec.js'

const command: Command = {
  summary: 'tarshift init: create a savedir',
  usage: `usage: tarshift init [-r SAVEDIR] [--compression zstd|xz|none] [--chunk-size AVG]

  -r, --savedir DIR     where to create it (or TARSHIFT_SAVEDIR); must be new or empty
  --compression C       default codec for new objects: zstd (default, level 3), xz, none
  --chunk-size AVG      average chunk size, a power of two (default 2M; min AVG/4, max AVG*4)
`,
  async run(argv) {
    const { values } = parse(argv, { compression: { type: 'string' }, 'chunk-size': { type: 'string' } })
    const dir = savedirFrom(values)
    const compression = values.compression === undefined ? undefined : codecByName(values.compression as string).name
    const chunkAvg = values['chunk-size'] === undefined ? undefined : parseSize(values['chunk-size'] as string, '--chunk-size')
    const c = initSavedir(dir, { ...(compression ? { compression } : {}), ...(chunkAvg ? { chunkAvg } : {}) })
    process.stderr.write(`created savedir ${dir} (id ${c.id}, ${c.compression}, chunks ${c.chunker.min}/${c.chunker.avg}/${c.chunker.max})\n`)
    return 0
  },
}
export default command
