#!/usr/bin/env node
// Summarises a V8 CPU profile (from `node --cpu-prof`): self time by package and by function, and
// optionally the call chains that lead to one function. How it was used: docs/benchmarks.md.
//   node scripts/cpu-profile-summary.mjs <file.cpuprofile> [--callers <function or package>] [--depth N]
import { readFileSync } from 'node:fs'

const [file, ...rest] = process.argv.slice(2)
if (!file) {
  console.error('usage: node scripts/cpu-profile-summary.mjs <file.cpuprofile> [--callers <name>] [--depth N]')
  process.exit(2)
}
const option = (name) => { const i = rest.indexOf(name); return i >= 0 ? rest[i + 1] : undefined }
const profile = JSON.parse(readFileSync(file, 'utf8'))
const byId = new Map(profile.nodes.map(n => [n.id, n]))
const parent = new Map()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)

const self = new Map()
let total = 0
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0
  total += dt
  self.set(id, (self.get(id) ?? 0) + dt)
})

/** Where a frame lives: an npm package, a file of ours, a node: module, or a native label. */
function where (node) {
  const url = node.callFrame.url
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg) return pkg[1]
  const ours = /\/(src|dist)\/(.+)$/.exec(url)
  if (ours) return `${ours[1]}/${ours[2]}`
  return url || node.callFrame.functionName || '(native)'
}
const label = (node) => `${node.callFrame.functionName || '(anonymous)'} ${where(node)}:${node.callFrame.lineNumber + 1}`
const add = (map, key, t) => map.set(key, (map.get(key) ?? 0) + t)
const pct = (t) => `${(100 * t / total).toFixed(1).padStart(5)}%`
const top = (map, n) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n)

const byPackage = new Map()
const byFunction = new Map()
for (const [id, t] of self) {
  const node = byId.get(id)
  add(byPackage, where(node), t)
  add(byFunction, label(node), t)
}
console.log(`${(total / 1e6).toFixed(1)} s sampled`)
console.log('\nself time by package')
for (const [k, t] of top(byPackage, 25)) console.log(pct(t), k)
console.log('\nself time by function')
for (const [k, t] of top(byFunction, 30)) console.log(pct(t), k)

const target = option('--callers')
if (target) {
  const depth = Number(option('--depth') ?? 8)
  const chains = new Map()
  for (const [id, t] of self) {
    const node = byId.get(id)
    if (!(node.callFrame.functionName || '').startsWith(target) && !where(node).includes(target)) continue
    const names = []
    for (let cur = parent.get(id); cur !== undefined && names.length < depth; cur = parent.get(cur)) names.push(label(byId.get(cur)))
    add(chains, names.join(' < '), t)
  }
  console.log(`\ncallers of ${target}`)
  for (const [k, t] of top(chains, 8)) console.log(pct(t), k)
}
