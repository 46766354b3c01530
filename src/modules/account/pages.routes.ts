import { readFileSync } from 'node:fs'
import type { FastifyPluginAsync } from 'fastify'

/** The repository's public/ folder, from src/modules/account or dist/modules/account alike. */
const PUBLIC = new URL('../../../public/', import.meta.url)

/**
 * The pages' own policy: script and style only from this origin (the separate files below), no inline
 * code, fetch only to this origin, no forms posted anywhere, never framed.
 */
export const PAGES_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"

const FILES = [
  { url: '/reset-password', file: 'reset-password.html', type: 'text/html; charset=utf-8' },
  { url: '/verify-email', file: 'verify-email.html', type: 'text/html; charset=utf-8' },
  { url: '/account-pages.js', file: 'account-pages.js', type: 'text/javascript; charset=utf-8' },
  { url: '/account-pages.css', file: 'account-pages.css', type: 'text/css; charset=utf-8' }
]

/**
 * GET /reset-password and /verify-email (API.md "Operations"): static pages for the links in mails,
 * read once at start-up. Opening one changes nothing; its script reads the token from the fragment and
 * POSTs it only when the button is pressed.
 */
export const pagesRoutes: FastifyPluginAsync = async (app) => {
  for (const { url, file, type } of FILES) {
    const content = readFileSync(new URL(file, PUBLIC))
    app.get(url, { schema: { hide: true } }, async (_req, reply) =>
      reply.type(type).header('content-security-policy', PAGES_CSP).header('referrer-policy', 'no-referrer').send(content))
  }
  // Browsers ask for it with every page: no icon (204), rather than a 404 in every page's console.
  app.get('/favicon.ico', { schema: { hide: true } }, async (_req, reply) => reply.code(204).header('cache-control', 'public, max-age=86400').send())
}
