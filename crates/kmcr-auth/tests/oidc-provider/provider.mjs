// A real OpenID Connect provider (the `oidc-provider` package) issuing NHS CIS2-shaped claims, for kmcr-auth's
// integration tests only. It listens on 127.0.0.1 at the port given (0 for any free port), prints one JSON line
// {"issuer": ..., "port": ...} once listening, and signs users in: the test account named by the authorisation
// request's `login_hint` is logged in and consented at once; without a `login_hint` (a relying party such as KMCR's
// sign-in page sends none) it shows a plain form where the browser picks the account, as a person would sign in.
// Never run this in front of real users.
//
//   node provider.mjs --port 0 --redirect-uri http://127.0.0.1:8913/auth/callback
//   node provider.mjs --port 0 --redirect-uri http://127.0.0.1/oauth/oidc/callback --loopback-any-port
//
// `--loopback-any-port` registers the client as a native application, so that a loopback redirect URI matches on any
// port (RFC 8252 section 7.3, as oidc-provider implements it): for a relying party whose port is chosen when it starts.

import { createServer } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: options } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'redirect-uri': { type: 'string', default: 'http://127.0.0.1:8913/auth/callback' },
    'loopback-any-port': { type: 'boolean', default: false },
  },
});

export const CLIENT_ID = 'kmcr-test-client';
export const CLIENT_SECRET = 'kmcr-test-client-secret-for-tests-only';

// The role of a clinician at an acute trust and the one they also hold at a GP practice, as CIS2 writes them.
const acuteRole = {
  person_roleid: '555021935107',
  org_code: 'RVV',
  role_code: 'S8000:G8000:R8000',
  role_name: '"Clinical":"Clinical Provision":"Clinical Practitioner Access Role"',
  activity_codes: ['B0360', 'B1611', 'D8007:C8008:B0168'],
  activities: ['View Detailed Health Records', 'Access Sensitive Flagged Records', 'Emergency Access'],
};
const practiceRole = {
  person_roleid: '555021936108',
  org_code: 'G82001',
  role_code: 'S8001:G8005:R8001',
  role_name: '"Clinical":"Clinical Provision":"Nurse Access Role"',
  activity_codes: ['B0370'],
  activities: ['View Summary Records'],
};
const organisations = [
  { org_code: 'RVV', org_name: 'EAST KENT HOSPITALS UNIVERSITY NHS FOUNDATION TRUST' },
  { org_code: 'G82001', org_name: 'TEST SURGERY' },
];

// Each test account: its `acr` at sign-in (none for `no-acr`) and its CIS2 claims.
const accounts = {
  'clinician-aal3': {
    acr: 'AAL3_ANY',
    claims: {
      nhsid_useruid: '555021934106',
      name: 'Test Clinician',
      nhsid_nrbac_roles: [acuteRole, practiceRole],
      selected_roleid: acuteRole.person_roleid,
      nhsid_user_orgs: organisations,
    },
  },
  // As clinician-aal3, but CIS2 lists the practice role first: a relying party must use `selected_roleid`, not order.
  'clinician-aal3-practice-first': {
    acr: 'AAL3_ANY',
    claims: {
      nhsid_useruid: '555021934409',
      name: 'Test Clinician Listed Practice First',
      nhsid_nrbac_roles: [practiceRole, acuteRole].map((role) => ({ ...role, person_roleid: `${role.person_roleid}4` })),
      selected_roleid: `${acuteRole.person_roleid}4`,
      nhsid_user_orgs: organisations,
    },
  },
  'nurse-aal2': {
    acr: 'AAL2_OR_AAL3_ANY',
    claims: {
      nhsid_useruid: '555021934207',
      name: 'Test Nurse',
      nhsid_nrbac_roles: [practiceRole, acuteRole].map((role) => ({ ...role, person_roleid: `${role.person_roleid}2` })),
      selected_roleid: `${practiceRole.person_roleid}2`,
      nhsid_user_orgs: organisations,
    },
  },
  'no-acr': {
    acr: undefined,
    claims: {
      nhsid_useruid: '555021934308',
      name: 'Test User Without Assurance',
      nhsid_nrbac_roles: [acuteRole].map((role) => ({ ...role, person_roleid: `${role.person_roleid}3` })),
      nhsid_user_orgs: organisations,
    },
  },
};

const server = createServer();
await new Promise((resolve) => server.listen(Number(options.port), '127.0.0.1', resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: 'test-rs256' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [options['redirect-uri']],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...(options['loopback-any-port'] ? { application_type: 'native' } : {}),
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: ['kmcr-test-provider-cookie-key'] },
  // PKCE for every client, confidential ones too, as KMCR always sends it.
  pkce: { required: () => true },
  scopes: ['openid', 'profile', 'nationalrbacaccess', 'selectedrole', 'associatedorgs'],
  // acr, auth_time, sid and iss are claims of the ID token whatever the scope (oidc-provider's defaults, kept).
  // CIS2 puts `acr` in every ID token; oidc-provider does so only when asked (acr_values) unless `openid` maps it.
  claims: {
    acr: null,
    auth_time: null,
    sid: null,
    iss: null,
    openid: ['sub', 'acr'],
    profile: ['name'],
    nationalrbacaccess: ['nhsid_useruid', 'nhsid_nrbac_roles'],
    selectedrole: ['selected_roleid'],
    associatedorgs: ['nhsid_user_orgs'],
  },
  acrValues: ['AAL3_ANY', 'AAL2_OR_AAL3_ANY'],
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, accountId) {
    const account = accounts[accountId];
    if (!account) return undefined;
    return { accountId, claims: async () => ({ sub: accountId, ...account.claims }) };
  },
});

async function formBody(req) {
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 10_000) break;
  }
  return new URLSearchParams(text);
}

// The sign-in form shown when no `login_hint` names the account: one button per test account.
function signInForm(uid) {
  const buttons = Object.keys(accounts)
    .map((name) => `<p><button type="submit" name="account" value="${name}">${name}</button></p>`)
    .join('');
  return `<!DOCTYPE html><html lang="en"><head><title>Test provider sign-in</title></head><body><h1>Sign in</h1>`
    + `<form method="post" action="/interaction/${uid}">${buttons}</form></body></html>`;
}

function loginResult(accountId) {
  const account = accounts[accountId];
  return account
    ? { login: { accountId, acr: account.acr, amr: ['pwd'] } }
    : { error: 'access_denied', error_description: 'no such test account' };
}

// Sign-in: login as the account named by `login_hint`, or the one picked on the form, then consent to what was asked.
provider.use(async (ctx, next) => {
  const match = /^\/interaction\/([^/]+)$/.exec(ctx.path);
  if (!match || !['GET', 'POST'].includes(ctx.method)) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params, session } = details;
  let result;
  if (prompt.name === 'login' && ctx.method === 'POST') {
    result = loginResult((await formBody(ctx.req)).get('account'));
  } else if (prompt.name === 'login' && params.login_hint === undefined) {
    ctx.type = 'html';
    ctx.body = signInForm(match[1]);
    return undefined;
  } else if (prompt.name === 'login') {
    result = loginResult(params.login_hint);
  } else if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    result = { consent: { grantId: await grant.save() } };
  } else {
    result = { error: 'access_denied', error_description: `unexpected prompt ${prompt.name}` };
  }
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
  ctx.status = 303;
  ctx.redirect(returnTo);
});

server.on('request', provider.callback());
process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
