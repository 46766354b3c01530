import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import type { Config } from './config.js'
import type { Clock } from './core/clock.js'
import type { Database } from './core/db.js'
import { registerDocs } from './core/http/docs.js'
import { registerHardening } from './core/http/hardening.js'
import { registerPageLinks } from './core/http/page-links.js'
import { lifecyclePlugin, requestId } from './core/http/lifecycle.js'
import { createMetrics, registerMetrics } from './core/metrics.js'
import { loadEncryption } from './core/encryption.js'
import { limiterFactory } from './core/rate-limit.js'
import { auditComponents, auditRetentionRule, createAuditChain, createAuditService } from './modules/audit/index.js'
import { createCleanup } from './jobs/cleanup.js'
import { startBackgroundJobs } from './jobs/index.js'
import { makeAuthenticate } from './core/http/authenticate.js'
import { clientErrorHandler, frameworkErrors, registerErrorHandler } from './core/http/error-handler.js'
import { operationsRoutes, runProbes, type Probe } from './core/http/operations.routes.js'
import { registerValidators } from './core/http/validation.js'
import { registerCharsetCheck } from './core/http/charset.js'
import { lazyChildLogger, loggerOptions } from './core/logger.js'
import { createCursors } from './core/pagination.js'
import { loadServerSecret } from './core/server-secrets.js'
import { problemComponents } from './core/schemas.js'
import {
  authComponents, authModule, conflictFromUniqueViolation, createAccessTokens, createAuthRateLimits, createAuthService, createMemorySessionCache, createPasswordHasher,
  createRedisSessionCache, createRefreshTokens, createSessions, createUsersAuthPort, loadKeyRing, sessionCleanupRules, wellKnownRoutes, type SessionCache
} from './modules/auth/index.js'
import { adminComponents, adminModule, createAdminService } from './modules/admin/index.js'
import { createIdentitiesService, createProviders, identitiesComponents, identitiesModule, oauthModule } from './modules/identities/index.js'
import { createMfaService, mfaCleanupRules, mfaComponents, mfaModule } from './modules/mfa/index.js'
import { createTasksService, tasksComponents, tasksModule } from './modules/tasks/index.js'
import { createUsersService, createUsersStore, usersComponents, usersModule } from './modules/users/index.js'
import { createMemoryTokenCache, createRedisTokenCache, createTokensService, tokensComponents, tokensModule, type TokenCache } from './modules/tokens/index.js'
import { createIdempotencyStore, idempotencyCleanupRule, registerIdempotency } from './core/idempotency.js'
import { createMail } from './modules/mail/index.js'
import { accountComponents, accountModule, createAccount, createForgotLimit } from './modules/account/index.js'

/** What buildApp needs: config, storage (PGlite or PostgreSQL), optional Redis, the clock; tests add a session cache and a log stream. */
export interface AppDeps {
  config: Config
  database: Database
  /** Present when REDIS_URL is set: sessions and limits are then shared by every instance. */
  redis?: Redis | undefined
  clock: Clock
  /** Tests pass their own (e.g. a memory cache they can flush); otherwise chosen from `redis`. */
  sessionCache?: SessionCache
  /** The personal access token cache; like `sessionCache`, chosen from `redis` unless given. */
  tokenCache?: TokenCache
  logger?: boolean
  /** Where log lines go (tests capture them); stdout by default. */
  logStream?: NodeJS.WritableStream
  /** Background jobs (audit sealer, clean-up); tests switch them off and run them by hand. Default on. */
  jobs?: boolean
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
    childLoggerFactory: lazyChildLogger,
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    frameworkErrors,
    clientErrorHandler
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.removeContentTypeParser('text/plain')
  app.decorateRequest('principal', null)
  registerValidators(app)
  registerCharsetCheck(app)
  registerErrorHandler(app)
  await app.register(lifecyclePlugin)

  await registerHardening(app, { corsOrigins: config.cors.origins, maxEventLoopDelayMs: config.maxEventLoopDelayMs })
  await registerDocs(app, {
    publicUrl: config.http.publicUrl,
    components: { ...problemComponents, ...usersComponents, ...tasksComponents, ...authComponents, ...auditComponents, ...adminComponents, ...mfaComponents, ...tokensComponents, ...identitiesComponents, ...accountComponents }
  })
  registerPageLinks(app, { publicUrl: config.http.publicUrl })
  const metrics = createMetrics({ defaultMetrics: config.metrics.defaultMetrics })
  registerMetrics(app, metrics, config.metrics.token)

