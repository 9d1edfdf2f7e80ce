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
    if (account && lang === 'zh-CN') {
      // an account searches by value (a listing by prefix is the operator's)
      await page.fill('#search-form [name=type]', 'URL');
      await page.fill('#search-form [name=data]', 'https://example.org/item/7');
    } else {
      await page.fill('#search-form [name=prefix]', prefix);
    }
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
    // an account's records also hold its admin (HS_ADMIN at 100)
    const rows = account && lang === 'zh-CN' ? 3 : 2;
    await page.waitForFunction(n => document.querySelectorAll('#edit-values tbody tr').length === n, rows, { timeout: 10000 });
    r.editMsg = await page.textContent('#edit-msg');
    r.shots.push(await shot(page, lang, 'edit-done'));
    // a template in the national shape, through the editor
    const version = `console-${lang === 'en' ? 'en' : 'zh'}`;
    await visit('#/templates', '#tpl-form', 'templates');
    await page.fill('#tpl-prefix', prefix);
    const f = (n, v) => page.fill(`#tpl-form [name=${n}]`, v);
    await f('version', version);
    await f('description', lang === 'en' ? 'motors' : '电机');
    await f('type', '1');
    await f('industryCategory', 'C');
    await f('industrySpecific', '38');
    await f('industryTrade', '381');
    await f('industrySubclass', '3811');
    await page.click('#tpl-add');
    const it = page.locator('#tpl-items tbody tr').last();
    await it.locator('[name=name]').fill('batch');
    await it.locator('[name=idType]').fill('string');
    await it.locator('[name=idIndex]').fill('2000');
    await it.locator('[name=required]').check();
    await it.locator('[name="m.minLength"]').fill('1');
    await it.locator('[name="m.maxLength"]').fill('20');
    await page.click('#tpl-save');
    await page.waitForSelector('#tpl-msg[data-state=saved]', { timeout: 10000 });
    await page.waitForSelector(`#tpl-list tr[data-version="${version}"]`, { timeout: 10000 });
    r.templateSaved = await page.textContent('#tpl-msg');
    r.shots.push(await shot(page, lang, 'templates-list'));
    // a record through the template's form: the required field first
    const tid = `${prefix}/console-tpl-${lang}`;
    await page.goto(`${base}/console/#/edit=${encodeURIComponent(tid)}`);
    await page.waitForSelector('#edit-msg[data-state=new]');
    await page.selectOption('#edit-template', version);
    await page.waitForSelector('#tplf-2000');
    await page.click('#edit-save');
    r.requiredMsg = await page.textContent('#edit-msg');
    await page.fill('#tplf-2000', lang === 'en' ? 'B-2026-11' : '批次-2026-11');
    await page.click('#edit-save');
    await page.waitForSelector('#edit-msg[data-state=saved]', { timeout: 10000 });
    r.templateRecordMsg = await page.textContent('#edit-msg');
    r.shots.push(await shot(page, lang, 'edit-template'));
    r.errors = errors;
    await ctx.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
