import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { displayPrefix, isWellFormedPersonalAccessToken, newPersonalAccessToken, PAT_LENGTH } from './token-format.js'

describe('personal access token format', () => {
  it('when a token is made, then it is tfp_ + 43 base62 + a 6-character checksum, and well formed', () => {
    const token = newPersonalAccessToken()
    assert.match(token, /^tfp_[0-9A-Za-z]{49}$/)
    assert.equal(token.length, PAT_LENGTH)
    assert.ok(isWellFormedPersonalAccessToken(token))
    assert.equal(displayPrefix(token), token.slice(0, 12))
  })

  it('when many tokens are made, then they differ and every base62 character appears (no biased alphabet)', () => {
    const tokens = Array.from({ length: 2000 }, newPersonalAccessToken)
    assert.equal(new Set(tokens).size, tokens.length)
    const seen = new Set(tokens.flatMap(t => [...t.slice(4, 47)]))
    assert.equal(seen.size, 62)
  })

  it('when any one character of the random part or checksum is changed, then the token is refused', () => {
    const token = newPersonalAccessToken()
    fc.assert(fc.property(fc.integer({ min: 4, max: PAT_LENGTH - 1 }), fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'), (at, ch) => {
      fc.pre(token[at] !== ch)
      const typo = token.slice(0, at) + ch + token.slice(at + 1)
      return !isWellFormedPersonalAccessToken(typo)
    }), { numRuns: 500 })
  })

  it('when two neighbouring characters are swapped, then the token is refused', () => {
    const token = newPersonalAccessToken()
    for (let i = 4; i < PAT_LENGTH - 1; i++) {
      if (token[i] === token[i + 1]) continue
      const swapped = token.slice(0, i) + token[i + 1] + token[i] + token.slice(i + 2)
      assert.equal(isWellFormedPersonalAccessToken(swapped), false, `swap at ${i}`)
    }
  })

  it('when the prefix, length or alphabet is wrong, then the token is refused', () => {
    const token = newPersonalAccessToken()
    for (const bad of ['', 'tfp_', token.slice(1), 'tfx_' + token.slice(4), 'TFP_' + token.slice(4), token + 'a', token.slice(0, -1),
      token.slice(0, 10) + '-' + token.slice(11), token.slice(0, 10) + 'é' + token.slice(11), ` ${token}`]) {
      assert.equal(isWellFormedPersonalAccessToken(bad), false, JSON.stringify(bad))
    }
  })
})
