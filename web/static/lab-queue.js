// One lab call at a time: the lab rejects a call made while another runs, so every call goes
// through one queue; a user action also disables the buttons until it ends.

import { app, setState, showError, syncControls } from './page.js';

let queue = Promise.resolve();

/** Runs `fn` after every call queued before it; resolves or rejects with its answer. */
export function exclusive(fn) {
  const run = queue.then(fn);
  queue = run.catch(() => {});
  return run;
}

/**
 * A user action: buttons are disabled until it ends. When it fails, its message goes to #status
 * and the state becomes "error"; the page stays usable (the next action that works sets the
 * state again). A bad model file is not such a failure: applyModel shows it in #model-error.
 */
export async function action(fn) {
  app.actions++;
  syncControls();
  try {
    const result = await exclusive(fn);
    // An action that works after one that failed: back to the state before the failure.
    if (document.body.dataset.state === 'error' && app.goodState) setState(app.goodState);
    return result;
  } catch (e) {
    showError(e);
    setState('error');
  } finally {
    app.actions--;
    syncControls();
  }
}
