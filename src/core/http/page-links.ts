import type { FastifyInstance } from 'fastify'

/**
 * The absolute URL of the next page (RFC 8288 target): PUBLIC_URL, the request's path, and its query
 * with `cursor` set to `nextCursor` (every other parameter kept). `requestUrl` is the raw request
 * target (`/v1/tasks?status=todo`); characters a URL may not hold are percent-encoded.
 */
export function nextPageUrl (publicUrl: string, requestUrl: string, nextCursor: string): string {
  const queryAt = requestUrl.indexOf('?')
  const path = queryAt === -1 ? requestUrl : requestUrl.slice(0, queryAt)
  const url = new URL(publicUrl + path)
  const query = new URLSearchParams(queryAt === -1 ? '' : requestUrl.slice(queryAt + 1))
  query.set('cursor', nextCursor)
  url.search = query.toString()
  return url.href
}

/**
 * The `Link` header value of a page with a next cursor: `<absolute URL of the next page>; rel="next"`
 * (RFC 8288 §3). For routes that send a page already serialized, which the hook below never sees.
 */
export function nextPageLink (publicUrl: string, requestUrl: string, nextCursor: string): string {
  return `<${nextPageUrl(publicUrl, requestUrl, nextCursor)}>; rel="next"`
}

function nextCursorOf (payload: unknown): string | undefined {
  if (typeof payload !== 'object' || payload === null || !('next_cursor' in payload) || !('data' in payload)) return undefined
  const { next_cursor: next, data } = payload as { next_cursor: unknown, data: unknown }
  return typeof next === 'string' && Array.isArray(data) ? next : undefined
}

/**
 * Every page (`{data: [...], next_cursor}`) answered with a next cursor also carries
 * `Link: <absolute URL of the next page>; rel="next"` (RFC 8288 §3, API.md Conventions), whichever
 * route sent it: list routes need do nothing. (Fastify runs no preSerialization hook for a payload
 * that is a string already: a route that sends one sets the header itself, with nextPageLink.)
 */
export function registerPageLinks (app: FastifyInstance, { publicUrl }: { publicUrl: string }): void {
  // Callback style: no promise per response on this hot path.
  app.addHook('preSerialization', (req, reply, payload: unknown, done) => {
    const next = reply.statusCode === 200 ? nextCursorOf(payload) : undefined
    if (next !== undefined) reply.header('link', nextPageLink(publicUrl, req.url, next))
    done(null, payload)
  })
}
