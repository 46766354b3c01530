import { availableParallelism } from 'node:os'
import Type, { type Static } from 'typebox'
import Value from 'typebox/value'

const Bool = Type.Union([Type.Literal('true'), Type.Literal('false')])
const Seconds = (def: number, minimum = 1) => Type.Integer({ minimum, default: def })

/** Every environment variable TaskFlow reads (API.md, "Configuration"). Nothing else reads `process.env`. */
export const EnvSchema = Type.Object({
  NODE_ENV: Type.Optional(Type.String()),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$' })),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  REDIS_KEY_PREFIX: Type.String({ pattern: '^[A-Za-z0-9_:.-]{1,64}$', default: 'tf:' }),
  JWT_ALG: Type.Union([Type.Literal('EdDSA'), Type.Literal('HS256')], { default: 'EdDSA' }),
  JWT_SECRET: Type.Optional(Type.String()),
  JWT_ISSUER: Type.Optional(Type.String({ minLength: 1 })),
  JWT_AUDIENCE: Type.String({ minLength: 1, default: 'taskflow-api' }),
  ACCESS_TOKEN_TTL: Seconds(900, 60),
  REFRESH_TOKEN_TTL: Seconds(2592000, 60),
  SESSION_MAX_AGE: Seconds(7776000, 60),
  REFRESH_REUSE_GRACE: Type.Integer({ minimum: 0, maximum: 300, default: 10 }), // seconds; 0 off
  JWT_KEY_ROTATION_DAYS: Type.Integer({ minimum: 0, maximum: 3650, default: 30 }), // 0 never
  JWT_SECRET_PREVIOUS: Type.Optional(Type.String()),
  AUDIT_RETENTION_DAYS: Type.Integer({ minimum: 0, maximum: 36500, default: 365 }), // 0 keeps forever
  TRUST_PROXY: Type.String({ default: 'false' }),
  RATE_LIMIT_ENABLED: Type.Optional(Bool),
  RATE_LIMIT_LOGIN_PER_IP: Type.Integer({ minimum: 1, default: 5 }),
  RATE_LIMIT_LOGIN_WINDOW: Seconds(900),
  RATE_LIMIT_ACCOUNT_FAILURES: Type.Integer({ minimum: 1, default: 10 }),
  RATE_LIMIT_ACCOUNT_WINDOW: Seconds(900),
  RATE_LIMIT_REGISTER_PER_IP: Type.Integer({ minimum: 1, default: 3 }),
  RATE_LIMIT_REGISTER_WINDOW: Seconds(3600),
  METRICS_DEFAULT: Type.Optional(Bool),
  MAX_EVENT_LOOP_DELAY_MS: Type.Integer({ minimum: 0, default: 1000 }),
  PASSWORD_MIN_LENGTH: Type.Integer({ minimum: 8, maximum: 128, default: 8 }),
  PASSWORD_REQUIRE_CHARACTER_CLASSES: Type.Optional(Bool),
  HASH_CONCURRENCY: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })), // unset: cores
  HASH_QUEUE_LIMIT: Type.Integer({ minimum: 0, maximum: 10000, default: 32 }),
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 16 })),
  CORS_ORIGINS: Type.Optional(Type.String()),
  DATA_ENCRYPTION_KEY: Type.Optional(Type.String()),
  OAUTH_REDIRECT_URIS: Type.Optional(Type.String({ maxLength: 8192 })),
  OAUTH_GOOGLE_CLIENT_ID: Type.Optional(Type.String({ maxLength: 512 })),
  OAUTH_GOOGLE_CLIENT_SECRET: Type.Optional(Type.String({ maxLength: 512 })),
  OAUTH_GOOGLE_ISSUER: Type.String({ pattern: '^https?://[^\\s]+$', default: 'https://accounts.google.com' }),
  OAUTH_GITHUB_CLIENT_ID: Type.Optional(Type.String({ maxLength: 512 })),
  OAUTH_GITHUB_CLIENT_SECRET: Type.Optional(Type.String({ maxLength: 512 })),
  OAUTH_GITHUB_URL: Type.String({ pattern: '^https?://[^\\s]+$', default: 'https://github.com' }),
  OAUTH_GITHUB_API_URL: Type.String({ pattern: '^https?://[^\\s]+$', default: 'https://api.github.com' }),
  MFA_ISSUER: Type.String({ minLength: 1, maxLength: 64, pattern: '^[^:]+$', default: 'TaskFlow' }),
  APP_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$' })),
  SMTP_URL: Type.Optional(Type.String({ pattern: '^smtps?://[^\\s]+$' })),
  MAIL_FROM: Type.Optional(Type.String({ minLength: 3, maxLength: 320, pattern: '^[^\\r\\n]+$' })),
  MAIL_POLL_INTERVAL_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 1000 }),
  PASSWORD_RESET_TTL: Seconds(1800, 60),
  EMAIL_VERIFICATION_TTL: Seconds(86400, 60),
  REQUIRE_EMAIL_VERIFICATION: Type.Optional(Bool),
  RATE_LIMIT_FORGOT_PER_IP: Type.Integer({ minimum: 1, default: 5 }),
  RATE_LIMIT_FORGOT_WINDOW: Seconds(3600),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map(l => Type.Literal(l)), { default: 'info' })
})
export type Env = Static<typeof EnvSchema>

