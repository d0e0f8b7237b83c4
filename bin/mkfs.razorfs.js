#!/usr/bin/env node
// mkfs.razorfs ARGS... is `razorfs mkfs ARGS...`.
import {main} from '../dist/commands/_shared/main.js'

await main(['mkfs', ...process.argv.slice(2)])
