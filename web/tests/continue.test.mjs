// Stop and Continue: a run stopped part-way goes on from the step it stopped at (the library keeps
// the stopped epoch's steps, as `gpu-cnn train` does on Ctrl-C), not from the start.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MINUTE, assertNoPageErrors, setValue, since, waitForState, withPage } from './harness.mjs';

/// `Epoch 1/2 · 40/113 · …` as [epoch, done, total]; null for any other text.
const position = (text) => {
  const match = /Epoch (\d+)\/\d+ · (\d+)\/(\d+)/.exec(text ?? '');
  return match ? match.slice(1).map(Number) : null;
};

test('a stopped run continues from where it stopped and finishes its epochs', { timeout: 20 * MINUTE }, async () => {
  await withPage('continue', async ({ page, log }) => {
    await waitForState(page, 'ready', 5 * MINUTE, log);
    await page.selectOption('#preset', 'dense');
    await page.click('#apply-model');
    await waitForState(page, 'ready', MINUTE, log);
    await setValue(page, '#epochs', 2);
    await setValue(page, '#limit-train', 20000);
    await setValue(page, '#batch-size', 32);
    // Every #progress-text the page shows, from here on.
    await page.evaluate(() => {
      window.progressSeen = [];
      const text = document.querySelector('#progress-text');
      new MutationObserver(() => window.progressSeen.push(text.textContent)).observe(text, {
        childList: true, characterData: true, subtree: true,
      });
    });

    let t0 = Date.now();
    await page.click('#train');
    // Stop once more steps of the first epoch have landed than its first chunk holds (4), so a
    // run that started again would show fewer.
    await page.waitForFunction(
      () => Number(/Epoch 1\/2 · (\d+)\//.exec(document.querySelector('#progress-text')?.textContent ?? '')?.[1]) >= 10,
      null, { timeout: 5 * MINUTE, polling: 50 },
    );
    await page.click('#stop');
    await waitForState(page, 'trained', 10 * MINUTE, log);
    const stoppedText = (await page.textContent('#progress-text')).trim();
    const stopped = position(stoppedText);
    console.log(`stopped after ${since(t0)} s at: ${stoppedText}`);
    assert.equal((await page.textContent('#train')).trim(), 'Continue', 'the Train button after a stop');
    assert.ok(stopped, `#progress-text after the stop: ${stoppedText}`);
    const [epoch, done, total] = stopped;
    // 563 steps an epoch: the stop lands within a few chunks, inside the first epoch.
    assert.ok(epoch === 1 && done > 0 && done < total, `the stop did not land inside epoch 1: ${stoppedText}`);

    t0 = Date.now();
    const before = await page.evaluate(() => window.progressSeen.length);
    await page.click('#train');
    await waitForState(page, 'training', MINUTE, log).catch(() => {});
    await waitForState(page, 'trained', 10 * MINUTE, log);
    const after = (await page.evaluate((from) => window.progressSeen.slice(from), before))
      .map(position).filter(Boolean);
    console.log(`continued and finished in ${since(t0)} s: ${after.length} progress lines, last ${JSON.stringify(after.at(-1))}`);
    assert.ok(after.length > 0, 'no progress was shown while continuing');
    // Nothing before the stopping point: the run went on, it did not start again. (An epoch's
    // start shows 0 steps done before its first steps land, resumed or not.)
    const earlier = after.find(([e, d]) => d > 0 && (e < epoch || (e === epoch && d < done)));
    assert.equal(earlier, undefined, `continuing showed ${JSON.stringify(earlier)}, before the stop at ${JSON.stringify(stopped)}`);
    assert.deepEqual(after.at(-1).slice(0, 1), [2], 'the continued run ends in epoch 2');
    assert.equal(after.at(-1)[1], after.at(-1)[2], 'the continued run finishes its last epoch');
    assert.equal((await page.textContent('#train')).trim(), 'Train', 'the Train button after a finished run');
    const accuracy = Number(await page.getAttribute('#test-accuracy', 'data-value'));
    assert.ok(accuracy > 0.5, `test accuracy ${accuracy} after two epochs of 18000 images`);
    assertNoPageErrors(log, 'stop and continue');
  });
});
