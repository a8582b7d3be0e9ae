/// <reference lib="dom" />
// Every page a person sees (login, lockout, second factor, enrolment, consent, logout, signed out,
// error) in real Chromium on a 390 px phone screen, in the light and the dark colour scheme: the
// page never scrolls sideways, and axe-core finds no WCAG 2.x A/AA violation (colour contrast
// included). Each page is also checked to stay no-store, unframeable and same-origin.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { adminRequest, createUser, getAdminToken } from '../helpers/admin.js';
import { launchBrowser } from '../helpers/browser.js';
import { startRelyingParty, type RelyingParty } from '../helpers/rp.js';
import { createTestEnvironment, storesLabel, type TestEnvironment, type TestServer } from '../helpers/server.js';

const api = 'https://pages.api.test';
const password = 'pages test password';
const phone = { width: 390, height: 844 };
const axeSource = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const axeTags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

interface AxeFinding {
  id: string;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}
interface AxeResults {
  violations: AxeFinding[];
  incomplete: AxeFinding[];
}
declare const axe: { run(context: Document, options: unknown): Promise<AxeResults> };

function describeFindings(findings: AxeFinding[]): string {
  return findings
    .map((finding) => `${finding.id} (${finding.help}): ${finding.nodes.map((node) => `${JSON.stringify(node.target)} ${node.failureSummary ?? ''}`).join('; ')}`)
    .join('\n');
}

