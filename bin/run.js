#!/usr/bin/env node
// razorfs COMMAND [ARGS...]: runs the compiled oclif commands in dist/commands.
import {main} from '../dist/commands/_shared/main.js'

await main(process.argv.slice(2))
