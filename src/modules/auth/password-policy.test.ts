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

  // regression: #9 — the checks compare NFKC case-folded forms; lengths count NFC code points.
  it('when a banned word, name or common password is written in full-width or other compatibility forms, then it still fails', () => {
    assert.match(checkPassword('ｔａｓｋｆｌｏｗ quarry 58', {}, defaults)?.message ?? '', /taskflow/)
    assert.match(checkPassword('ＴＡＳＫＦＬＯＷ quarry 58', {}, defaults)?.message ?? '', /taskflow/)
    assert.match(checkPassword('ｐａｓｓｗｏｒｄ', {}, defaults)?.message ?? '', /common/)
    assert.match(checkPassword('xx ＡＤＡＬＯＶＥ yy', { username: 'adalove' }, defaults)?.message ?? '', /username/)
    assert.match(checkPassword('my ｇｒａｃｅｈｏｐｐｅｒ!!', { email: 'GraceHopper@example.com' }, defaults)?.message ?? '', /email/)
    assert.match(checkPassword('STRASSE quarry 58', { username: 'straße' }, defaults)?.message ?? '', /username/, 'ß folds to ss')
  })

  it('when a password is decomposed (NFD), then its length is counted in NFC code points', () => {
    const nfc = 'é'.normalize('NFC').repeat(128)
    const nfd = nfc.normalize('NFD')
    assert.equal([...nfd].length, 256)
    assert.equal(checkPassword(nfd, {}, defaults), null, '128 NFC code points')
    assert.match(checkPassword(`${nfd}é`, {}, defaults)?.message ?? '', /at most 128/)
    assert.match(checkPassword('e\u0301'.repeat(7), {}, defaults)?.message ?? '', /at least 8/, '14 code points, 7 in NFC')
  })

  it('when a password holds an unpaired surrogate, then it fails as ill-formed', () => {
    for (const p of ['\uD800\uD800\uD800\uD800 lone quartz 93', '\uDC00\uDC00\uDC00\uDC00 lone quartz 93']) {
      assert.match(checkPassword(p, {}, defaults)?.message ?? '', /well-formed/, p)
    }
    assert.equal(checkPassword('\uFFFD\uFFFD\uFFFD\uFFFD lone quartz 93', {}, defaults), null)
  })
})
