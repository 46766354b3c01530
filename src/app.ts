import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'
import type { Config } from './config.js'
import type { Clock } from './core/clock.js'
import type { Database } from './core/db.js'
import { registerDocs } from './core/http/docs.js'
import { registerHardening } from './core/http/hardening.js'
import { ipRateLimit } from './core/http/rate-limit-hook.js'
import { requestMeta } from './core/http/request-meta.js'
import { createMetrics, registerMetrics } from './core/metrics.js'
import { createLimiter } from './core/rate-limit.js'
import { createAuditService } from './modules/audit/index.js'
import { makeAuthenticate } from './core/http/authenticate.js'
import { registerErrorHandler } from './core/http/error-handler.js'
import { operationsRoutes, type Probe } from './core/http/operations.routes.js'
import { registerValidators } from './core/http/validation.js'
import { loggerOptions } from './core/logger.js'
import {
  authModule, checkPassword, createAccountThrottle, conflictFromUniqueViolation, createAccessTokens, createAuthService, createMemorySessionCache,
  createPasswordHasher, createRedisSessionCache, createSessions, loadKeySet, wellKnownRoutes, type SessionCache
} from './modules/auth/index.js'
import { adminModule, createAdminService } from './modules/admin/index.js'
import { createTasksService, tasksModule } from './modules/tasks/index.js'
import { createUsersService, createUsersStore, usersModule } from './modules/users/index.js'
import { createMail } from './modules/mail/index.js'
import { accountModule, createAccount } from './modules/account/index.js'

