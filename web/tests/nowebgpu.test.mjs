// Without WebGPU (Chromium on Linux without --enable-unsafe-webgpu) the page says so and how to
// get it, instead of failing somewhere later.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MINUTE, waitForState, withPage } from './harness.mjs';

test('without WebGPU the page is in state no-webgpu and #no-webgpu says which browsers have it', { timeout: 5 * MINUTE }, async () => {
  await withPage('nowebgpu', async ({ page, log }) => {
    const s = await waitForState(page, 'no-webgpu', 2 * MINUTE, log);
    const visible = await page.isVisible('#no-webgpu');
    const text = ((await page.textContent('#no-webgpu')) ?? '').replace(/\s+/g, ' ').trim();
    console.log(`#status: ${s.status}; #no-webgpu: ${text}`);
    assert.ok(visible, '#no-webgpu is not visible');
    assert.match(text, /--enable-unsafe-webgpu/, '#no-webgpu does not name the Chromium flag');
    assert.match(text, /Chrome/, '#no-webgpu does not name the browsers that have WebGPU');
  }, { webgpu: false });
});
