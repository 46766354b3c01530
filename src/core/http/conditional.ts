/**
 * RFC 9110 §13.1.2 If-None-Match: true when the header is `*` (any current representation) or lists
 * an entity tag that weakly matches `etag` (`W/"3"` matches `"3"`: only the opaque tags are compared,
 * §8.8.3.2). An absent or empty header never matches. `etag` is a strong or weak entity tag as sent
 * in the ETag header.
 */
export function ifNoneMatchHolds (header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  const value = header.trim()
  if (value === '*') return true
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '')
  const wanted = opaque(etag)
  return value.split(',').some(tag => opaque(tag) === wanted)
}
