//! The one thing a browser build needs that native code does not: a way to give the page's
//! event loop a turn, during which WebGPU delivers mappings and errors.

use wasm_bindgen_futures::JsFuture;

/// Resolves after the page's event loop has had a turn (a zero-delay timer).
pub(crate) async fn next_turn() {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let timer = web_sys::window().map(|window| window.set_timeout_with_callback(&resolve));
        if !matches!(timer, Some(Ok(_))) {
            // No timer (no window): resolve at once rather than never.
            let _ = resolve.call0(&wasm_bindgen::JsValue::UNDEFINED);
        }
    });
    // The promise only resolves (with `undefined`).
    let _ = JsFuture::from(promise).await;
}
