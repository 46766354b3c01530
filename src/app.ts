import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import type { Config } from './config.js'
import type { Clock } from './core/clock.js'
import type { Database } from './core/db.js'
import { registerDocs } from './core/http/docs.js'
import { registerHardening } from './core/http/hardening.js'
import { lifecyclePlugin, requestId } from './core/http/lifecycle.js'
import { createMetrics, registerMetrics } from './core/metrics.js'
import { loadEncryption } from './core/encryption.js'
import { limiterFactory } from './core/rate-limit.js'
import { createAuditService } from './modules/audit/index.js'
import { makeAuthenticate } from './core/http/authenticate.js'
import { clientErrorHandler, frameworkErrors, registerErrorHandler } from './core/http/error-handler.js'
import { operationsRoutes, type Probe } from './core/http/operations.routes.js'
import { registerValidators } from './core/http/validation.js'
import { loggerOptions } from './core/logger.js'
import {
  authModule, createAccessTokens, createAuthRateLimits, createAuthService, createMemorySessionCache, createPasswordHasher,
  createRedisSessionCache, createSessions, createUsersAuthPort, loadKeySet, wellKnownRoutes, type SessionCache
} from './modules/auth/index.js'
import { adminModule, createAdminService } from './modules/admin/index.js'
import { createIdentitiesService, createProviders, identitiesModule, oauthModule } from './modules/identities/index.js'
import { createMfaService, mfaModule } from './modules/mfa/index.js'
import { createTasksService, tasksModule } from './modules/tasks/index.js'
import { createUsersService, createUsersStore, usersModule } from './modules/users/index.js'

/** What buildApp needs: config, storage (PGlite or PostgreSQL), optional Redis, the clock; tests add a session cache and a log stream. */
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
    genReqId: requestId,
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    frameworkErrors,
    clientErrorHandler
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.removeContentTypeParser('text/plain')
  app.decorateRequest('principal', null)
  registerValidators(app)
  registerErrorHandler(app)
  await app.register(lifecyclePlugin)

  await registerHardening(app, { corsOrigins: config.cors.origins, maxEventLoopDelayMs: config.maxEventLoopDelayMs })
  await registerDocs(app, { publicUrl: config.http.publicUrl })
  const metrics = createMetrics({ defaultMetrics: config.metrics.defaultMetrics })
  registerMetrics(app, metrics, config.metrics.token)

  // Secrets at rest (TOTP secrets; the signing keys' private parts once issue 14's rotation lands).
  const encryption = await loadEncryption({ db: database.db, clock, key: config.encryption.key, production: config.production, log: app.log })
  const keys = await loadKeySet({ db: database.db, clock, alg: config.auth.alg, secret: config.auth.secret })
  const accessTokens = createAccessTokens({ keys, issuer: config.auth.issuer, audience: config.auth.audience, ttlSeconds: config.auth.accessTtl, clock })
  const hasher = await createPasswordHasher({ concurrency: config.passwords.hashConcurrency, queueLimit: config.passwords.hashQueueLimit })
  // Running handlers may still hash: the workers end only after them.
  app.addHook('onClose', async () => { await app.handlersDone(); await hasher.close() })
  const sessionCache = deps.sessionCache ?? (redis ? createRedisSessionCache(redis) : createMemorySessionCache())
  const sessions = createSessions({
    db: database.db, cache: sessionCache, clock, refreshTtl: config.auth.refreshTtl, sessionMaxAge: config.auth.sessionMaxAge, accessTtl: config.auth.accessTtl
  })
  const audit = createAuditService({ db: database.db, clock, log: app.log })
  const policy = { minLength: config.passwords.minLength, requireCharacterClasses: config.passwords.requireCharacterClasses }
  const limits = createAuthRateLimits({ limiter: limiterFactory(config.rateLimit.enabled, redis), limits: config.rateLimit, metrics, audit })
  const usersStore = createUsersStore(database.db)
  const usersAuth = createUsersAuthPort({ hasher, sessions, policy })
  const mfa = createMfaService({
    db: database.db, users: usersStore, clock, encryption, audit, sessions, throttle: limits.accountThrottle, metrics, verifyPassword: usersAuth.verifyPassword, issuer: config.mfa.issuer
  })
  const auth = createAuthService({
    db: database.db, users: usersStore, clock, hasher, sessions, accessTokens, policy, audit, metrics, throttle: limits.accountThrottle, mfa
  })
  const identities = createIdentitiesService({
    db: database.db,
    users: usersStore,
    clock,
    audit,
    providers: createProviders(config.oauth, config.http.publicUrl),
    redirectUris: config.oauth.redirectUris,
    verifyPassword: usersAuth.verifyPassword,
    signIn: auth.signIn,
    log: app.log
  })
  const users = createUsersService({ store: usersStore, clock, audit, auth: usersAuth })
  const tasks = createTasksService({ db: database.db, clock })
  const admin = createAdminService({ db: database.db, users: usersStore, clock, tasks, sessions, audit, mfa })
  const authenticate = makeAuthenticate({ tokens: accessTokens, sessions })

  const probes: Probe[] = [{ name: 'database', check: database.ping }]
  if (redis) probes.push({ name: 'redis', check: async () => { await redis.ping() } })

  await app.register(operationsRoutes, { probes })
  await app.register(wellKnownRoutes, { prefix: '/.well-known', keys, issuer: config.auth.issuer, publicUrl: config.http.publicUrl })
  await app.register(authModule, { prefix: '/v1/auth', auth, authenticate, rateLimits: limits.perIp, authorizationCode: identities.exchange })
  await app.register(oauthModule, { prefix: '/v1/auth/oauth', identities, publicUrl: config.http.publicUrl })
  await app.register(usersModule, { prefix: '/v1/users', users, authenticate })
  await app.register(mfaModule, { prefix: '/v1/users/me', mfa, authenticate })
  await app.register(identitiesModule, { prefix: '/v1/users/me', identities, authenticate })
  await app.register(tasksModule, { prefix: '/v1/tasks', tasks, authenticate, publicUrl: config.http.publicUrl })
  await app.register(adminModule, { prefix: '/v1/admin', admin, authenticate })
  return app
}
