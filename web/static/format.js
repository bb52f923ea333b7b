// The text of numbers and errors, as every view of the page writes them.

export const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
export const f4 = (v) => (isNum(v) ? v.toFixed(4) : '—');
export const f2 = (v) => (isNum(v) ? v.toFixed(2) : '—');
export const sci = (v) => (!isNum(v) ? '—' : v === 0 ? '0' : v.toExponential(2));
export const seconds = (s) => (!isNum(s) ? '—' : s < 60 ? `${s.toFixed(1)}s` : `${Math.floor(s / 60)}m ${Math.round(s % 60)}s`);

/** The message of a thrown value: an Error's message, a string, or its JSON. */
export function message(e) {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  try { return JSON.stringify(e); } catch { return String(e); }
}
