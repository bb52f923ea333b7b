// The page's selftest: every kernel against its CPU reference on the browser's WebGPU adapter
// (SwiftShader in headless Chromium without a GPU), as `gpu-cnn selftest` does natively.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MINUTE, assertNoPageErrors, since, waitForState, withPage } from './harness.mjs';

test('selftest: 60 checks of at least 16 kernels all pass on the browser adapter', { timeout: 15 * MINUTE }, async () => {
  await withPage('kernels', async ({ page, log }) => {
    let t0 = Date.now();
    await waitForState(page, 'ready', 5 * MINUTE, log);
    console.log(`page ready in ${since(t0)} s`);
    const adapter = (await page.textContent('#adapter'))?.trim();
    console.log(`#adapter: ${adapter?.replace(/\s+/g, ' ').slice(0, 300)}`);
    assert.ok(adapter, '#adapter is empty once the page is ready');

    t0 = Date.now();
    await page.click('#run-selftest');
    await page.waitForFunction(
      () => /\d+\s*\/\s*\d+/.test(document.querySelector('#selftest-summary')?.textContent ?? '')
        || ['error', 'no-webgpu'].includes(document.body.dataset.state),
      null,
      { timeout: 10 * MINUTE, polling: 500 },
    );
    const summary = (await page.textContent('#selftest-summary')).trim();
    console.log(`selftest in ${since(t0)} s: ${summary}`);

    const table = await page.evaluate(() => {
      const t = document.querySelector('table#selftest');
      if (!t) return null;
      const head = [...t.querySelectorAll('thead th, thead td')].map((c) => c.textContent.trim());
      const rows = [...t.querySelectorAll('tbody tr')].map((tr) => ({
        passed: tr.dataset.passed ?? null,
        cells: [...tr.querySelectorAll('td, th')].map((c) => c.textContent.trim().replace(/\s+/g, ' ')),
      }));
      return { head, rows };
    });
    assert.ok(table, 'no table#selftest on the page');
    const failing = table.rows.filter((r) => r.passed !== 'true');
    if (failing.length) {
      console.error(`header: ${table.head.join(' | ')}`);
      for (const r of failing) console.error(`data-passed=${r.passed}: ${r.cells.join(' | ')}`);
    }
    assert.equal(table.rows.length, 60, `table#selftest has ${table.rows.length} rows (summary "${summary}")`);
    assert.deepEqual(failing.map((r) => r.cells.join(' | ')), [], `${failing.length} checks did not pass (summary "${summary}")`);
    assert.match(summary, /\b60\s*\/\s*60\b/, '#selftest-summary does not say 60/60');

    // The kernel column: the header cell that says "kernel", else the column whose cells look
    // like kernel labels (`matmul.forward`, `adam.step`, `matmul.forward + bias.backward`).
    let col = table.head.findIndex((h) => /^kernels?$/i.test(h));
    if (col < 0) col = table.head.findIndex((h) => /kernel/i.test(h));
    if (col < 0) {
      const width = Math.max(...table.rows.map((r) => r.cells.length));
      col = [...Array(width).keys()].find((i) => table.rows.every((r) => /^[a-z_0-9]+\.[a-z_{},]+/.test(r.cells[i] ?? '')));
    }
    assert.ok(col >= 0, `no kernel column in table#selftest (header: ${table.head.join(' | ')})`);
    const kernels = new Set(table.rows.map((r) => r.cells[col]));
    console.log(`${kernels.size} distinct kernels: ${[...kernels].join(', ')}`);
    assert.ok(kernels.size >= 16, `only ${kernels.size} distinct kernels in column "${table.head[col]}": ${[...kernels].join(', ')}`);
    for (const k of kernels) assert.match(k, /^[a-z_0-9]+\.[a-z_{},]+/, `"${k}" in the kernel column is not a kernel label`);
    assertNoPageErrors(log, 'the selftest');
  });
});