/** Fastify's trustProxy: all, none, a list of addresses/CIDRs, or a hop count (as a function). */
export type TrustProxy = boolean | string[] | ((address: string, hop: number) => boolean)

/** The validated, frozen configuration (API.md env variables); durations in seconds unless a name says otherwise. */
export interface Config {
  readonly production: boolean
  readonly http: { readonly host: string, readonly port: number, readonly publicUrl: string, readonly trustProxy: TrustProxy, readonly bodyLimit: number }
  readonly db: { readonly url: string | undefined, readonly dataDir: string }
  readonly redis: { readonly url: string | undefined, readonly prefix: string }
  readonly auth: {
    readonly alg: 'EdDSA' | 'HS256'
    readonly secret: string | undefined
    readonly issuer: string
    readonly audience: string
    readonly accessTtl: number
    readonly refreshTtl: number
    readonly sessionMaxAge: number
    /** Seconds in which the just-replaced refresh token is answered again (0 off). */
    readonly refreshReuseGrace: number
    /** EdDSA: days between automatic key rotations (0 never). */
    readonly keyRotationDays: number
    /** HS256: an old secret still accepted for verification. */
    readonly previousSecret: string | undefined
  }
  readonly audit: {
    /** Days audit events are kept (0 forever). */
    readonly retentionDays: number
  }
  readonly passwords: {
    readonly minLength: number
    readonly requireCharacterClasses: boolean
    readonly hashConcurrency: number
    readonly hashQueueLimit: number
  }
  readonly rateLimit: {
    readonly enabled: boolean
    readonly loginPerIp: { readonly points: number, readonly window: number }
    readonly accountFailures: { readonly points: number, readonly window: number }
    readonly registerPerIp: { readonly points: number, readonly window: number }
    readonly forgotPerIp: { readonly points: number, readonly window: number }
  }
  /** Mail (API.md "Mail, password reset and email verification"). */
  readonly mail: {
    /** Base of every link in a mail; never the request's Host header. */
    readonly appUrl: string
    /** unset: mails are logged (development) or dropped (production). */
    readonly smtpUrl: string | undefined
    readonly from: string
    /** How often a sender looks for due mail, in milliseconds. */
    readonly pollIntervalMs: number
  }
  readonly account: {
    /** Lifetimes of the links in mails, in seconds. */
    readonly resetTtl: number
    readonly verificationTtl: number
    /** No session (register, login, password grant) until the email is verified. */
    readonly requireEmailVerification: boolean
  }
  readonly metrics: { readonly token: string | undefined, readonly defaultMetrics: boolean }
  readonly cors: { readonly origins: readonly string[] }
  readonly log: { readonly level: string }
  /**
   * DATA_ENCRYPTION_KEY decoded (32 bytes), or undefined: then, outside production only, a key is
   * generated once and kept in the database (src/core/encryption.ts).
   */
  readonly encryption: { readonly key: Buffer | undefined }
  readonly mfa: { readonly issuer: string }
  /** Social sign-in (API.md "Sign-in with Google and GitHub"): a provider is present when its client id and secret are set. */
  readonly oauth: {
    /** OAUTH_REDIRECT_URIS: the app URLs a flow may return to, compared exactly. */
    readonly redirectUris: readonly string[]
    readonly google: { readonly clientId: string, readonly clientSecret: string, readonly issuer: string } | undefined
    readonly github: { readonly clientId: string, readonly clientSecret: string, readonly url: string, readonly apiUrl: string } | undefined
  }
  /** Event-loop delay (ms) past which requests get 503; 0 switches the check off. */
  readonly maxEventLoopDelayMs: number
}

