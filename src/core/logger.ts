import type { FastifyServerOptions } from 'fastify'

/** Anything that may carry a secret, wherever it sits in a log object. */
export const REDACT_PATHS = [
  'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
  'headers.authorization', 'headers.cookie',
  '*.password', '*.current_password', '*.new_password', '*.refresh_token', '*.access_token', '*.token', '*.secret',
  '*.password_hash', 'password', 'refresh_token', 'access_token', 'token'
]

/** pino options at `level`, with REDACT_PATHS censored (authorization and cookie headers, passwords, hashes, tokens, secrets). */
export function loggerOptions (level: string): Exclude<FastifyServerOptions['logger'], boolean | undefined> {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    formatters: { level: (label) => ({ level: label }) }
  }
}
