// The GPU adapter box (#adapter): the adapter's name, backend, type, driver and the limits the
// lab opened its device with. Where the lab has no name for it (wgpu's WebGPU backend gives
// none), the name comes from the browser's own GPUAdapterInfo.

import { $, h } from './dom.js';

/** Shows lab.adapter()'s answer `a`. */
export async function showAdapter(a) {
  const mib = (n) => (n >= 1 << 30 ? `${(n / 2 ** 30).toFixed(n % 2 ** 30 ? 1 : 0)} GiB`
    : n >= 1 << 20 ? `${Math.round(n / 2 ** 20)} MiB` : `${Math.round(n / 1024)} KiB`);
  const l = a.limits ?? {};
  const limits = [
    ['max buffer', l.max_buffer_size, mib],
    ['storage binding', l.max_storage_buffer_binding_size, mib],
    ['storage buffers / stage', l.max_storage_buffers_per_shader_stage, String],
    ['invocations / workgroup', l.max_compute_invocations_per_workgroup, String],
    ['workgroup memory', l.max_compute_workgroup_storage_size, mib],
    ['workgroups / dimension', l.max_compute_workgroups_per_dimension, String],
  ].filter(([, v]) => v !== undefined && v !== null);
  const name = a.name || (await browserAdapterName()) || 'WebGPU adapter (the browser gives no name)';
  $('adapter').replaceChildren(
    h('div', { class: 'adapter-name' }, name),
    h('div', { class: 'adapter-meta' }, [a.backend, a.device_type, a.driver].filter(Boolean).join(' · ')),
    h('dl', {}, limits.flatMap(([k, v, f]) => [h('dt', {}, k), h('dd', {}, f(v))])),
  );
}

/** What #adapter says when there is no WebGPU. */
export function showNoAdapter() {
  $('adapter').textContent = 'No WebGPU adapter';
}

/**
 * The browser's name for its default adapter (the one the lab opened): GPUAdapterInfo's vendor,
 * architecture, device and description, e.g. "google swiftshader (fallback adapter)"; '' when
 * the browser says nothing.
 */
async function browserAdapterName() {
  try {
    const adapter = await navigator.gpu?.requestAdapter();
    const info = adapter?.info;
    if (!info) return '';
    const parts = [info.vendor, info.architecture, info.device, info.description]
      .map((s) => String(s ?? '').trim())
      .filter((s, i, all) => s !== '' && all.indexOf(s) === i);
    const fallback = info.isFallbackAdapter ?? adapter.isFallbackAdapter;
    if (!parts.length) return fallback ? 'WebGPU fallback adapter' : '';
    return parts.join(' ') + (fallback ? ' (fallback adapter)' : '');
  } catch (e) {
    console.warn('the browser gave no adapter info:', e);
    return '';
  }
}