describe(`login pages on a phone, accessible (${storesLabel})`, () => {
  let env: TestEnvironment;
  let server: TestServer;
  let rp: RelyingParty;
  let browser: Browser;
  const clientId = 'pages-web';

  before(async () => {
    env = await createTestEnvironment();
    server = await env.start({ LOGIN_MAX_FAILURES: '3' });
    rp = await startRelyingParty();
    browser = await launchBrowser();
    const admin = await getAdminToken(server.url);
    await adminRequest(server.url, admin, 'POST', '/admin/resources', {
      identifier: api,
      name: 'Pages API',
      scopes: ['pages.read', 'pages.write'],
      access_token_ttl: 300,
    });
    await adminRequest(server.url, admin, 'POST', '/admin/clients', {
      client_id: clientId,
      client_name: 'Pages',
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: [rp.callback],
      post_logout_redirect_uris: [rp.loggedOut],
      scope: 'openid profile email offline_access pages.read',
    });
    for (const username of ['pat', 'locked-lee', 'consenting-cy', 'leaving-lu']) await createUser(server.url, admin, { username, password, email: `${username}@example.com` });
    await createUser(server.url, admin, { username: 'mfa-mo', password, mfa_required: true });
  });

  after(async () => {
    await browser?.close();
    await rp?.close();
    await env?.cleanup();
  });

  /** A phone-sized browser with axe-core in every page (injected by the browser, not the page: CSP stays as served). */
  async function phoneContext(): Promise<BrowserContext> {
    const context = await browser.newContext({ viewport: phone, screen: phone, isMobile: true, hasTouch: true });
    await context.addInitScript({ content: axeSource });
    return context;
  }

  /** The page's documents: each must be no-store and unframeable, and nothing may come from another origin. */
  interface Documents {
    last(): Response | undefined;
    foreign: string[];
  }

  function watch(page: Page): Documents {
    let lastDocument: Response | undefined;
    const foreign: string[] = [];
    page.on('request', (request) => {
      const origin = new URL(request.url()).origin;
      if (origin !== server.issuer && origin !== rp.origin) foreign.push(request.url());
    });
    page.on('response', (response) => {
      if (response.request().resourceType() === 'document' && response.frame() === page.mainFrame()) lastDocument = response;
    });
    return { last: () => lastDocument, foreign };
  }

  async function checkPage(page: Page, label: string, documents: Documents): Promise<void> {
    assert.deepEqual(documents.foreign, [], `${label}: nothing loaded from another origin`);
    const served = documents.last();
    assert.ok(served, `${label}: a document was served`);
    assert.equal(new URL(served.url()).origin, server.issuer, `${label}: served by Portcullis`);
    const headers = served.headers();
    assert.match(headers['cache-control'] ?? '', /no-store/, `${label}: no-store`);
    assert.equal(headers['x-frame-options'], 'DENY', `${label}: not frameable`);
    assert.match(headers['content-security-policy'] ?? '', /frame-ancestors 'none'/, `${label}: CSP frame-ancestors`);

    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      const where = `${label} (${colorScheme})`;
      const layout = await page.evaluate(() => {
        const root = document.scrollingElement!;
        const card = document.querySelector('.card')!.getBoundingClientRect();
        return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, cardLeft: card.left, cardRight: card.right };
      });
      assert.ok(layout.scrollWidth <= phone.width, `${where}: scrolls sideways (${layout.scrollWidth} px wide at ${phone.width} px)`);
      assert.ok(layout.scrollWidth <= layout.clientWidth, `${where}: wider than the screen (${layout.scrollWidth} > ${layout.clientWidth})`);
      assert.ok(layout.cardLeft >= 0 && layout.cardRight <= layout.clientWidth, `${where}: the card fits (${layout.cardLeft}..${layout.cardRight})`);

      const results = await page.evaluate(
        (tags) => axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations', 'incomplete'] }),
        axeTags,
      );
      assert.equal(results.violations.length, 0, `${where}: axe violations\n${describeFindings(results.violations)}`);
      // A contrast axe could not decide (an unparsable colour, say) is not a pass either.
      const undecidedContrast = results.incomplete.filter((finding) => finding.id === 'color-contrast');
      assert.equal(undecidedContrast.length, 0, `${where}: contrast not decidable\n${describeFindings(undecidedContrast)}`);
    }
    await page.emulateMedia({ colorScheme: 'light' });
  }

  function authorizationUrl(extra: Record<string, string> = {}): string {
    const verifier = crypto.randomBytes(32).toString('base64url');
    const url = new URL(`${server.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: clientId,
      response_type: 'code',
      redirect_uri: rp.callback,
      scope: 'openid profile email pages.read',
      resource: api,
      state: crypto.randomBytes(8).toString('hex'),
      code_challenge: crypto.createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      ...extra,
    }).toString();
    return url.href;
  }

  async function signIn(page: Page, username: string, secret: string): Promise<Response> {
    await page.fill('input[name="username"]', username);
    await page.fill('input[name="password"]', secret);
    const posted = page.waitForResponse((response) => response.request().method() === 'POST' && response.url().endsWith('/login'));
    await page.click('button[type="submit"]');
    const response = await posted;
    await page.waitForLoadState();
    return response;
  }

  async function backAtTheClient(page: Page): Promise<URL> {
    await page.waitForURL((url) => url.href.startsWith(rp.callback));
    const callback = new URL(page.url());
    assert.ok(callback.searchParams.get('code'), `a code: ${callback.search}`);
    return callback;
  }

  it('regression: the login card overflowed a 390 px screen and hint text was 3.95:1 — login, wrong password and lockout pages fit and pass axe', async () => {
    const context = await phoneContext();
    const page = await context.newPage();
    const documents = watch(page);
    await page.goto(authorizationUrl());
    assert.match(await page.title(), /Sign in/);
    await checkPage(page, 'login', documents);

    const wrong = await signIn(page, 'pat', 'not the password');
    assert.equal(wrong.status(), 200);
    await page.waitForSelector('[role="alert"]');
    await checkPage(page, 'login after a wrong password', documents);

    let status = wrong.status();
    for (let attempt = 0; attempt < 10 && status !== 429; attempt += 1) status = (await signIn(page, 'locked-lee', 'not the password')).status();
    assert.equal(status, 429, 'the username is locked');
    await checkPage(page, 'lockout', documents);
    await context.close();
  });

  it('regression: the recovery-code field was laid out unlike the others — enrolment and challenge pages fit and pass axe', async () => {
    const context = await phoneContext();
    const page = await context.newPage();
    const documents = watch(page);
    await page.goto(authorizationUrl());
    await signIn(page, 'mfa-mo', password);
    assert.match(await page.title(), /two-step/);
    await checkPage(page, 'enrolment', documents);
    const totpSecret = (await page.textContent('code.secret'))!.trim();

    // A wrong code: the page that answers (with its error) fits and passes too.
    await page.fill('input[name="code"]', '000000');
    const refused = page.waitForResponse((response) => response.request().method() === 'POST' && response.url().endsWith('/mfa'));
    await page.click('button[type="submit"]');
    await refused;
    await page.waitForSelector('[role="alert"]');
    await checkPage(page, 'enrolment after a wrong code', documents);

    await page.fill('input[name="code"]', await generate({ secret: totpSecret }));
    await page.click('button[type="submit"]');
    await page.waitForSelector('button[value="allow"]');
    await page.click('button[value="allow"]');
    await backAtTheClient(page);

    const second = await phoneContext();
    const challenge = await second.newPage();
    const challengeDocuments = watch(challenge);
    await challenge.goto(authorizationUrl());
    await signIn(challenge, 'mfa-mo', password);
    await challenge.waitForSelector('input[name="code"]');
    await checkPage(challenge, 'second-factor challenge', challengeDocuments);

    await challenge.click('summary');
    await challenge.waitForSelector('input[name="recovery_code"]', { state: 'visible' });
    const boxes = await challenge.evaluate(() =>
      ['label[for="code"]', 'input[name="code"]', 'label[for="recovery_code"]', 'input[name="recovery_code"]'].map((selector) => {
        const box = document.querySelector(selector)!.getBoundingClientRect();
        return { left: box.left, top: box.top, bottom: box.bottom, width: box.width };
      }),
    );
    const [codeLabel, codeInput, recoveryLabel, recoveryInput] = boxes as [typeof boxes[0], typeof boxes[0], typeof boxes[0], typeof boxes[0]];
    assert.ok(codeLabel.bottom <= codeInput.top, 'the code label is above its field');
    assert.ok(recoveryLabel.bottom <= recoveryInput.top, 'the recovery-code label is above its field, like the code label');
    assert.equal(recoveryInput.left, codeInput.left, 'both fields start at the same place');
    assert.equal(recoveryInput.width, codeInput.width, 'both fields are as wide');
    await checkPage(challenge, 'second-factor challenge with the recovery code open', challengeDocuments);
    await context.close();
    await second.close();
  });

  it('regression: consent with nothing to ask showed "would like to:" over an empty list — it asks to confirm what was allowed, with Continue', async () => {
    const context = await phoneContext();
    const page = await context.newPage();
    const documents = watch(page);
    await page.goto(authorizationUrl({ scope: 'openid profile pages.read' }));
    await signIn(page, 'consenting-cy', password);
    await page.waitForSelector('button[value="allow"]');
    assert.match(await page.textContent('main') ?? '', /would like to:/);
    assert.equal(await page.textContent('button[value="allow"]'), 'Allow');
    await checkPage(page, 'consent', documents);
    await page.click('button[value="allow"]');
    await backAtTheClient(page);

    // One more scope: only that one is asked for; the rest is named as already allowed.
    await page.goto(authorizationUrl({ scope: 'openid profile email pages.read', prompt: 'consent' }));
    await page.waitForSelector('button[value="allow"]');
    const lists = await page.$$eval('main ul', (uls) => uls.map((ul) => [...ul.querySelectorAll('li')].map((li) => li.textContent.trim())));
    assert.deepEqual(lists, [
      ['See your email address'],
      ['Know who you are (your user identifier)', 'See your name and username', 'Pages API: pages.read'],
    ]);
    await checkPage(page, 'consent with something new', documents);
    await page.click('button[value="allow"]');
    await backAtTheClient(page);

    // Everything granted, prompt=consent: nothing new to ask.
    await page.goto(authorizationUrl({ scope: 'openid profile email pages.read', prompt: 'consent' }));
    await page.waitForSelector('button[value="allow"]');
    const text = (await page.textContent('main')) ?? '';
    assert.doesNotMatch(text, /would like to/);
    assert.match(text, /asks you to confirm that it may still:/);
    const emptyLists = await page.$$eval('main ul', (uls) => uls.filter((ul) => ul.querySelectorAll('li').length === 0).length);
    assert.equal(emptyLists, 0, 'no empty list');
    const confirmed = await page.$$eval('main ul li', (items) => items.map((li) => li.textContent.trim()));
    assert.deepEqual(confirmed, ['Know who you are (your user identifier)', 'See your name and username', 'See your email address', 'Pages API: pages.read']);
    assert.equal(await page.textContent('button[value="allow"]'), 'Continue');
    await checkPage(page, 'consent with nothing to ask', documents);
    await page.click('button[value="allow"]');
    await backAtTheClient(page);
    await context.close();
  });

  it('logout and signed-out pages fit, pass axe, and lay their buttons out like every other page', async () => {
    const context = await phoneContext();
    const page = await context.newPage();
    const documents = watch(page);
    await page.goto(authorizationUrl());
    await signIn(page, 'leaving-lu', password);
    await page.click('button[value="allow"]');
    await backAtTheClient(page);

    await page.goto(`${server.issuer}/session/end`);
    await page.waitForSelector('button[name="logout"]');
    await checkPage(page, 'logout', documents);
    // Like the consent buttons: stacked, full width, the main one first.
    const buttons = await page.$$eval('main button', (elements) =>
      elements.map((button) => {
        const box = button.getBoundingClientRect();
        const card = button.closest('main')!.getBoundingClientRect();
        const style = getComputedStyle(button);
        return { top: box.top, bottom: box.bottom, widthShare: box.width / (card.width - parseFloat(getComputedStyle(button.closest('main')!).paddingLeft) * 2), borderRadius: style.borderRadius };
      }),
    );
    assert.equal(buttons.length, 2);
    assert.ok(buttons[0]!.bottom <= buttons[1]!.top, 'the buttons are stacked, "sign me out" first');
    for (const button of buttons) assert.ok(button.widthShare > 0.95, `full width (${button.widthShare})`);

    await page.click('button[name="logout"][value="yes"]');
    await page.waitForURL((url) => url.pathname.startsWith('/session/end/success'));
    assert.match(await page.title(), /Signed out/);
    await checkPage(page, 'signed out', documents);
    await context.close();
  });

  it('error pages fit and pass axe', async () => {
    const context = await phoneContext();
    const page = await context.newPage();
    const documents = watch(page);
    await page.goto(`${server.issuer}/interaction/no-such-interaction`);
    assert.match(await page.title(), /Something went wrong/);
    await checkPage(page, 'interaction error', documents);

    // A redirect URI that is not registered: an error page, never a redirect (RFC 6749 §4.1.2.1).
    await page.goto(authorizationUrl({ redirect_uri: `${rp.origin}/${'a-very-long-unregistered-path-segment-'.repeat(8)}` }));
    assert.match(await page.title(), /Something went wrong/);
    await checkPage(page, 'authorization error', documents);
    await context.close();
  });
});