  // Secrets at rest (TOTP secrets; the signing keys' private parts).
  const encryption = await loadEncryption({ db: database.db, clock, key: config.encryption.key, production: config.production, log: app.log })
  const keys = await loadKeyRing({
    db: database.db, clock, alg: config.auth.alg, secret: config.auth.secret, previousSecret: config.auth.previousSecret, accessTtl: config.auth.accessTtl, rotationDays: config.auth.keyRotationDays, encryption
  })
  const accessTokens = createAccessTokens({ keys, issuer: config.auth.issuer, audience: config.auth.audience, ttlSeconds: config.auth.accessTtl, clock })
  const hasher = await createPasswordHasher({ concurrency: config.passwords.hashConcurrency, queueLimit: config.passwords.hashQueueLimit })
  // Running handlers may still hash: the workers end only after them.
  app.addHook('onClose', async () => { await app.handlersDone(); await hasher.close() })
  metrics.watchHashQueue(hasher.depth)
  const sessionCache = deps.sessionCache ?? (redis ? createRedisSessionCache(redis) : createMemorySessionCache())
  const sessions = createSessions({
    db: database.db, cache: sessionCache, clock, refreshTtl: config.auth.refreshTtl, sessionMaxAge: config.auth.sessionMaxAge, accessTtl: config.auth.accessTtl
  })
  const cursors = createCursors(await loadServerSecret(database.db, 'cursor'))
  const refreshTokens = createRefreshTokens({ db: database.db, clock, sessions, refreshTtl: config.auth.refreshTtl, graceSeconds: config.auth.refreshReuseGrace })
  const audit = createAuditService({ db: database.db, clock, log: app.log, cursors })
  const policy = { minLength: config.passwords.minLength, requireCharacterClasses: config.passwords.requireCharacterClasses }
  const limiter = limiterFactory(config.rateLimit.enabled, redis)
  const limits = createAuthRateLimits({ limiter, limits: config.rateLimit, metrics, audit })
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
  const tokens = createTokensService({
    db: database.db,
    clock,
    audit,
    cursors,
    log: app.log,
    cache: deps.tokenCache ?? (redis ? createRedisTokenCache(redis) : createMemoryTokenCache()),
    confirmPassword: async (userId, password) => {
      const user = await usersStore.findById(userId)
      return user !== undefined && (await hasher.verify(user.password_hash, password)).ok
    },
    notifier: mail.notifier
  })
  const usersAuth = createUsersAuthPort({ hasher, sessions, policy })
  const account = createAccount({
    db: database.db,
    clock,
    audit,
    mail,
    registry: metrics.registry,
    users: { ...usersStore, conflictFromUniqueViolation },
    auth: { ...usersAuth, revokeAllSessions: (userId, reason, tx) => sessions.revokeAllForUser(userId, reason, undefined, tx), markRevoked: sessions.markRevoked },
    appUrl: config.mail.appUrl,
    ttl: { reset: config.account.resetTtl, verification: config.account.verificationTtl },
    // Inside the reset's transaction; the cache tombstones go out at once (a rolled-back reset only
    // refuses those tokens until their cache entries expire: the safe direction).
    revokePersonalAccessTokens: async (tx, userId) => { await tokens.markRevoked(await tokens.revokeAllForUser(tx, userId, 'password_reset')) }
  })
  const forgotLimit = createForgotLimit({ limiter, budget: config.rateLimit.forgotPerIp, metrics, audit })
  const mfa = createMfaService({
    db: database.db, users: usersStore, clock, encryption, audit, sessions, throttle: limits.accountThrottle, metrics, verifyPassword: usersAuth.verifyPassword, issuer: config.mfa.issuer, notifier: mail.notifier
  })
  const auth = createAuthService({
    db: database.db,
    users: usersStore,
    clock,
    hasher,
    sessions,
    refreshTokens,
    accessTokens,
    policy,
    audit,
    metrics,
    throttle: limits.accountThrottle,
    mfa,
    notifier: mail.notifier,
    onRegistered: account.onRegistered,
    requireEmailVerification: config.account.requireEmailVerification
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
    log: app.log,
    notifier: mail.notifier
  })
  const users = createUsersService({
    store: usersStore,
    clock,
    audit,
    auth: usersAuth,
    tokens: { revokeAll: async (userId, reason) => { await tokens.markRevoked(await tokens.revokeAllForUser(database.db, userId, reason)) } },
    transaction: async (work) => database.db.transaction(work),
    onPasswordChanged: account.passwordChanged
  })
  const tasks = createTasksService({ db: database.db, clock, cursors })
  const auditChain = createAuditChain({ db: database.db })
  const admin = createAdminService({ db: database.db, users: usersStore, clock, tasks, sessions, tokens, audit, auditChain, cursors, mfa })
  const idempotency = createIdempotencyStore({ db: database.db, clock })
  // The clean-up's list: each feature adds the rows it owns.
  const cleanup = createCleanup({
    db: database.db, clock, metrics, log: app.log, rules: [...sessionCleanupRules(), ...mfaCleanupRules(), idempotencyCleanupRule(), ...auditRetentionRule(auditChain, config.audit.retentionDays)]
  })
  if (deps.jobs !== false) startBackgroundJobs(app, { auditChain, cleanup, metrics })
  const authenticate = makeAuthenticate({ tokens: accessTokens, sessions, pats: tokens })

  const probes: Probe[] = [{ name: 'database', check: database.ping }]
  if (redis) probes.push({ name: 'redis', check: async () => { await redis.ping() } })
  metrics.watchReadiness(() => runProbes(probes))

  registerIdempotency(app, idempotency)
  await app.register(operationsRoutes, { probes, publicUrl: config.http.publicUrl })
  await app.register(wellKnownRoutes, { prefix: '/.well-known', keys, issuer: config.auth.issuer, publicUrl: config.http.publicUrl })
  await app.register(authModule, { prefix: '/v1/auth', auth, authenticate, rateLimits: limits.perIp, authorizationCode: identities.exchange })
  await app.register(oauthModule, { prefix: '/v1/auth/oauth', identities, publicUrl: config.http.publicUrl })
  await app.register(usersModule, { prefix: '/v1/users', users, authenticate })
  await app.register(mfaModule, { prefix: '/v1/users/me', mfa, authenticate })
  await app.register(tokensModule, { prefix: '/v1/users/me/tokens', tokens, authenticate })
  await app.register(identitiesModule, { prefix: '/v1/users/me', identities, authenticate })
  await app.register(tasksModule, { prefix: '/v1/tasks', tasks, authenticate, publicUrl: config.http.publicUrl })
  await app.register(adminModule, { prefix: '/v1/admin', admin, authenticate, publicUrl: config.http.publicUrl })
  await app.register(accountModule, { account, authenticate, forgotLimit })
  return app
}
