// The page from end to end, as a user would use it: pick the dense preset, train one short epoch
// in the browser, read the test accuracy, draw a digit and read its probabilities, download the
// checkpoint and check it with the command line (`gpu-cnn evaluate`, `gpu-cnn predict` of the
// drawing as a PNG). Saves the page's screenshot to docs/web-page.png (the README's picture).

import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { MINUTE, assertNoPageErrors, ROOT, cliJson, since, setValue, tempDir, waitForState, withPage } from './harness.mjs';

// The lecture's dense model on 28x28 MNIST: 784*128+128 + 128*10+10.
const DENSE_PARAMETERS = 101770;

const probabilities = (page) => page.$$eval('#probabilities li', (lis) => lis.map((li) => ({
  cls: li.dataset.class ?? null,
  p: li.dataset.probability ?? null,
})));

test('train dense in the browser, predict a drawing, download the checkpoint and evaluate it with the CLI', { timeout: 20 * MINUTE }, async () => {
  const tmp = await tempDir();
  try {
    await withPage('e2e', async ({ page, log }) => {
      let t0 = Date.now();
      await waitForState(page, 'ready', 5 * MINUTE, log);
      console.log(`page ready in ${since(t0)} s`);

      // The dense preset.
      const presets = await page.$$eval('#preset option', (os) => os.map((o) => o.value));
      assert.ok(presets.includes('dense'), `#preset has no "dense" option: ${presets.join(', ')}`);
      await page.selectOption('#preset', 'dense');
      await page.click('#apply-model');
      await page.waitForFunction(
        (n) => (document.querySelector('#model-summary')?.textContent ?? '').replace(/[^0-9]/g, ' ').split(/\s+/).includes(String(n))
          || (document.querySelector('#model-summary')?.textContent ?? '').replace(/[,_\u202f\u00a0' ]/g, '').includes(String(n))
          || (document.querySelector('#model-error')?.textContent ?? '').trim() !== '',
        DENSE_PARAMETERS,
        { timeout: 2 * MINUTE, polling: 250 },
      ).catch(() => {});
      const modelError = (await page.textContent('#model-error'))?.trim();
      assert.equal(modelError, '', `#model-error after applying the dense preset: ${modelError}`);
      const summary = (await page.textContent('#model-summary')) ?? '';
      assert.ok(summary.replace(/[,_\u202f\u00a0' ]/g, '').includes(String(DENSE_PARAMETERS)),
        `#model-summary does not show dense's ${DENSE_PARAMETERS} parameters:\n${summary}`);
      await waitForState(page, 'ready', 1 * MINUTE, log);

      // One short epoch.
      await setValue(page, '#epochs', 1);
      await setValue(page, '#limit-train', 500);
      await setValue(page, '#batch-size', 32);
      t0 = Date.now();
      await page.click('#train');
      await waitForState(page, ['training', 'trained'], 1 * MINUTE, log);
      await waitForState(page, 'trained', 12 * MINUTE, log);
      const progress = (await page.textContent('#progress-text'))?.trim();
      const accText = await page.getAttribute('#test-accuracy', 'data-value');
      const pageAccuracy = Number(accText);
      console.log(`trained and evaluated in ${since(t0)} s; #progress-text: ${progress}; #test-accuracy: ${(await page.textContent('#test-accuracy'))?.trim()} (data-value ${accText})`);
      assert.ok(accText !== null && accText.trim() !== '' && Number.isFinite(pageAccuracy), `#test-accuracy data-value is ${JSON.stringify(accText)}`);
      assert.ok(pageAccuracy > 0.2 && pageAccuracy <= 1, `test accuracy ${pageAccuracy} is not above chance (0.1) by enough`);

      // Draw a "7" and read the probabilities.
      const canvas = page.locator('#draw');
      await canvas.scrollIntoViewIfNeeded();
      const before = JSON.stringify(await probabilities(page));
      const box = await canvas.boundingBox();
      assert.ok(box && box.width > 50 && box.height > 50, `#draw is not visible: ${JSON.stringify(box)}`);
      const at = (fx, fy) => [box.x + fx * box.width, box.y + fy * box.height];
      t0 = Date.now();
      await page.mouse.move(...at(0.25, 0.22));
      await page.mouse.down();
      await page.mouse.move(...at(0.5, 0.21), { steps: 8 });
      await page.mouse.move(...at(0.75, 0.2), { steps: 8 });
      await page.mouse.move(...at(0.62, 0.5), { steps: 10 });
      await page.mouse.move(...at(0.5, 0.8), { steps: 10 });
      await page.mouse.up();
      // Wait for ten numeric probabilities, changed by the drawing, that stay put for 2 s (the
      // last prediction is of the whole stroke).
      let probs;
      let stableSince = 0;
      let last = '';
      for (;;) {
        probs = await probabilities(page);
        const now = JSON.stringify(probs);
        const ready = probs.length === 10 && probs.every((x) => x.p !== null && x.p.trim() !== '' && Number.isFinite(Number(x.p)));
        if (now !== last) { last = now; stableSince = Date.now(); }
        if (ready && now !== before && Date.now() - stableSince > 2000) break;
        if (Date.now() - t0 > 3 * MINUTE) {
          assert.fail(`#probabilities after drawing: ${now} (before drawing: ${before})`);
        }
        await page.waitForTimeout(250);
      }
      const ps = probs.map((x) => Number(x.p));
      const sum = ps.reduce((a, b) => a + b, 0);
      const top = ps.indexOf(Math.max(...ps));
      console.log(`drawing predicted in ${since(t0)} s: top class ${probs[top].cls} (${ps[top].toFixed(4)}), sum ${sum}, ${ps.map((p) => p.toFixed(4)).join(' ')}`);
      assert.deepEqual(probs.map((x) => x.cls), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], 'li data-class are not 0..9 in order');
      for (const [i, p] of ps.entries()) assert.ok(p >= 0 && p <= 1, `probability of class ${i} is ${p}`);
      assert.ok(Math.abs(sum - 1) <= 1e-4, `probabilities sum to ${sum}`);

      assertNoPageErrors(log, 'training, evaluating and predicting the drawing');
      // The README's picture.
      const docs = path.join(ROOT, 'docs');
      await mkdir(docs, { recursive: true });
      await page.screenshot({ path: path.join(docs, 'web-page.png'), fullPage: true });
      console.log(`screenshot: ${path.join(docs, 'web-page.png')}`);

      // The drawing as a PNG, light on dark on an opaque black background (what the page reads).
      const png = await page.evaluate(() => {
        const src = document.querySelector('#draw');
        const c = document.createElement('canvas');
        c.width = src.width;
        c.height = src.height;
        const g = c.getContext('2d');
        g.fillStyle = '#000';
        g.fillRect(0, 0, c.width, c.height);
        g.drawImage(src, 0, 0);
        return c.toDataURL('image/png').split(',')[1];
      });
      const drawing = path.join(tmp.dir, 'drawing.png');
      await writeFile(drawing, Buffer.from(png, 'base64'));

      // Download the checkpoint.
      t0 = Date.now();
      const [download] = await Promise.all([
        page.waitForEvent('download', { timeout: 5 * MINUTE }),
        page.click('#download-checkpoint'),
      ]);
      const failure = await download.failure();
      assert.equal(failure, null, `the download failed: ${failure}`);
      assert.equal(download.suggestedFilename(), 'gpu-cnn-page.safetensors');
      const ckpt = path.join(tmp.dir, download.suggestedFilename());
      await download.saveAs(ckpt);
      console.log(`checkpoint downloaded in ${since(t0)} s: ${ckpt}`);

      // The command line reads it: evaluate gives the page's test accuracy (same weights, same
      // 10,000 test images; the adapters' rounding may move a near tie).
      const ev = await cliJson(['evaluate', ckpt, '--verbose', '0']);
      const cliAccuracy = ev.doc.test?.accuracy;
      console.log(`gpu-cnn evaluate (${ev.seconds.toFixed(1)} s, ${ev.doc.device}): model ${ev.doc.model}, test accuracy ${cliAccuracy}, loss ${ev.doc.test?.loss}, samples ${ev.doc.test?.samples}`);
      assert.equal(ev.code, 0);
      assert.ok(typeof cliAccuracy === 'number' && cliAccuracy > 0.2, `gpu-cnn evaluate: test accuracy ${cliAccuracy}`);
      assert.ok(Math.abs(cliAccuracy - pageAccuracy) <= 0.005,
        `gpu-cnn evaluate says ${cliAccuracy}, the page ${pageAccuracy}`);

      // ...and predict of the drawing gives the page's probabilities (same preprocessing).
      const pr = await cliJson(['predict', ckpt, drawing, '--verbose', '0']);
      const cliPs = pr.doc.predictions?.[0]?.probabilities;
      assert.ok(Array.isArray(cliPs) && cliPs.length === 10, `gpu-cnn predict ${drawing}: ${JSON.stringify(pr.doc).slice(0, 500)}`);
      const diff = Math.max(...cliPs.map((p, i) => Math.abs(p - ps[i])));
      console.log(`gpu-cnn predict drawing.png: predicted ${pr.doc.predictions[0].predicted}, max |page - cli| ${diff.toExponential(2)}`);
      assert.ok(diff <= 1e-3,
        `the page's probabilities of the drawing differ from gpu-cnn predict's of its PNG by ${diff}:\n page ${ps.join(' ')}\n cli  ${cliPs.join(' ')}`);
    });
  } finally {
    await tmp.cleanup();
  }
});
