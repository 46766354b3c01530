import type { RouteOptions } from 'fastify'

/**
 * Every route's path template and methods, collected as routes are added, to tell a known path called
 * with another method (405 with `Allow`, RFC 9110 §15.5.6 and §10.2.1) from an unknown path (404).
 */
export interface RouteIndex {
  /**
   * Records a route as an onRoute hook sees it: `url` is Fastify's template (`/v1/tasks/:id`,
   * `/docs/static/*`). A plugin's `/` route under a prefix also answers the prefix with a trailing
   * slash (prefixTrailingSlash 'both', the default), which no onRoute call reports: added here.
   */
  add: (route: Pick<RouteOptions, 'method' | 'url' | 'prefixTrailingSlash'> & { routePath?: string, prefix?: string }) => void
  /** The methods the path (without its query) has, sorted (HEAD with GET); empty for an unknown path. */
  allowed: (path: string) => string[]
}

/** A template as a whole-path regular expression: `:name` is one segment (find-my-way lets it be empty), `*` the rest. */
function templatePattern (url: string): RegExp {
  const source = url.split(/(:[A-Za-z0-9_]+|\*)/).map((part) => {
    if (part === '*') return '.*'
    if (part.startsWith(':')) return '[^/]*'
    return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  }).join('')
  return new RegExp(`^${source}$`)
}

export function createRouteIndex (): RouteIndex {
  const routes = new Map<string, { pattern: RegExp, methods: Set<string> }>()
  return {
    add ({ method, url, routePath, prefix, prefixTrailingSlash }) {
      // OPTIONS is the CORS plugin's catch-all ('*'): it would make every path "known".
      const methods = (Array.isArray(method) ? method : [method]).filter(m => m !== 'OPTIONS')
      if (methods.length === 0) return
      const urls = routePath === '' && prefix && (prefixTrailingSlash ?? 'both') === 'both' ? [url, `${url}/`] : [url]
      for (const template of urls) {
        let entry = routes.get(template)
        if (!entry) {
          entry = { pattern: templatePattern(template), methods: new Set() }
          routes.set(template, entry)
        }
        for (const m of methods) entry.methods.add(m)
        if (entry.methods.has('GET')) entry.methods.add('HEAD')
      }
    },
    allowed (path) {
      const found = new Set<string>()
      for (const { pattern, methods } of routes.values()) {
        if (pattern.test(path)) for (const m of methods) found.add(m)
      }
      return [...found].sort()
    }
  }
}
