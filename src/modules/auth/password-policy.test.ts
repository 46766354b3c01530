import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { checkPassword, commonPasswords } from './password-policy.js'

const defaults = { minLength: 8, requireCharacterClasses: false }

describe('password policy', () => {
  it('ships at least 10,000 common passwords from a maintained list', () => {
    assert.ok(commonPasswords().size >= 10_000, String(commonPasswords().size))
  })

  it('when the password is long enough and uncommon, then it passes with no composition rules', () => {
    assert.equal(checkPassword('violet orbit canyon', {}, defaults), null)
    assert.equal(checkPassword('ぱすわーどはながい', {}, defaults), null, 'Unicode allowed')
  })

  it('when too short or too long (in code points), then it fails', () => {
    assert.match(checkPassword('abc1234', {}, defaults)?.message ?? '', /at least 8/)
    assert.equal(checkPassword('😀😀😀😀😀😀😀😀', {}, defaults), null, '8 code points, 16 UTF-16 units')
    assert.match(checkPassword('😀'.repeat(7), {}, defaults)?.message ?? '', /at least 8/)
    assert.match(checkPassword('x'.repeat(129), {}, defaults)?.message ?? '', /at most 128/)
    assert.equal(checkPassword('xQ9'.repeat(42) + 'ab', {}, defaults), null, '128 is fine')
    assert.match(checkPassword('long enough pw', {}, { ...defaults, minLength: 15 })?.message ?? '', /at least 15/)
  })

  it('when the password is common, in any case, then it fails', () => {
    for (const p of ['password', 'PASSWORD1', 'iloveyou', 'qwertyuiop', 'Sunshine1']) {
      assert.match(checkPassword(p, {}, defaults)?.message ?? '', /common/, p)
    }
  })

  it('when the password contains the username, the email local part (4+) or taskflow, then it fails', () => {
    assert.match(checkPassword('xx-AdaLove-yy', { username: 'adalove' }, defaults)?.message ?? '', /username/)
    assert.match(checkPassword('myGRACEHOPPER!!', { email: 'gracehopper@example.com' }, defaults)?.message ?? '', /email/)
    assert.equal(checkPassword('bob is a builder', { email: 'bob@example.com' }, defaults), null, 'local part under 4 characters is not checked')
    assert.match(checkPassword('I use TaskFlow daily', {}, defaults)?.message ?? '', /taskflow/)
  })

  it('when character classes are required, then a letter, a digit and a symbol are needed', () => {
    const strict = { ...defaults, requireCharacterClasses: true }
    assert.match(checkPassword('onlyletterslong', {}, strict)?.message ?? '', /digit/)
    assert.match(checkPassword('letters4andnums', {}, strict)?.message ?? '', /symbol/)
    assert.match(checkPassword('1234567890!!', {}, strict)?.message ?? '', /letter/)
    assert.equal(checkPassword('violet orbit 42', {}, strict), null, 'a space is a symbol')
  })
})
