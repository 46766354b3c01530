import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { suiteApp } from '../../../test/build-test-app.js'
import { storageLabel } from '../../../test/test-env.js'

interface Media { schema?: Record<string, unknown>, example?: unknown, examples?: unknown }
interface Response { $ref?: string, description?: string, content?: Record<string, Media>, headers?: Record<string, unknown> }
interface Operation { operationId?: string, summary?: string, requestBody?: { content: Record<string, Media> }, responses: Record<string, Response> }
interface Doc { paths: Record<string, Record<string, Operation>>, components: { schemas: Record<string, Record<string, unknown>>, responses: Record<string, Response> } }

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })

/** Every operation of the document as [method, path, operation]. */
function operations (doc: Doc): Array<[string, string, Operation]> {
  return Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => [method, path, op] as [string, string, Operation]))
}

describe(`the OpenAPI document [${storageLabel}]`, () => {
  const suite = suiteApp()
  let served: Doc
  before(async () => {
    const { app } = await suite.start()
    const res = await app.inject({ method: 'GET', url: '/openapi.json' })
    assert.equal(res.statusCode, 200)
    served = res.json<Doc>()
  })
  // A fresh copy per test: tests never see each other's changes.
  const documentOf = async (): Promise<Doc> => structuredClone(served)

  it('when generated, then every operation has a stable camelCase operationId (unique) and a summary', async () => {
    const doc = await documentOf()
    const ids = operations(doc).map(([method, path, op]) => {
      assert.match(op.operationId ?? '', /^[a-z][A-Za-z0-9]*$/, `${method} ${path}`)
      assert.ok(op.summary && op.summary.length > 3, `${method} ${path} has a summary`)
      return `${method} ${path} ${op.operationId}`
    })
    assert.equal(new Set(operations(doc).map(([, , op]) => op.operationId)).size, ids.length, 'operationIds are unique')
    // Clients generate method names from these: renaming one breaks them (add, never rename).
    for (const expected of [
      'get / getApiIndex', 'get /healthz getHealth', 'get /readyz getReadiness', 'get /.well-known/jwks.json getJwks',
      'get /.well-known/oauth-authorization-server getAuthorizationServerMetadata',
      'post /v1/auth/register register', 'post /v1/auth/login login', 'post /v1/auth/refresh refreshTokens', 'post /v1/auth/token issueToken',
      'post /v1/auth/logout logout', 'post /v1/auth/logout-all logoutAll', 'get /v1/auth/sessions listSessions', 'delete /v1/auth/sessions/{id} revokeSession',
      'get /v1/users/me getCurrentUser', 'patch /v1/users/me updateCurrentUser', 'delete /v1/users/me deleteCurrentUser', 'put /v1/users/me/password changePassword',
      'post /v1/tasks createTask', 'get /v1/tasks listTasks', 'get /v1/tasks/{id} getTask', 'put /v1/tasks/{id} replaceTask', 'patch /v1/tasks/{id} updateTask', 'delete /v1/tasks/{id} deleteTask',
      'get /v1/admin/users listUsers', 'get /v1/admin/users/{id} getUser', 'patch /v1/admin/users/{id} updateUser', 'delete /v1/admin/users/{id} deleteUser',
      'get /v1/admin/tasks listAllTasks', 'delete /v1/admin/tasks/{id} deleteAnyTask', 'get /v1/admin/audit-events listAuditEvents',
      'get /v1/admin/audit-events/verify verifyAuditLog',
      // Mail and account (issue 10).
      'post /v1/auth/password/forgot requestPasswordReset', 'post /v1/auth/password/reset resetPassword', 'post /v1/auth/email/verify verifyEmail',
      'post /v1/auth/email/verify/resend resendVerificationEmail', 'post /v1/users/me/email changeEmail', 'post /v1/admin/users/{id}/password-reset sendUserPasswordReset',
      // MFA (issue 11).
      'post /v1/auth/mfa/verify verifyMfa', 'post /v1/users/me/mfa/totp startTotpSetup', 'post /v1/users/me/mfa/totp/activate activateTotp',
      'post /v1/users/me/mfa/recovery-codes regenerateRecoveryCodes', 'delete /v1/users/me/mfa disableMfa', 'delete /v1/admin/users/{id}/mfa resetUserMfa',
      // Personal access tokens (issue 13).
      'post /v1/users/me/tokens createPersonalAccessToken', 'get /v1/users/me/tokens listPersonalAccessTokens', 'delete /v1/users/me/tokens/{id} revokePersonalAccessToken',
      'get /v1/admin/users/{id}/tokens listUserPersonalAccessTokens', 'delete /v1/admin/users/{id}/tokens/{token_id} revokeUserPersonalAccessToken',
      // Identities (issue 12).
      'get /v1/auth/oauth/{provider}/authorize startOAuthSignIn', 'get /v1/auth/oauth/{provider}/callback handleOAuthCallback',
      'get /v1/users/me/identities listIdentities', 'post /v1/users/me/identities linkIdentity', 'delete /v1/users/me/identities/{id} unlinkIdentity'
    ]) assert.ok(ids.includes(expected), `missing: ${expected}`)
  })

  it('when generated, then User, Task, the token responses and the pages are components, referenced by every route that returns them', async () => {
    const doc = await documentOf()
    const schemas = doc.components.schemas
    for (const name of ['Problem', 'FieldError', 'OAuthError', 'User', 'Task', 'TaskPage', 'UserPage', 'AuditEvent', 'AuditEventPage', 'TokenResponse', 'OAuthTokenResponse', 'Session', 'SessionList',
      'Accepted', 'MfaRequiredProblem', 'MfaRequiredOAuth', 'RecoveryCodes', 'PersonalAccessToken', 'CreatedPersonalAccessToken', 'PersonalAccessTokenList', 'PersonalAccessTokenPage', 'Identity', 'IdentityList']) {
      assert.ok(schemas[name], `components.schemas.${name}`)
    }
    const body = (path: string, method: string, status: string, type = 'application/json') => doc.paths[path]?.[method]?.responses[status]?.content?.[type]?.schema
    assert.deepEqual(body('/v1/tasks', 'post', '201'), ref('Task'))
    assert.deepEqual(body('/v1/tasks/{id}', 'get', '200'), ref('Task'))
    assert.deepEqual(body('/v1/tasks', 'get', '200'), ref('TaskPage'))
    assert.deepEqual(body('/v1/admin/tasks', 'get', '200'), ref('TaskPage'))
    assert.deepEqual(body('/v1/admin/users', 'get', '200'), ref('UserPage'))
    assert.deepEqual(body('/v1/admin/audit-events', 'get', '200'), ref('AuditEventPage'))
    assert.deepEqual(body('/v1/users/me', 'get', '200'), ref('User'))
    assert.deepEqual(body('/v1/admin/users/{id}', 'patch', '200'), ref('User'))
    // With REQUIRE_EMAIL_VERIFICATION register answers only { user }: the token response or that.
    assert.deepEqual((body('/v1/auth/register', 'post', '201')?.anyOf as unknown[])[0], ref('TokenResponse'))
    assert.deepEqual(body('/v1/auth/login', 'post', '200'), ref('TokenResponse'))
    assert.deepEqual(body('/v1/auth/token', 'post', '200'), ref('OAuthTokenResponse'))
    assert.deepEqual(body('/v1/auth/sessions', 'get', '200'), ref('SessionList'))
    assert.deepEqual(body('/v1/auth/password/forgot', 'post', '202'), ref('Accepted'))
    assert.deepEqual(body('/v1/admin/users/{id}/password-reset', 'post', '202'), ref('Accepted'))
    assert.deepEqual(body('/v1/users/me/mfa/totp/activate', 'post', '200'), ref('RecoveryCodes'))
    assert.deepEqual(body('/v1/users/me/mfa/recovery-codes', 'post', '200'), ref('RecoveryCodes'))
    assert.deepEqual(body('/v1/auth/mfa/verify', 'post', '200'), ref('TokenResponse'))
    assert.deepEqual(body('/v1/auth/login', 'post', '403', 'application/problem+json'), ref('MfaRequiredProblem'))
    assert.deepEqual(body('/v1/auth/token', 'post', '403'), ref('MfaRequiredOAuth'))
    assert.deepEqual(body('/v1/users/me/tokens', 'post', '201'), ref('CreatedPersonalAccessToken'))
    assert.deepEqual(body('/v1/users/me/tokens', 'get', '200'), ref('PersonalAccessTokenList'))
    assert.deepEqual(body('/v1/admin/users/{id}/tokens', 'get', '200'), ref('PersonalAccessTokenPage'))
    assert.deepEqual(body('/v1/users/me/identities', 'get', '200'), ref('IdentityList'))
    // The MFA challenges extend the error bodies instead of copying their members.
    assert.deepEqual((schemas.MfaRequiredProblem?.allOf as unknown[])[0], ref('Problem'))
    assert.deepEqual((schemas.MfaRequiredOAuth?.allOf as unknown[])[0], ref('OAuthError'))
    assert.deepEqual((schemas.PersonalAccessTokenPage?.properties as Record<string, { items: unknown }>).data?.items, ref('PersonalAccessToken'))
    // Components refer to each other instead of holding copies.
    assert.deepEqual((schemas.TaskPage?.properties as Record<string, { items: unknown }>).data?.items, ref('Task'))
    assert.deepEqual((schemas.UserPage?.properties as Record<string, { items: unknown }>).data?.items, ref('User'))
    assert.deepEqual((schemas.TokenResponse?.properties as Record<string, unknown>).user, ref('User'))
    assert.deepEqual((schemas.Problem?.properties as Record<string, { items: unknown }>).errors?.items, ref('FieldError'))
    // The Problem shape is written once: no other object in the document declares its members.
    const copies: string[] = []
    const walk = (node: unknown, where: string): void => {
      if (Array.isArray(node)) { node.forEach((n, i) => walk(n, `${where}/${i}`)); return }
      if (typeof node !== 'object' || node === null) return
      const properties = (node as { properties?: Record<string, unknown> }).properties
      if (properties && 'title' in properties && 'status' in properties && 'code' in properties && where !== '/components/schemas/Problem') copies.push(where)
      for (const [key, value] of Object.entries(node)) walk(value, `${where}/${key}`)
    }
    walk(doc, '')
    assert.deepEqual(copies, [])
  })

  it('when generated, then every documented error is application/problem+json with the shared Problem (RFC 6749 JSON at the token endpoint), and every operation documents 500', async () => {
    const doc = await documentOf()
    let checked = 0
    for (const [method, path, op] of operations(doc)) {
      assert.ok(op.responses['500'], `${method} ${path} documents 500`)
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue
        const resolved = response.$ref ? doc.components.responses[response.$ref.split('/').pop() ?? ''] : response
        const types = Object.keys(resolved?.content ?? {})
        // /readyz answers 503 with its readiness report (which dependency failed), not an error.
        if (path === '/readyz') continue
        if (path === '/v1/auth/token' && (status === '400' || status === '403')) {
          assert.deepEqual(types, ['application/json'])
          assert.deepEqual(resolved?.content?.['application/json']?.schema, ref(status === '400' ? 'OAuthError' : 'MfaRequiredOAuth'))
        } else {
          assert.deepEqual(types, ['application/problem+json'], `${method} ${path} ${status}`)
          // Login's 403 may be mfa_required, whose problem carries the challenge (a Problem extended).
          const expected = path === '/v1/auth/login' && status === '403' ? 'MfaRequiredProblem' : 'Problem'
          assert.deepEqual(resolved?.content?.['application/problem+json']?.schema, ref(expected), `${method} ${path} ${status}`)
        }
        checked++
      }
    }
    assert.ok(checked > 60, `${checked} error responses`)
    const notFound = doc.paths['/v1/tasks/{id}']?.get?.responses['404']?.content?.['application/problem+json']?.example as { status: number, code: string }
    assert.equal(notFound.status, 404)
  })

  it('when generated, then the rate-limited routes (and only they) document RateLimit-* on 2xx/4xx and Retry-After on 429', async () => {
    const doc = await documentOf()
    const limited = ['post /v1/auth/register', 'post /v1/auth/login', 'post /v1/auth/token', 'post /v1/auth/password/forgot']
    for (const [method, path, op] of operations(doc)) {
      const isLimited = limited.includes(`${method} ${path}`)
      for (const [status, response] of Object.entries(op.responses)) {
        if (!/^[24]/.test(status)) continue
        assert.equal(Boolean(response.headers?.['RateLimit-Limit']), isLimited, `${method} ${path} ${status}`)
        if (isLimited) assert.ok(response.headers?.['RateLimit-Reset'] && response.headers['RateLimit-Remaining'])
      }
      if (isLimited) assert.ok(op.responses['429']?.headers?.['Retry-After'], `${method} ${path} 429 Retry-After`)
      assert.equal((op as unknown as Record<string, unknown>)['x-rate-limited'], undefined)
    }
  })

  it('when generated, then the main routes carry request and response examples', async () => {
    const doc = await documentOf()
    const requestExample = (path: string, method: string, type = 'application/json') => doc.paths[path]?.[method]?.requestBody?.content[type]?.example
    const responseExample = (path: string, method: string, status: string) => doc.paths[path]?.[method]?.responses[status]?.content?.['application/json']?.example
    assert.deepEqual(Object.keys(requestExample('/v1/auth/register', 'post') as object).sort(), ['email', 'name', 'password', 'username'])
    assert.ok(requestExample('/v1/auth/login', 'post'))
    assert.equal((requestExample('/v1/auth/token', 'post', 'application/x-www-form-urlencoded') as { grant_type: string }).grant_type, 'password')
    assert.ok(requestExample('/v1/tasks', 'post'))
    assert.ok(requestExample('/v1/tasks/{id}', 'patch'))
    assert.equal((responseExample('/v1/tasks', 'post', '201') as { title: string }).title, 'Write report')
    assert.ok(responseExample('/v1/tasks/{id}', 'get', '200'))
    assert.ok((responseExample('/v1/auth/register', 'post', '201') as { user: object }).user)
    assert.ok(responseExample('/v1/users/me', 'get', '200'))
  })
})
