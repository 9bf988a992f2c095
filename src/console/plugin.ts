/**
 * The billing console as a Fastify plugin, served by the API process under /console (design.md, "Console"): sign in
 * with an API key, kept in an encrypted HTTP-only SameSite=Strict session cookie (@fastify/secure-session); a CSRF
 * token on every form (@fastify/csrf-protection); a strict Content-Security-Policy (@fastify/helmet: no script at
 * all, styles only from the plugin's own stylesheet). Merchant keys see their merchant; operator keys see every
 * merchant and may switch to one. Every change goes through the signed-in key's BillingClient (./backend.ts).
 */
import type { FastifyInstance } from 'fastify';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import fastifySecureSession from '@fastify/secure-session';
import type { Kysely } from 'kysely';
import type { BillingClient } from '@temporal-billing/client';
import type { ApiKeySpec } from '../api/api-keys';
import type { BooksDatabase } from '../records/schema';
import type { Seller } from '../records/documents';
import { BadCursor } from '../records/readers';
import { createConsoleBackend } from './backend';
import { checkCsrf, formOf, sendPage, viewerOf, viewers } from './request';
import { CONSOLE_PREFIX, CSS_PATH, paths } from './layout';
import { CONSOLE_CSS } from './style';
import { loginPage } from './pages-cycles';
import { registerConsolePages, type ConsoleRouteDeps } from './routes';
import { html } from './html';

declare module '@fastify/secure-session' {
  interface SessionData {
    /** The API key signed in with (the cookie is encrypted; the key never reaches a page or a log). */
    apiKey: string;
    /** Operators: the merchant picked (absent: every merchant). */
    merchant: string;
    /** One message for the next page (after a change). */
    flash: string;
  }
}

export interface ConsolePluginOptions {
  db: Kysely<BooksDatabase>;
  billing: BillingClient;
  /** Finds the configured key a presented key is (the API's own matcher). */
  keyFor: (presented: string | undefined) => ApiKeySpec | undefined;
  /** 32 bytes (CONSOLE_SESSION_KEY). */
  sessionKey: Buffer;
  /** Mark the cookie Secure (production, behind TLS); plain-HTTP development leaves it off. */
  secureCookie: boolean;
  seller: Seller;
  temporalUiUrl?: string | undefined;
  namespace: string;
  /** How long a session lasts without being used again. Default 8 hours. */
  sessionSeconds?: number;
}

const PUBLIC = new Set([paths.login, CSS_PATH]);

