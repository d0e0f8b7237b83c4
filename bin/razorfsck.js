#!/usr/bin/env node
// razorfsck / fsck.razorfs ARGS... is `razorfs fsck ARGS...`; if fsck is unavailable that is an fsck(8) operational error (8).
import {FSCK_EXIT} from '../dist/core/index.js'
import {main} from '../dist/commands/_shared/main.js'

await main(['fsck', ...process.argv.slice(2)], {notFoundExit: FSCK_EXIT.OPERATIONAL})
