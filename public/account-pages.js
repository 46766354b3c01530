// The /reset-password and /verify-email pages (API.md "Mail"): the token travels in the URL fragment,
// which no server sees; it is read here and POSTed only when the person presses the button, so a mail
// scanner that opens the link spends nothing. Served with a strict CSP: no inline script or style.
(function () {
  'use strict'
  const page = document.body.dataset.page
  const form = document.getElementById('form')
  const button = document.getElementById('submit')
  const status = document.getElementById('status')
  const token = new URLSearchParams(window.location.hash.slice(1)).get('token')

  function show (kind, text) {
    status.className = kind
    status.textContent = text
  }

  const DEAD_LINK = page === 'reset'
    ? 'This link is invalid, has expired or was already used. Ask for a new password-reset mail.'
    : 'This link is invalid, has expired or was already used. Ask for a new verification mail from your account.'

  if (!token || !/^[A-Za-z0-9_-]{1,512}$/.test(token)) {
    form.hidden = true
    show('error', 'This link is incomplete: open the whole link from the mail again.')
    return
  }

  form.addEventListener('submit', async function (event) {
    event.preventDefault()
    let body
    if (page === 'reset') {
      const password = form.elements.password.value
      if (password.length === 0 || password !== form.elements.confirm.value) {
        show('error', 'The two passwords differ: type the same new password twice.')
        return
      }
      body = { token, new_password: password }
    } else {
      body = { token }
    }
    button.disabled = true
    show('', 'Working…')
    let res
    try {
      res = await fetch(page === 'reset' ? '/v1/auth/password/reset' : '/v1/auth/email/verify', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        credentials: 'omit',
        cache: 'no-store'
      })
    } catch {
      button.disabled = false
      show('error', 'The server could not be reached. Check your connection and try again.')
      return
    }
    if (res.ok) {
      form.hidden = true
      show('ok', page === 'reset'
        ? 'Your password was changed. Every session was signed out: sign in again with the new password.'
        : 'Thank you: your email address is confirmed.')
      return
    }
    let problem = {}
    try { problem = await res.json() } catch {}
    if (problem.code === 'reset_token_invalid' || problem.code === 'verification_token_invalid') {
      form.hidden = true
      show('error', DEAD_LINK)
    } else if (problem.code === 'weak_password') {
      button.disabled = false
      // The policy's messages follow the field's name ("must be at least 12 characters", "is too common; …").
      show('error', 'That password ' + (problem.errors?.[0]?.message ?? 'is not accepted; choose another one') + '.')
    } else if (problem.code === 'email_taken') {
      form.hidden = true
      show('error', 'Another account has taken this address meanwhile, so it cannot be used.')
    } else {
      button.disabled = false
      show('error', 'Something went wrong (' + res.status + '). Please try again in a moment.')
    }
  })
})()
