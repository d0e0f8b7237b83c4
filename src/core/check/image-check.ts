/**
 * Image.check(): the consistency checker of check/ offered as a method of Image.
 * image/ comes before check/ in the layering, so the method is added here, where
 * both are known; core/index.ts loads this file, so every Image has it.
 */
import {Image} from '../image/image.js'
import {checkVolume, type CheckOptions, type CheckResult} from './check.js'

declare module '../image/image.js' {
  interface Image {
    /** Check every consistency rule (FORMAT.md §13); read-only. */
    check(opts?: CheckOptions): CheckResult
  }
}

Image.prototype.check = function check(this: Image, opts: CheckOptions = {}): CheckResult {
  const v = this.openVolume()
  v.data.drain()
  return checkVolume(v, opts)
}
