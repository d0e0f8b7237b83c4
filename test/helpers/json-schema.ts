/**
 * A small JSON Schema (2020-12) validator, for the keywords
 * docs/manifest.schema.json uses: type, const, enum, pattern, minLength,
 * minimum, maximum, required, properties, additionalProperties,
 * propertyNames, items, $ref (local), allOf, anyOf, not, if/then/else.
 * Returns the errors found (empty when valid).
 */
type Schema = Record<string, unknown> | boolean

export function validate(root: Schema, value: unknown): string[] {
  const errors: string[] = []
  const resolve = (ref: string): Schema => {
    if (!ref.startsWith('#/')) throw new Error(`unsupported $ref ${ref}`)
    return ref
      .slice(2)
      .split('/')
      .reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], root) as Schema
  }
  const typeOf = (v: unknown) =>
    v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v
  const check = (s: Schema, v: unknown, at: string, out: string[]): void => {
    if (s === true) return
    if (s === false) return void out.push(`${at}: not allowed`)
    const S = s as Record<string, unknown>
    if (S.$ref) check(resolve(S.$ref as string), v, at, out)
    if (S.type !== undefined) {
      const t = typeOf(v)
      const ok = S.type === t || (S.type === 'number' && (t === 'integer' || t === 'number'))
      if (!ok) return void out.push(`${at}: ${t}, expected ${S.type}`)
    }
    if ('const' in S && JSON.stringify(S.const) !== JSON.stringify(v)) out.push(`${at}: not ${JSON.stringify(S.const)}`)
    if (S.enum && !(S.enum as unknown[]).some((e) => JSON.stringify(e) === JSON.stringify(v)))
      out.push(`${at}: ${JSON.stringify(v)} not in enum`)
    if (typeof v === 'string') {
      if (S.pattern && !new RegExp(S.pattern as string, 'u').test(v))
        out.push(`${at}: '${v}' does not match ${S.pattern}`)
      if (S.minLength !== undefined && [...v].length < (S.minLength as number)) out.push(`${at}: too short`)
    }
    if (typeof v === 'number') {
      if (S.minimum !== undefined && v < (S.minimum as number)) out.push(`${at}: below minimum`)
      if (S.maximum !== undefined && v > (S.maximum as number)) out.push(`${at}: above maximum`)
    }
    if (Array.isArray(v) && S.items) v.forEach((x, i) => check(S.items as Schema, x, `${at}[${i}]`, out))
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>
      for (const r of (S.required as string[]) ?? []) if (!(r in o)) out.push(`${at}: missing ${r}`)
      const props = (S.properties as Record<string, Schema>) ?? {}
      for (const [k, x] of Object.entries(o)) {
        if (S.propertyNames) check(S.propertyNames as Schema, k, `${at} name ${k}`, out)
        if (k in props) check(props[k]!, x, `${at}.${k}`, out)
        else if (S.additionalProperties !== undefined) check(S.additionalProperties as Schema, x, `${at}.${k}`, out)
      }
    }
    for (const sub of (S.allOf as Schema[]) ?? []) check(sub, v, at, out)
    if (
      S.anyOf &&
      !(S.anyOf as Schema[]).some((sub) => {
        const e: string[] = []
        check(sub, v, at, e)
        return e.length === 0
      })
    )
      out.push(`${at}: matches none of anyOf`)
    if (S.not !== undefined) {
      const e: string[] = []
      check(S.not as Schema, v, at, e)
      if (e.length === 0) out.push(`${at}: matches a 'not' schema`)
    }
    if (S.if !== undefined) {
      const e: string[] = []
      check(S.if as Schema, v, at, e)
      if (e.length === 0) {
        if (S.then !== undefined) check(S.then as Schema, v, at, out)
      } else if (S.else !== undefined) check(S.else as Schema, v, at, out)
    }
  }
  check(root, value, '$', errors)
  return errors
}
