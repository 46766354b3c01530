import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { suiteApp } from '../../../test/build-test-app.js'
import { storageLabel } from '../../../test/test-env.js'
import { ifNoneMatchHolds } from './conditional.js'

describe(`GET /v1/tasks/{id} with If-None-Match (RFC 9110 §13.1.2) [${storageLabel}]`, () => {
  const suite = suiteApp()
  before(suite.start)

  it('when If-None-Match matches the ETag (strong, weak, in a list, or *), then 304 with the ETag and no body', async () => {
    const { app, make } = suite.app()
    const user = await make.user()
    const task = await make.task(user.tokens.access_token)
    const url = `/v1/tasks/${task.id}`
    const first = await app.inject({ method: 'GET', url, headers: make.bearer(user.tokens.access_token) })
    const etag = String(first.headers.etag)
    assert.equal(etag, '"1"')
    for (const header of [etag, `W/${etag}`, `"0", ${etag}`, `W/"7",W/${etag}`, '*']) {
      for (const method of ['GET', 'HEAD'] as const) {
        const res = await app.inject({ method, url, headers: { ...make.bearer(user.tokens.access_token), 'if-none-match': header } })
        assert.equal(res.statusCode, 304, `${method} If-None-Match: ${header}`)
        assert.equal(res.body, '')
        assert.equal(res.headers.etag, etag)
        assert.equal(res.headers['content-length'] ?? '0', '0', 'a 304 announces no body')
      }
    }
  })

  it('when If-None-Match names another version, then 200 with the task; after a change the old ETag no longer matches', async () => {
    const { app, make } = suite.app()
    const user = await make.user()
    const headers = make.bearer(user.tokens.access_token)
    const task = await make.task(user.tokens.access_token)
    const url = `/v1/tasks/${task.id}`
    const stale = await app.inject({ method: 'GET', url, headers: { ...headers, 'if-none-match': '"2", W/"3"' } })
    assert.equal(stale.statusCode, 200)
    assert.equal(stale.json().id, task.id)
    await app.inject({ method: 'PATCH', url, headers, payload: { title: 'changed' } })
    const changed = await app.inject({ method: 'GET', url, headers: { ...headers, 'if-none-match': '"1"' } })
    assert.equal(changed.statusCode, 200)
    assert.equal(changed.headers.etag, '"2"')
    assert.equal(changed.json().title, 'changed')
  })

  it('when someone else\'s task is asked for with If-None-Match: *, then 403, never a 304 that would confirm it', async () => {
    const { app, make } = suite.app()
    const [owner, stranger] = [await make.user(), await make.user()]
    const task = await make.task(owner.tokens.access_token)
    const res = await app.inject({ method: 'GET', url: `/v1/tasks/${task.id}`, headers: { ...make.bearer(stranger.tokens.access_token), 'if-none-match': '*' } })
    assert.equal(res.statusCode, 403)
  })

  it('when the header is parsed, then weak comparison applies and junk never matches', () => {
    assert.equal(ifNoneMatchHolds(undefined, '"1"'), false)
    assert.equal(ifNoneMatchHolds('', '"1"'), false)
    assert.equal(ifNoneMatchHolds('"1"', '"1"'), true)
    assert.equal(ifNoneMatchHolds('W/"1"', '"1"'), true)
    assert.equal(ifNoneMatchHolds(' "2" , "1" ', '"1"'), true)
    assert.equal(ifNoneMatchHolds('"11"', '"1"'), false)
    assert.equal(ifNoneMatchHolds('1', '"1"'), false)
    assert.equal(ifNoneMatchHolds('"1", *', '"2"'), false)
  })
})
