// Drives the idnode console in headless Chromium (playwright-core, the
// browser Debian installs) as a user would, in each language: every page
// is opened and photographed, its labels measured, and an identifier is
// created and then edited through the forms. Prints one JSON report on
// stdout; tests/e2e/test_console.c checks it and the node's data.
//   node drive.mjs --url http://127.0.0.1:PORT --token T --prefix P --out DIR
//                  [--account NAME --password PW]
import { chromium } from 'playwright-core';

const arg = (k, d) => { const i = process.argv.indexOf('--' + k); return i > 0 ? process.argv[i + 1] : d; };
const base = arg('url'), token = arg('token'), prefix = arg('prefix'), out = arg('out');
const account = arg('account'), password = arg('password');
const report = {};

// every visible label, button, heading and card whose text does not fit
async function overflowing(page) {
  return page.evaluate(() => {
    const bad = [];
    for (const e of document.querySelectorAll('nav a, button, label span, th, figcaption, .card, h2, h3, legend, header .who, option')) {
      if (!e.offsetParent && e.tagName !== 'OPTION') continue;
      if (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowWrap !== 'anywhere')
        bad.push(e.tagName + ':' + e.textContent.trim().slice(0, 40));
    }
    // chart labels stay left of their bars
    for (const svg of document.querySelectorAll('svg.chart')) {
      if (!svg.offsetParent) continue;
      const bar = svg.querySelector('rect.bar');
      if (!bar) continue;
      const x0 = parseFloat(bar.getAttribute('x'));
      for (const t of svg.querySelectorAll('text.label'))
        if (t.getBBox().x + t.getBBox().width > x0) bad.push('svg:' + t.textContent);
    }
    return bad;
  });
}

async function shot(page, lang, name) {
  const path = `${out}/console-${name}-${lang}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-dev-shm-usage'] });
try {
  for (const lang of ['en', 'zh-CN']) {
    const r = report[lang] = { shots: [], overflow: {} };
    const ctx = await browser.newContext({ locale: lang, viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    page.on('dialog', d => d.accept());
    const errors = [];
    page.on('pageerror', e => errors.push(String(e)));
    const visit = async (hash, ready, name) => {
      await page.goto(`${base}/console/${hash}`);
      await page.waitForSelector(ready, { timeout: 15000 });
      await page.waitForTimeout(300);
      r.overflow[name] = await overflowing(page);
      r.shots.push(await shot(page, lang, name));
    };
    await visit('#/dashboard', '#dashboard[data-updates]:not([data-updates="0"])', 'dashboard');
    r.htmlLang = await page.getAttribute('html', 'lang');
    r.nav = await page.$$eval('#nav a', as => as.map(a => a.textContent));
    await visit(`#resolve=${encodeURIComponent(prefix + '/item-1')}`, '#record-handle', 'resolve');
    r.resolved = await page.textContent('#record-handle');
    await visit('#/login', '#login-account', 'login');
    if (account && lang === 'zh-CN') {
      await page.fill('#login-account [name=username]', account);
      await page.fill('#login-account [name=password]', password);
      await page.click('#login-account button');
    } else {
      await page.fill('#token', token);
      await page.click('#login-token button');
    }
    await page.waitForSelector('#logout:not([hidden])', { timeout: 10000 });
    r.who = await page.textContent('#who');
    await visit(`#/browse=${encodeURIComponent(prefix)}`, '#browse-page:not(:empty)', 'browse');
    r.browseCount = await page.textContent('#browse-count');
    r.browsePage = await page.textContent('#browse-page');
    await page.click('#browse-next');
    await page.waitForFunction(() => /2/.test(document.querySelector('#browse-page').textContent));
    r.browsePage2 = await page.textContent('#browse-page');
    r.browseFirst2 = await page.textContent('#browse-handles li a');
    await visit('#/search', '#search-form', 'search');
    await page.fill('#search-form [name=prefix]', prefix);
    await page.click('#search-form button');
    await page.waitForSelector('#search-results tr td', { timeout: 10000 });
    r.searchRows = await page.$$eval('#search-results tr td a', as => as.length);
    // create, then edit, through the form
    const id = `${prefix}/console-${lang}`;
    await visit('#/edit', '#edit-id', 'edit');
    await page.fill('#edit-id', id);
    await page.click('#edit-load-btn');
    await page.waitForSelector('#edit-msg[data-state=new]');
    await page.click('#edit-add');
    const row = page.locator('#edit-values tbody tr').last();
    await row.locator('[name=index]').fill('1');
    await row.locator('[name=type]').fill('URL');
    await row.locator('[name=data]').fill(`https://example.org/${lang}/created`);
    await page.click('#edit-save');
    await page.waitForSelector('#edit-msg[data-state=saved]', { timeout: 10000 });
    r.createMsg = await page.textContent('#edit-msg');
    await page.locator('#edit-values tbody tr [name=data]').first().fill(`https://example.org/${lang}/edited`);
    await page.click('#edit-add');
    const row2 = page.locator('#edit-values tbody tr').last();
    await row2.locator('[name=index]').fill('2');
    await row2.locator('[name=type]').fill('EMAIL');
    await row2.locator('[name=data]').fill(`${lang}@example.org`);
    await page.click('#edit-save');
    await page.waitForSelector('#edit-msg[data-state=saving]', { state: 'detached', timeout: 10000 }).catch(() => {});
    await page.waitForSelector('#edit-msg[data-state=saved]', { timeout: 10000 });
    await page.waitForFunction(() => document.querySelectorAll('#edit-values tbody tr').length === 2, null, { timeout: 10000 });
    r.editMsg = await page.textContent('#edit-msg');
    r.shots.push(await shot(page, lang, 'edit-done'));
    await visit('#/templates', '#tpl-form', 'templates');
    await page.fill('#tpl-prefix', prefix);
    await page.click('#tpl-load button');
    await page.waitForTimeout(500);
    r.shots.push(await shot(page, lang, 'templates-list'));
    r.errors = errors;
    await ctx.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