export async function consolePlugin(app: FastifyInstance, opts: ConsolePluginOptions): Promise<void> {
  const backend = createConsoleBackend({
    db: opts.db,
    namespace: opts.namespace,
    ...(opts.temporalUiUrl ? { temporalUiUrl: opts.temporalUiUrl } : {}),
  });
  const maxAge = opts.sessionSeconds ?? 8 * 3600;
  await app.register(fastifySecureSession, {
    key: opts.sessionKey,
    cookieName: 'billing_console',
    expiry: maxAge,
    cookie: { path: CONSOLE_PREFIX, httpOnly: true, sameSite: 'strict', secure: opts.secureCookie, maxAge },
  });
  await app.register(fastifyCsrf, { sessionPlugin: '@fastify/secure-session' });
  await app.register(fastifyFormbody, { bodyLimit: 64 * 1024 });
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    // The console links to the Temporal UI on another origin: send no referrer (its URLs name subscriptions).
    referrerPolicy: { policy: 'no-referrer' },
  });

  app.setErrorHandler((err: unknown, req, reply) => {
    const e = err as { statusCode?: number; code?: string; message?: string };
    if (e.code?.startsWith('FST_CSRF')) {
      return sendPage(
        reply,
        403,
        'Refused',
        html`<h1>Refused</h1>
          <div class="error" role="alert">
            <p>
              This form did not come from this console session (CSRF token missing or wrong): nothing was changed. Go
              back, reload the page and try again.
            </p>
          </div>`,
      );
    }
    if (err instanceof BadCursor) {
      return sendPage(
        reply,
        400,
        'Bad page link',
        html`<h1>Bad page link</h1>
          <div class="error" role="alert"><p>${err.message}</p></div>`,
      );
    }
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      return sendPage(
        reply,
        e.statusCode,
        'Bad request',
        html`<h1>Bad request</h1>
          <div class="error" role="alert"><p>${e.message ?? ''}</p></div>`,
      );
    }
    req.log.error({ err: e.message ?? String(err) }, 'console page failed');
    return sendPage(
      reply,
      500,
      'Something failed',
      html`<h1>Something failed</h1>
        <p>Nothing was changed by this page. Try again; the API log has the details.</p>`,
    );
  });
  // A page route of its own, not a not-found handler: the API server already has one for its prefix, and a route
  // of the console's prefix only catches what no console route matched.
  app.all(`${CONSOLE_PREFIX}/*`, (_req, reply) =>
    sendPage(
      reply,
      404,
      'Not found',
      html`<h1>Not found</h1>
        <p>No such page. <a href="${paths.overview}">Overview</a></p>`,
    ),
  );

  // Who is signed in: the session's key, checked against the configured keys on every request (a removed key ends
  // its sessions at once). Pages need one; the sign-in page and the stylesheet do not.
  app.addHook('preHandler', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (PUBLIC.has(path)) return;
    const key = opts.keyFor(req.session.get('apiKey'));
    if (!key) {
      if (req.method === 'GET') return reply.code(303).header('location', paths.login).send();
      return sendPage(
        reply,
        401,
        'Signed out',
        html`<h1>Signed out</h1>
          <p>Your session ended; nothing was changed. <a href="${paths.login}">Sign in</a> again.</p>`,
      );
    }
    const operator = key.scopes.includes('operator');
    const picked = operator ? req.session.get('merchant') : undefined;
    const merchantScope = operator ? picked || undefined : key.merchantId;
    const billing = opts.billing.forMerchant(merchantScope ?? key.merchantId, {
      crossMerchant: operator,
      keyId: key.id,
      ...(key.settlement === 'any' ? {} : { settlementAllowList: key.settlement ?? {} }),
    });
    const merchants = operator ? await backend.records.merchants() : undefined;
    viewers.set(req, {
      keyId: key.id,
      operator,
      merchantScope,
      billing,
      shell: {
        keyId: key.id,
        operator,
        merchantScope,
        csrf: reply.generateCsrf(),
        ...(merchants ? { merchants } : {}),
      },
    });
  });

  app.get(CSS_PATH, async (_req, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(CONSOLE_CSS),
  );

  app.get(paths.login, async (req, reply) => {
    if (opts.keyFor(req.session.get('apiKey'))) return reply.code(303).header('location', paths.overview).send();
    return sendPage(reply, 200, 'Sign in', loginPage(reply.generateCsrf()));
  });

  app.post(paths.login, { preHandler: checkCsrf(app) }, async (req, reply) => {
    const presented = formOf(req).apiKey?.trim();
    const key = presented ? opts.keyFor(presented) : undefined;
    if (!key) {
      const why = presented ? 'not a key this engine knows' : 'required';
      return sendPage(reply, presented ? 401 : 400, 'Sign in', loginPage(reply.generateCsrf(), why));
    }
    // A new session for the new identity (a CSRF secret or a merchant from before is not carried over).
    req.session.regenerate();
    req.session.set('apiKey', presented);
    req.log.info({ keyId: key.id }, 'console sign-in');
    return reply.code(303).header('location', paths.overview).send();
  });

  app.post(paths.logout, { preHandler: checkCsrf(app) }, async (req, reply) => {
    req.session.delete();
    return reply.code(303).header('location', paths.login).send();
  });

  const deps: ConsoleRouteDeps = { backend, seller: opts.seller, sendPage, viewerOf, formOf };
  registerConsolePages(app, deps);
}
