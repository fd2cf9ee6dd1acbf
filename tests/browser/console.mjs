// The console in a real browser (Debian's chromium, driven by
// playwright-core; no browser download): two auditors work one finding
// through the loop, the dashboard shows the closure in 查实率, a POST
// without the CSRF token is refused, and screenshots of the list and of
// the finding are written for tests/t/57-web-browser.t to check.
//
//   node console.mjs URL FINDING_ID OUT_DIR
// Prints one line per check, "ok - ..." or "not ok - ... (why)", and
// exits 0 when it ran to the end (the checks say how it went).
import { chromium } from 'playwright-core';

const [url, findingId, outDir] = process.argv.slice(2);
let failed = 0;
const check = (cond, what, why = '') => {
  if (!cond) failed++;
  console.log(`${cond ? 'ok' : 'not ok'} - ${what}${cond || !why ? '' : ` (${why})`}`);
};

const args = [];
// chromium refuses to run as root with its sandbox; as anyone else it keeps it
if (process.getuid && process.getuid() === 0) args.push('--no-sandbox');
const browser = await chromium.launch({ executablePath: process.env.QF_CHROMIUM || '/usr/bin/chromium', headless: true, args });

async function login(context, user, password) {
  const page = await context.newPage();
  await page.goto(`${url}/login`);
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL(`${url}/findings`), page.click('button[type=submit]')]);
  return page;
}

async function statusOf(page) {
  return page.getAttribute('dd.status', 'data-status');
}

try {
  // the first auditor: log in, filter, open, sign, give feedback
  const c1 = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
  const p1 = await login(c1, 'web_a1', 'pw-a1');
  check(await p1.title() === '预警列表 · 清风 qingfeng', 'web_a1 logs in and sees the findings list', await p1.title());
  const all = await p1.locator('tr[data-id]').count();
  await p1.selectOption('select[name=status]', 'open');
  await p1.fill('input[name=rule]', 'F09');
  await Promise.all([p1.waitForURL(/status=open/), p1.click('form.filters button[type=submit]')]);
  const filtered = await p1.locator('tr[data-id]').count();
  const rules = await p1.locator('tr[data-id] td:nth-child(5)').allInnerTexts();
  check(filtered > 0 && filtered < all && rules.every((r) => r === 'F09'),
    'the filter (status open, rule F09) narrows the list', `${filtered} of ${all}: ${rules}`);
  await p1.screenshot({ path: `${outDir}/list.png`, fullPage: true });

  await Promise.all([p1.waitForURL(`${url}/findings/${findingId}`), p1.click(`tr[data-id="${findingId}"] td a`)]);
  check(await statusOf(p1) === 'open', 'the finding opens, open');
  check(await p1.getAttribute('p.chain', 'data-chain') === 'intact', 'its history verifies');
  await p1.screenshot({ path: `${outDir}/finding.png`, fullPage: true });

  await p1.fill('#step-ack textarea[name=note]', '已签收，开始核查');
  await Promise.all([p1.waitForLoadState('load'), p1.click('#step-ack button[type=submit]')]);
  await p1.waitForSelector('#step-feedback');
  check(await statusOf(p1) === 'acknowledged', 'web_a1 signs for it (ack)');

  await p1.selectOption('#step-feedback select[name=outcome]', 'substantiated');
  await p1.selectOption('#step-feedback select[name=disposition]', 'talk');
  await p1.fill('#step-feedback textarea[name=note]', '经核实属实，已谈话提醒');
  await Promise.all([p1.waitForLoadState('load'), p1.click('#step-feedback button[type=submit]')]);
  await p1.waitForSelector('p.foureyes');
  check(await statusOf(p1) === 'reported', 'web_a1 gives feedback (substantiated, talk)');
  check(await p1.locator('#step-close').count() === 0, 'and is not offered the close (four eyes)');

  // a POST without the CSRF token, with the session's cookie: refused
  const forged = await c1.request.post(`${url}/findings/${findingId}/reopen`, { form: { note: 'no token' }, maxRedirects: 0 });
  check(forged.status() === 403, 'a POST without the CSRF token is refused (403)', String(forged.status()));

  await Promise.all([p1.waitForURL(`${url}/login`), p1.click('header form button[type=submit]')]);
  check(true, 'web_a1 logs out');

  // the second auditor closes it
  const c2 = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
  const p2 = await login(c2, 'web_a2', 'pw-a2');
  await p2.goto(`${url}/findings/${findingId}`);
  await p2.fill('#step-close textarea[name=note]', '同意办结');
  await Promise.all([p2.waitForLoadState('load'), p2.click('#step-close button[type=submit]')]);
  await p2.waitForSelector('#step-reopen');
  check(await statusOf(p2) === 'resolved', 'web_a2 closes it: resolved');
  const actions = await p2.locator('table.history tr[data-action]').evaluateAll((rows) => rows.map((r) => r.dataset.action));
  check(actions.join(',') === 'created,acknowledged,reported,resolved', 'the history shows each step', actions.join(','));

  await p2.goto(`${url}/dashboard`);
  const rate = await p2.getAttribute('table[data-grouping=all] td.rate', 'data-rate');
  const closed = await p2.innerText('table[data-grouping=all] td.closed');
  check(rate === '100.0' && closed === '1', 'the dashboard shows the closure in 查实率', `rate ${rate}, closed ${closed}`);
  await p2.screenshot({ path: `${outDir}/dashboard.png`, fullPage: true });
} catch (e) {
  check(false, 'the browser session ran to its end', e.message.split('\n')[0]);
} finally {
  await browser.close();
}
console.log(`# ${failed} failed`);