export interface AppDeps {
  config: Config
  database: Database
  /** Present when REDIS_URL is set: sessions and limits are then shared by every instance. */
  redis?: Redis | undefined
  clock: Clock
  /** Tests pass their own (e.g. a memory cache they can flush); otherwise chosen from `redis`. */
  sessionCache?: SessionCache
  logger?: boolean
  /** Where log lines go (tests capture them); stdout by default. */
  logStream?: NodeJS.WritableStream
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** Builds the whole application from its dependencies. Never listens: the server (or a test) does. */
export async function buildApp (deps: AppDeps): Promise<FastifyInstance> {
  const { config, database, redis, clock } = deps
  const app = Fastify({
    logger: deps.logger === false ? false : { ...loggerOptions(config.log.level), ...(deps.logStream ? { stream: deps.logStream } : {}) },
    trustProxy: config.http.trustProxy,
    bodyLimit: config.http.bodyLimit,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    requestIdHeader: false,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id']
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID()
    },
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 }
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.removeContentTypeParser('text/plain')
  app.decorateRequest('principal', null)
  registerValidators(app)
  registerErrorHandler(app)
  let closing = false
  app.addHook('preClose', async () => { closing = true })
  // Closing waits for running handlers, even those whose client has gone (the server's own drain only
  // waits for open connections), before anything they use is closed: the hash workers below, then the
  // database (by the server, once app.close() resolves).
  let running = 0
  app.addHook('onRoute', (route) => {
    const handler = route.handler
    // Only promise-returning handlers: a callback-style one (a plugin's static files) replies later by itself.
    if (handler.constructor.name !== 'AsyncFunction') return
    route.handler = async function (req, reply) {
      running++
      try { return await handler.call(this, req, reply) } finally { running-- }
    }
  })
  const handlersDone = async () => {
    const deadline = Date.now() + 10_000
    const busy = () => running > 0 && Date.now() < deadline
    while (busy()) await new Promise(resolve => setTimeout(resolve, 20))
  }
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id)
    // While draining, finish in-flight requests but let their keep-alive connections go.
    if (closing) reply.header('connection', 'close')
    // Responses carry tokens and user data: never cache them unless a route says otherwise.
    if (!reply.hasHeader('cache-control') && !req.url.startsWith('/docs')) reply.header('cache-control', 'no-store')
  })

  await registerHardening(app, { corsOrigins: config.cors.origins, maxEventLoopDelayMs: config.maxEventLoopDelayMs })
  await registerDocs(app, { publicUrl: config.http.publicUrl })
  const metrics = createMetrics({ defaultMetrics: config.metrics.defaultMetrics })
  registerMetrics(app, metrics, config.metrics.token)

  const keys = await loadKeySet({ db: database.db, clock, alg: config.auth.alg, secret: config.auth.secret })
  const accessTokens = createAccessTokens({ keys, issuer: config.auth.issuer, audience: config.auth.audience, ttlSeconds: config.auth.accessTtl, clock })
  const hasher = await createPasswordHasher({ concurrency: config.passwords.hashConcurrency, queueLimit: config.passwords.hashQueueLimit })
  app.addHook('onClose', async () => { await handlersDone(); await hasher.close() })
  const sessionCache = deps.sessionCache ?? (redis ? createRedisSessionCache(redis) : createMemorySessionCache())
  const sessions = createSessions({
    db: database.db, cache: sessionCache, clock, refreshTtl: config.auth.refreshTtl, sessionMaxAge: config.auth.sessionMaxAge, accessTtl: config.auth.accessTtl
  })
  const audit = createAuditService({ db: database.db, clock, log: app.log })
  const usersStore = createUsersStore(database.db)
  const mail = createMail({
    db: database.db,
    clock,
    log: app.log,
    registry: metrics.registry,
    config: { ...config.mail, production: config.production },
    findEmail: async (tx, userId) => (await usersStore.findById(userId, tx))?.email
  })
  app.addHook('onReady', async () => { mail.sender.start() })
  app.addHook('onClose', async () => { await mail.sender.stop() })
  const limits = config.rateLimit
  const limiter = (name: string, spec: { points: number, window: number }) =>
    limits.enabled ? createLimiter({ name, points: spec.points, durationSeconds: spec.window }, redis) : undefined
  const policy = { minLength: config.passwords.minLength, requireCharacterClasses: config.passwords.requireCharacterClasses }
  const account = createAccount({
    db: database.db,
    clock,
    audit,
    mail,
    registry: metrics.registry,
    users: { ...usersStore, conflictFromUniqueViolation },
    auth: {
      hashPassword: hasher.hash,
      verifyPassword: async (stored, password) => (await hasher.verify(stored, password)).ok,
      checkPolicy: (password, context, field) => checkPassword(password, context, policy, field),
      revokeAllSessions: (userId, reason, tx) => sessions.revokeAllForUser(userId, reason, undefined, tx),
      markRevoked: sessions.markRevoked
    },
    appUrl: config.mail.appUrl,
    ttl: { reset: config.account.resetTtl, verification: config.account.verificationTtl }
  })
  const auth = createAuthService({
    db: database.db,
    users: usersStore,
    clock,
    hasher,
    sessions,
    accessTokens,
    policy,
    audit,
    metrics,
    throttle: createAccountThrottle(limiter('login-account', limits.accountFailures)),
    notifier: mail.notifier,
    onRegistered: account.onRegistered,
    requireEmailVerification: config.account.requireEmailVerification
  })
  const users = createUsersService({
    store: usersStore,
    clock,
    audit,
    transaction: async (work) => database.db.transaction(work),
    onPasswordChanged: account.passwordChanged,
    auth: {
      hashPassword: hasher.hash,
      verifyPassword: async (stored, password) => (await hasher.verify(stored, password)).ok,
      checkPolicy: (password, context, field) => checkPassword(password, context, policy, field),
      revokeAllSessions: async (userId, reason, keep) => { await sessions.revokeAllForUser(userId, reason, keep) },
      conflictFromUniqueViolation
    }
  })
  const tasks = createTasksService({ db: database.db, clock })
  const admin = createAdminService({ db: database.db, users: usersStore, clock, tasks, sessions, audit })
  const authenticate = makeAuthenticate({ tokens: accessTokens, sessions })
  const onLimited = (route: string) => async (req: FastifyRequest) => {
    metrics.rateLimited.inc({ route })
    req.log.warn({ code: 'rate_limited', route }, 'rate limit exceeded')
    await audit.note({ type: 'rate_limit.exceeded', meta: requestMeta(req), details: { limit: `${route}_ip`, route } })
  }
  // Login and the password grant share one per-IP budget.
  const loginLimiter = limiter('login-ip', limits.loginPerIp)
  const rateLimits = {
    login: ipRateLimit(loginLimiter, onLimited('login')),
    token: ipRateLimit(loginLimiter, onLimited('token')),
    register: ipRateLimit(limiter('register-ip', limits.registerPerIp), onLimited('register'))
  }
  const forgotLimit = ipRateLimit(limiter('forgot-ip', limits.forgotPerIp), onLimited('forgot'))

  const probes: Probe[] = [{ name: 'database', check: database.ping }]
  if (redis) probes.push({ name: 'redis', check: async () => { await redis.ping() } })

  await app.register(operationsRoutes, { probes })
  await app.register(wellKnownRoutes, { prefix: '/.well-known', keys, issuer: config.auth.issuer, publicUrl: config.http.publicUrl })
  await app.register(authModule, { prefix: '/v1/auth', auth, authenticate, rateLimits })
  await app.register(usersModule, { prefix: '/v1/users', users, authenticate })
  await app.register(tasksModule, { prefix: '/v1/tasks', tasks, authenticate, publicUrl: config.http.publicUrl })
  await app.register(adminModule, { prefix: '/v1/admin', admin, authenticate })
  await app.register(accountModule, { account, authenticate, forgotLimit })
  return app
}
