import type { Command } from './main.js'
import { UsageError } from '../errors.js'
const command: Command = { summary: 'tarshift cat', usage: 'not yet built\n', async run() { throw new UsageError('cat is not built yet') } }
export default command