/** A missing or invalid environment variable; its message names the variable (never its value when secret). */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

function parseTrustProxy (raw: string): TrustProxy {
  const v = raw.trim().toLowerCase()
  if (v === 'true') return true
  if (v === 'false' || v === '') return false
  if (/^\d{1,2}$/.test(v)) {
    const hops = Number(v)
    return (_address: string, hop: number) => hop < hops
  }
  const list = raw.split(',').map(s => s.trim()).filter(Boolean)
  if (list.every(s => /^[0-9a-fA-F.:/]+$/.test(s))) return list
  throw new ConfigError('TRUST_PROXY must be true, false, a hop count or a comma-separated list of addresses/CIDRs')
}

/**
 * DATA_ENCRYPTION_KEY: exactly 32 bytes, written as 64 hex digits or as base64 / base64url (padding
 * optional). Anything else is refused, so a typo never silently becomes a weaker key.
 */
export function parseDataKey (raw: string): Buffer {
  const text = raw.trim()
  let key: Buffer | undefined
  if (/^[0-9a-fA-F]{64}$/.test(text)) key = Buffer.from(text, 'hex')
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) key = Buffer.from(text.replace(/=$/, ''), 'base64url')
  if (key?.length !== 32) throw new ConfigError('DATA_ENCRYPTION_KEY must be 32 random bytes, as 64 hex digits or base64 (e.g. openssl rand -base64 32)')
  if (new Set(key).size < 8) throw new ConfigError('DATA_ENCRYPTION_KEY looks weak: use 32 random bytes (e.g. openssl rand -base64 32)')
  return key
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost'])

/**
 * A provider URL (issuer, GitHub web or API base): https, or http only on a loopback host (tests and
 * development; API.md "Configuration"). Returned without a trailing slash. Throws ConfigError.
 */
export function providerUrl (name: string, raw: string): string {
  let url: URL
  try { url = new URL(raw) } catch { throw new ConfigError(`${name} must be an absolute URL`) }
  if (url.search || url.hash || url.username || url.password) throw new ConfigError(`${name} must not carry a query, fragment or credentials`)
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
    throw new ConfigError(`${name} must use https:// (http:// only for a loopback host)`)
  }
  return url.href.replace(/\/+$/, '')
}

/** OAUTH_REDIRECT_URIS: comma-separated absolute URLs without fragment (RFC 6749 §3.1.2), kept exactly as written. */
function parseRedirectUris (raw: string | undefined): string[] {
  const list = (raw ?? '').split(',').map(s => s.trim()).filter(Boolean)
  for (const uri of list) {
    let url: URL
    try { url = new URL(uri) } catch { throw new ConfigError('OAUTH_REDIRECT_URIS must list absolute URLs') }
    if (url.hash || uri.includes('#')) throw new ConfigError('OAUTH_REDIRECT_URIS entries must not have a fragment')
  }
  return list
}

