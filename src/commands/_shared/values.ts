/** Showing arbitrary byte values (xattr values, file contents) as text, hex or base64. */
import {isValidUtf8} from './names.js'

export interface RenderedValue {
  encoding: 'utf8' | 'hex' | 'base64'
  value: string
}

const HEX_LIMIT = 32

/** Printable UTF-8 (tabs and newlines allowed) is text; short binary values are hex, longer ones base64. */
export function renderValue(buf: Buffer, forJson = false): RenderedValue {
  if (isValidUtf8(buf)) {
    const text = buf.toString('utf8')
    // eslint-disable-next-line no-control-regex
    if (!/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(text)) return {encoding: 'utf8', value: text}
  }
  if (!forJson && buf.length <= HEX_LIMIT) return {encoding: 'hex', value: buf.toString('hex')}
  return {encoding: 'base64', value: buf.toString('base64')}
}

/** One-line display form: "text" quoted, 0x... or base64:... */
export function displayValue(buf: Buffer): string {
  const {encoding, value} = renderValue(buf)
  if (encoding === 'utf8') return JSON.stringify(value)
  return encoding === 'hex' ? `0x${value}` : `base64:${value}`
}
