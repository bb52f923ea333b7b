// A checkpoint saved by the command line loads in the page and predicts exactly what the command
// line predicts: the classes of the first 100 test images; its run's settings fill the form, and
// Train with one more epoch goes on with that run (epoch 2), not a new one.

import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { MINUTE, assertNoPageErrors, cliJson, since, tempDir, waitForState, withPage } from './harness.mjs';

test('a CLI checkpoint uploaded to the page predicts the CLI\'s classes of the first 100 test images', { timeout: 15 * MINUTE }, async () => {
  const tmp = await tempDir();
  try {
    const ckpt = path.join(tmp.dir, 'cli.safetensors');
    const tr = await cliJson(['train', '--model', 'dense', '--epochs', '1', '--train-samples', '2000',
      '--device', 'auto', '--seed', '0', '--save', ckpt, '--verbose', '0']);
    console.log(`gpu-cnn train (${tr.seconds.toFixed(1)} s, ${tr.doc.device}): ${tr.doc.parameters} parameters, test accuracy ${tr.doc.test?.accuracy}`);
    assert.ok(tr.doc.test?.accuracy > 0.2, `gpu-cnn train: test accuracy ${tr.doc.test?.accuracy}`);

    const pr = await cliJson(['predict', ckpt, '--index', '0..100', '--device', 'auto', '--verbose', '0']);
    const preds = pr.doc.predictions;
    assert.equal(preds?.length, 100, `gpu-cnn predict --index 0..100 gave ${preds?.length} predictions`);
    assert.deepEqual(preds.map((p) => p.test_index), [...Array(100).keys()], 'gpu-cnn predict --index 0..100: not test images 0..99');
    const cliClasses = preds.map((p) => p.predicted);
    console.log(`gpu-cnn predict --index 0..100: accuracy ${pr.doc.accuracy}`);

    await withPage('checkpoint', async ({ page, log }) => {
      let t0 = Date.now();
      await waitForState(page, 'ready', 5 * MINUTE, log);
      console.log(`page ready in ${since(t0)} s`);

      t0 = Date.now();
      await page.setInputFiles('#upload-checkpoint', ckpt);
      await waitForState(page, 'trained', 8 * MINUTE, log);
      const accText = await page.getAttribute('#test-accuracy', 'data-value');
      console.log(`checkpoint loaded and evaluated in ${since(t0)} s; page test accuracy ${accText}, CLI ${tr.doc.test.accuracy}`);
      const summary = (await page.textContent('#model-summary')) ?? '';
      assert.ok(summary.replace(/[,_\u202f\u00a0' ]/g, '').includes(String(tr.doc.parameters)),
        `#model-summary does not show the checkpoint's ${tr.doc.parameters} parameters:\n${summary}`);
      assert.ok(Math.abs(Number(accText) - tr.doc.test.accuracy) <= 0.005,
        `the page's test accuracy of the checkpoint is ${accText}, gpu-cnn train's ${tr.doc.test.accuracy}`);

      t0 = Date.now();
      const pageClasses = await page.evaluate(async () => Array.from(await window.gpuCnn.lab.predictTest(100)));
      console.log(`lab.predictTest(100) in ${since(t0)} s`);
      assert.equal(pageClasses.length, 100);
      const differ = pageClasses.flatMap((c, i) => (c === cliClasses[i] ? [] : [i]));
      if (differ.length) {
        for (const i of differ) {
          const p = [...preds[i].probabilities].map((x, k) => [x, k]).sort((a, b) => b[0] - a[0]);
          console.error(`test image ${i} (label ${preds[i].label}): page ${pageClasses[i]}, CLI ${cliClasses[i]}; CLI's top two ${p[0][1]}:${p[0][0]} ${p[1][1]}:${p[1][0]}`);
        }
      }
      assertNoPageErrors(log, 'loading, evaluating and predicting with the checkpoint');
      assert.deepEqual(pageClasses, cliClasses, `the page and the CLI disagree on test images ${differ.join(', ')}`);

      // The CLI run's settings, then one more epoch of it.
      const form = await page.evaluate(() => Object.fromEntries(
        ['epochs', 'batch-size', 'limit-train', 'seed', 'optimizer'].map((id) => [id, document.getElementById(id).value]),
      ));
      assert.deepEqual(form, { epochs: '1', 'batch-size': '32', 'limit-train': '2000', seed: '0', optimizer: 'adam' },
        'the form after loading the checkpoint holds its run\'s settings');
      await page.evaluate(() => {
        window.progressSeen = [];
        const text = document.querySelector('#progress-text');
        new MutationObserver(() => window.progressSeen.push(text.textContent)).observe(text, {
          childList: true, characterData: true, subtree: true,
        });
      });
      await page.fill('#epochs', '2');
      await page.dispatchEvent('#epochs', 'change');
      t0 = Date.now();
      await page.click('#train');
      await waitForState(page, 'training', MINUTE, log).catch(() => {});
      await waitForState(page, 'trained', 8 * MINUTE, log);
      const seen = await page.evaluate(() => window.progressSeen);
      console.log(`one more epoch in ${since(t0)} s: ${seen.at(-1)}`);
      assert.ok(seen.some((line) => line.startsWith('Epoch 2/2')), `no epoch 2 was trained: ${seen.join(' | ')}`);
      assert.ok(!seen.some((line) => line.startsWith('Epoch 1/')), `epoch 1 was trained again: ${seen.join(' | ')}`);
      assertNoPageErrors(log, 'training the loaded checkpoint one more epoch');
    });
  } finally {
    await tmp.cleanup();
  }
});