/** Both halves of a provider's client credentials, or neither. */
function clientPair (name: string, id: string | undefined, secret: string | undefined): { clientId: string, clientSecret: string } | undefined {
  if (id === undefined && secret === undefined) return undefined
  if (id === undefined || secret === undefined) throw new ConfigError(`OAUTH_${name}_CLIENT_ID and OAUTH_${name}_CLIENT_SECRET must be set together`)
  return { clientId: id, clientSecret: secret }
}

function describeFirstError (env: Record<string, unknown>): string {
  const first = Value.Errors(EnvSchema, env)[0]
  if (!first) return 'invalid configuration'
  const key = first.instancePath.replace(/^\//, '') || String((first.params as { requiredProperties?: string[] }).requiredProperties?.[0] ?? '')
  return `${key || 'configuration'}: ${first.message}`
}

/**
 * Reads, validates and freezes the configuration once. Only the keys in EnvSchema are looked at,
 * so unrelated environment variables never fail validation. Throws ConfigError with the first problem.
 */
export function loadConfig (source: Record<string, string | undefined>): Config {
  const picked: Record<string, unknown> = {}
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = source[key]
    if (value !== undefined && value !== '') picked[key] = value
  }
  const withDefaults = Value.Default(EnvSchema, Value.Convert(EnvSchema, picked))
  if (!Value.Check(EnvSchema, withDefaults)) throw new ConfigError(describeFirstError(withDefaults as Record<string, unknown>))
  const e = withDefaults
  const production = e.NODE_ENV === 'production'

  if (e.JWT_ALG === 'HS256') {
    if (e.JWT_SECRET === undefined || Buffer.byteLength(e.JWT_SECRET) < 32) {
      throw new ConfigError('JWT_SECRET of at least 32 bytes is required when JWT_ALG=HS256')
    }
    if (e.JWT_SECRET_PREVIOUS !== undefined && Buffer.byteLength(e.JWT_SECRET_PREVIOUS) < 32) {
      throw new ConfigError('JWT_SECRET_PREVIOUS must be at least 32 bytes, like JWT_SECRET')
    }
    if (production && new Set(e.JWT_SECRET).size < 10) {
      throw new ConfigError('JWT_SECRET looks weak: use 32+ random bytes (e.g. openssl rand -base64 48)')
    }
  }
  const dataKey = e.DATA_ENCRYPTION_KEY === undefined ? undefined : parseDataKey(e.DATA_ENCRYPTION_KEY)
  if (production) {
    if (e.RATE_LIMIT_ENABLED === 'false') throw new ConfigError('RATE_LIMIT_ENABLED=false is refused when NODE_ENV=production')
    if (e.CORS_ORIGINS?.split(',').some(o => o.trim() === '*')) throw new ConfigError('CORS_ORIGINS=* is refused when NODE_ENV=production')
    if (!dataKey) throw new ConfigError('DATA_ENCRYPTION_KEY is required when NODE_ENV=production (32 random bytes: openssl rand -base64 32)')
  }
  const google = clientPair('GOOGLE', e.OAUTH_GOOGLE_CLIENT_ID, e.OAUTH_GOOGLE_CLIENT_SECRET)
  const github = clientPair('GITHUB', e.OAUTH_GITHUB_CLIENT_ID, e.OAUTH_GITHUB_CLIENT_SECRET)
  const oauth = Object.freeze({
    redirectUris: Object.freeze(parseRedirectUris(e.OAUTH_REDIRECT_URIS)),
    google: google ? Object.freeze({ ...google, issuer: providerUrl('OAUTH_GOOGLE_ISSUER', e.OAUTH_GOOGLE_ISSUER) }) : undefined,
    github: github
      ? Object.freeze({ ...github, url: providerUrl('OAUTH_GITHUB_URL', e.OAUTH_GITHUB_URL), apiUrl: providerUrl('OAUTH_GITHUB_API_URL', e.OAUTH_GITHUB_API_URL) })
      : undefined
  })
  const publicUrl = (e.PUBLIC_URL ?? `http://${e.HOST.includes(':') ? `[${e.HOST}]` : e.HOST}:${e.PORT}`).replace(/\/+$/, '')

  return Object.freeze({
    production,
    http: Object.freeze({ host: e.HOST, port: e.PORT, publicUrl, trustProxy: parseTrustProxy(e.TRUST_PROXY), bodyLimit: 1024 * 1024 }),
    db: Object.freeze({ url: e.DATABASE_URL, dataDir: e.DATA_DIR }),
    redis: Object.freeze({ url: e.REDIS_URL, prefix: e.REDIS_KEY_PREFIX }),
    auth: Object.freeze({
      alg: e.JWT_ALG,
      secret: e.JWT_SECRET,
      issuer: e.JWT_ISSUER ?? publicUrl,
      audience: e.JWT_AUDIENCE,
      accessTtl: e.ACCESS_TOKEN_TTL,
      refreshTtl: e.REFRESH_TOKEN_TTL,
      sessionMaxAge: e.SESSION_MAX_AGE,
      refreshReuseGrace: e.REFRESH_REUSE_GRACE,
      keyRotationDays: e.JWT_KEY_ROTATION_DAYS,
      previousSecret: e.JWT_ALG === 'HS256' ? e.JWT_SECRET_PREVIOUS : undefined
    }),
    audit: Object.freeze({ retentionDays: e.AUDIT_RETENTION_DAYS }),
    passwords: Object.freeze({
      minLength: e.PASSWORD_MIN_LENGTH,
      requireCharacterClasses: e.PASSWORD_REQUIRE_CHARACTER_CLASSES === 'true',
      // One hashing thread per core, each holding its next hash ready, so no core waits between two
      // hashes; a third thread on 2 cores gained nothing and cost ~30 MB at peak (its isolate and its
      // hash's 19 MiB; docs/benchmarks.md, Memory). The threads' low priority keeps reads first.
      hashConcurrency: e.HASH_CONCURRENCY ?? availableParallelism(),
      hashQueueLimit: e.HASH_QUEUE_LIMIT
    }),
    rateLimit: Object.freeze({
      enabled: e.RATE_LIMIT_ENABLED !== 'false',
      loginPerIp: Object.freeze({ points: e.RATE_LIMIT_LOGIN_PER_IP, window: e.RATE_LIMIT_LOGIN_WINDOW }),
      accountFailures: Object.freeze({ points: e.RATE_LIMIT_ACCOUNT_FAILURES, window: e.RATE_LIMIT_ACCOUNT_WINDOW }),
      registerPerIp: Object.freeze({ points: e.RATE_LIMIT_REGISTER_PER_IP, window: e.RATE_LIMIT_REGISTER_WINDOW }),
      forgotPerIp: Object.freeze({ points: e.RATE_LIMIT_FORGOT_PER_IP, window: e.RATE_LIMIT_FORGOT_WINDOW })
    }),
    mail: Object.freeze({
      appUrl: (e.APP_URL ?? publicUrl).replace(/\/+$/, ''),
      smtpUrl: e.SMTP_URL,
      from: e.MAIL_FROM ?? `TaskFlow <no-reply@${new URL(publicUrl).hostname.replace(/^\[|\]$/g, '')}>`,
      pollIntervalMs: e.MAIL_POLL_INTERVAL_MS
    }),
    account: Object.freeze({
      resetTtl: e.PASSWORD_RESET_TTL,
      verificationTtl: e.EMAIL_VERIFICATION_TTL,
      requireEmailVerification: e.REQUIRE_EMAIL_VERIFICATION === 'true'
    }),
    metrics: Object.freeze({ token: e.METRICS_TOKEN, defaultMetrics: e.METRICS_DEFAULT !== 'false' }),
    cors: Object.freeze({ origins: Object.freeze((e.CORS_ORIGINS ?? '').split(',').map(s => s.trim()).filter(Boolean)) }),
    log: Object.freeze({ level: e.LOG_LEVEL }),
    encryption: Object.freeze({ key: dataKey }),
    mfa: Object.freeze({ issuer: e.MFA_ISSUER }),
    oauth,
    maxEventLoopDelayMs: e.MAX_EVENT_LOOP_DELAY_MS
  })
}
