// Step 7, the selftest: every kernel against its CPU reference on this adapter, one table row
// per check (data-passed) and a summary ("60/60 passed").

import { $, h } from './dom.js';
import { isNum, sci, seconds } from './format.js';
import { action } from './lab-queue.js';
import { app, status } from './page.js';

/** #run-selftest: runs lab.selftest and fills table#selftest and #selftest-summary. */
export async function runSelftest() {
  await action(async () => {
    status('Running the selftest: every kernel against its CPU reference…');
    const started = performance.now();
    const rows = await app.lab.selftest();
    const passed = rows.filter((r) => r.passed).length;
    $('selftest').tBodies[0].replaceChildren(...rows.map(row));
    const summary = $('selftest-summary');
    summary.textContent = `${passed}/${rows.length} passed`;
    summary.dataset.kind = passed === rows.length ? 'pass' : 'fail';
    status(`Selftest: ${passed}/${rows.length} passed in ${seconds((performance.now() - started) / 1000)}`,
      passed === rows.length ? '' : 'error');
  });
}

function row(r) {
  return h('tr', { 'data-passed': String(Boolean(r.passed)) },
    h('td', {}, r.check), h('td', { class: 'mono' }, r.kernel),
    h('td', { class: r.passed ? 'pass' : 'fail' }, r.passed ? 'PASS' : 'FAIL',
      r.failure ? h('div', { class: 'failure', title: r.failure }, r.failure.split('\n')[0]) : ''),
    h('td', { class: 'num' }, sci(r.max_abs)), h('td', { class: 'num' }, sci(r.max_rel)),
    h('td', { class: 'num' }, isNum(r.tolerance) ? sci(r.tolerance) : String(r.tolerance ?? '—')),
    h('td', { class: 'num' }, isNum(r.ms) ? r.ms.toFixed(1) : '—'));
}
