// A real OpenID provider on loopback for maia's sign-in tests: panva's certified
// `oidc-provider` (pinned in package-lock.json), configured as the portal's Keycloak
// would be: one confidential client, the authorization code flow only, PKCE (S256)
// required, RS256 ID tokens carrying a `groups` claim, RP-initiated logout.
//
// Usage: node provider.mjs CONFIG.json, or node provider.mjs with the JSON config on
// stdin (what maia_testkit::oidc does).
// The config holds the client secret and the users' passwords, so it never goes
// through argv. The first line on stdout is the port listened on (127.0.0.1).
//
// {
//   "port": 0,
//   "client": { "client_id": "...", "client_secret": "...",
//               "redirect_uris": ["..."], "post_logout_redirect_uris": ["..."] },
//   "users": [ { "username": "ann", "password": "...", "email": "ann@example.org",
//                "name": "Ann", "groups": ["MAIA:admin"] } ]
// }
//
// Interactions: devInteractions is off (it accepts any password). A minimal handler
// below serves /interaction/:uid as a plain HTML form (username, password; no
// JavaScript) posted to /interaction/:uid/login; a correct password finishes the login
// and grants every requested scope at once (auto-consent), so the whole sign-in is a
// GET and one form POST, in a browser or from plain HTTP.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';

import Provider from 'oidc-provider';

const readAll = async (stream) => {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
};

const config = JSON.parse(
  process.argv[2] ? fs.readFileSync(process.argv[2], 'utf8') : await readAll(process.stdin),
);
const { client } = config;
const users = new Map((config.users ?? []).map((u) => [u.username, u]));

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const page = (title, body) => `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>${escape(title)}</h1>${body}</main></body></html>`;

const loginForm = (uid, error, username = '') => page(
  'Sign in',
  `${error ? `<p role="alert" id="error">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" value="${escape(username)}" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>`,
);

const server = http.createServer();
await new Promise((resolve) => { server.listen(config.port ?? 0, '127.0.0.1', resolve); });
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

// A fresh RSA key per run: tests take it from the JWKS like any relying party.
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: client.client_id,
    client_secret: client.client_secret,
    redirect_uris: client.redirect_uris,
    post_logout_redirect_uris: client.post_logout_redirect_uris ?? [],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  }],
  responseTypes: ['code'],
  pkce: { required: () => true },
  scopes: ['openid', 'profile', 'email', 'groups'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  // As Keycloak does: the user's claims (groups above all) are in the ID token itself,
  // not only at the userinfo endpoint.
  conformIdTokenClaims: false,
  jwks: { keys: [jwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      // The defaults load a web font from the Internet: these stay on loopback.
      async logoutSource(ctx, form) {
        ctx.body = page('Sign out', `${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>`);
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('Signed out', '<p>You are signed out.</p>');
      },
    },
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Error', `<pre id="error">${escape(JSON.stringify(out))}</pre>`);
  },
  async findAccount(_ctx, sub) {
    const user = users.get(sub);
    if (!user) return undefined;
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          preferred_username: user.username,
          name: user.name ?? user.username,
          email: user.email,
          email_verified: true,
          groups: user.groups ?? [],
        };
      },
    };
  },
});

// Every requested scope and claim is granted: the consent prompt never shows.
async function finish(req, res, details, accountId) {
  const { params, prompt } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId, clientId: params.client_id });
  grant.addOIDCScope(params.scope);
  if (prompt.details?.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, {
    login: { accountId },
    consent: { grantId },
  }, { mergeWithLastSubmission: false });
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  const send = (status, html) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html);
  };
  if (action === 'login') {
    if (req.method !== 'POST') return send(405, page('Error', '<p>POST only</p>'));
    const form = new URLSearchParams(await readAll(req));
    const username = form.get('username') ?? '';
    const user = users.get(username);
    if (!user || user.password !== form.get('password')) {
      return send(401, loginForm(uid, 'Invalid username or password.', username));
    }
    return finish(req, res, details, username);
  }
  if (details.prompt.name === 'login') return send(200, loginForm(uid));
  // Already signed in (session cookie): only consent is asked, granted at once.
  return finish(req, res, details, details.session.accountId);
}

const callback = provider.callback();
server.on('request', (req, res) => {
  const m = new URL(req.url, issuer).pathname.match(/^\/interaction\/([\w-]+)(\/login)?$/);
  if (!m) return callback(req, res);
  return interaction(req, res, m[1], m[2] ? 'login' : null).catch((err) => {
    res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page('Error', `<pre id="error">${escape(err.message)}</pre>`));
  });
});

process.stdout.write(`${port}\n`);
