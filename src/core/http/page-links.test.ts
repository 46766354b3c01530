import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { suiteApp } from '../../../test/build-test-app.js'
import { storageLabel } from '../../../test/test-env.js'
import { nextPageUrl } from './page-links.js'

const PUBLIC_URL = 'https://api.example.test'

describe(`Link rel="next" on every page (RFC 8288) [${storageLabel}]`, () => {
  const suite = suiteApp({ PUBLIC_URL })
  before(suite.start)

  /** Follows Link headers from `first` to the end; returns the pages and the links seen. */
  async function walk (app: FastifyInstance, first: string, headers: Record<string, string>) {
    const pages: Array<{ data: Array<{ id: string }>, next_cursor: string | null }> = []
    const links: Array<string | undefined> = []
    let url: string | undefined = first
    while (url !== undefined && pages.length < 50) {
      const res: LightMyRequestResponse = await app.inject({ method: 'GET', url, headers })
      assert.equal(res.statusCode, 200, `${url}: ${res.body}`)
      const page = res.json<typeof pages[number]>()
      const link = res.headers.link as string | undefined
      pages.push(page)
      links.push(link)
      if (page.next_cursor === null) {
        assert.equal(link, undefined, 'the last page has no Link')
        url = undefined
      } else {
        const target = /^<([^>]+)>; rel="next"$/.exec(String(link))?.[1]
        assert.ok(target, `${url}: Link ${link}`)
        const next = new URL(target)
        assert.equal(next.origin, PUBLIC_URL)
        assert.equal(next.searchParams.get('cursor'), page.next_cursor)
        url = next.pathname + next.search
      }
    }
    return { pages, links }
  }

  it('when /v1/tasks has a next page, then Link is its absolute URL from PUBLIC_URL with the query kept; following it pages to the end', async () => {
    const { app, make } = suite.app()
    const user = await make.user()
    for (const title of ['a', 'b', 'c', 'd', 'e']) await make.task(user.tokens.access_token, { title, tags: ['work item'] })
    await make.task(user.tokens.access_token, { title: 'not tagged' })
    const { pages, links } = await walk(app, '/v1/tasks?limit=2&tag=work%20item&sort=title', make.bearer(user.tokens.access_token))
    assert.deepEqual(pages.map(p => p.data.length), [2, 2, 1])
    assert.deepEqual(pages.flatMap(p => p.data.map(task => (task as unknown as { title: string }).title)), ['a', 'b', 'c', 'd', 'e'])
    const first = new URL(String(/<([^>]+)>/.exec(String(links[0]))?.[1]))
    assert.equal(first.pathname, '/v1/tasks')
    assert.deepEqual([...first.searchParams.keys()].sort(), ['cursor', 'limit', 'sort', 'tag'])
    assert.equal(first.searchParams.get('tag'), 'work item')
  })

  it('when an admin list (users, tasks, audit events) has a next page, then it sends Link too', async () => {
    const { app, make } = suite.app()
    const admin = await make.admin()
    const headers = make.bearer(admin.tokens.access_token)
    const owner = await make.user()
    await make.user()
    for (let i = 0; i < 3; i++) await make.task(owner.tokens.access_token)
    for (const url of ['/v1/admin/users?limit=1', `/v1/admin/tasks?limit=1&owner_id=${owner.id}`, '/v1/admin/audit-events?limit=1&type=register']) {
      const { pages } = await walk(app, url, headers)
      assert.ok(pages.length >= 2, `${url}: ${pages.length} pages`)
    }
  })

  it('when a page is the last one, or a list is not paged, then no Link is sent', async () => {
    const { app, make } = suite.app()
    const user = await make.user()
    await make.task(user.tokens.access_token)
    const last = await app.inject({ method: 'GET', url: '/v1/tasks?limit=5', headers: make.bearer(user.tokens.access_token) })
    assert.equal(last.json().next_cursor, null)
    assert.equal(last.headers.link, undefined)
    const sessions = await app.inject({ method: 'GET', url: '/v1/auth/sessions', headers: make.bearer(user.tokens.access_token) })
    assert.equal(sessions.headers.link, undefined)
  })

  it('when the next URL is built, then repeated and encoded parameters survive and unsafe characters are escaped', () => {
    assert.equal(nextPageUrl('https://api.example.test', '/v1/tasks?limit=2&q=a%26b&x=1&x=2&cursor=old', 'NEW'), 'https://api.example.test/v1/tasks?limit=2&q=a%26b&x=1&x=2&cursor=NEW')
    assert.equal(nextPageUrl('https://api.example.test/base', '/v1/tasks', 'c'), 'https://api.example.test/base/v1/tasks?cursor=c')
    assert.doesNotMatch(nextPageUrl('https://api.example.test', '/v1/<tasks>?q="x"', 'c'), /[<>"]/)
  })
})
