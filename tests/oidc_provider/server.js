// A real OpenID Connect provider (panva's oidc-provider) on loopback, for the single sign-on
// tests. Started by tests/sso/conftest.py; never part of the product.
//
// Environment: OIDC_TEST_PORT (where to listen), OIDC_TEST_REDIRECT_URIS (comma-separated
// callback URLs the clients may use) and OIDC_TEST_JWKS_FILE (the private keys it signs ID
// tokens with, as a JWKS; the tests make the key, so they can also sign with another one).
//
// Sign-in uses oidc-provider's development login form: any name from ACCOUNTS below, any
// password. Consent is granted at once (the clients are first-party).
import { readFileSync } from "node:fs";

import Provider from "oidc-provider";

const port = Number(process.env.OIDC_TEST_PORT);
const redirectUris = process.env.OIDC_TEST_REDIRECT_URIS.split(",");
const jwks = JSON.parse(readFileSync(process.env.OIDC_TEST_JWKS_FILE, "utf8"));
const issuer = `http://127.0.0.1:${port}`;

const ACCOUNTS = {
  ana: { email: "ana@team.test", email_verified: true, name: "Ana Lima" },
  ben: { email: "ben@team.test", email_verified: true, name: "Ben Okafor" },
  uma: { email: "uma@team.test", email_verified: false, name: "Uma Roy" },
  kim: { email: "kim@elsewhere.test", email_verified: true, name: "Kim Park" },
  olga: { email: "olga@elsewhere.test", email_verified: true, name: "Olga Berg" },
};

// The client whose codes outlive one second by nothing: the expired-code test uses it.
const SHORT_CODE_CLIENT = "seedream-short-code";

const client = (clientId) => ({
  client_id: clientId,
  client_secret: `${clientId}-secret`,
  redirect_uris: redirectUris,
  grant_types: ["authorization_code"],
  response_types: ["code"],
  token_endpoint_auth_method: "client_secret_post",
});

const provider = new Provider(issuer, {
  clients: [client("seedream"), client(SHORT_CODE_CLIENT)],
  jwks,
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name", "preferred_username"],
  },
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  cookies: { keys: ["test-only-cookie-key"] },
  ttl: {
    AuthorizationCode: (ctx, code, codeClient) =>
      codeClient.clientId === SHORT_CODE_CLIENT ? 1 : 60,
    Session: 600,
    Interaction: 600,
    Grant: 600,
    AccessToken: 600,
    IdToken: 600,
  },
  async findAccount(ctx, sub) {
    const account = ACCOUNTS[sub];
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, preferred_username: sub, ...account };
      },
    };
  },
  async loadExistingGrant(ctx) {
    const accountId = ctx.oidc.session.accountId;
    if (!accountId) return undefined;
    const clientId = ctx.oidc.client.clientId;
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId, accountId });
    grant.addOIDCScope("openid email profile");
    await grant.save();
    return grant;
  },
});

provider.listen(port, "127.0.0.1", () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
