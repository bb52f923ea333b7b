// The two DOM helpers every view uses: an element by id, and a new element with its children.

export const $ = (id) => document.getElementById(id);

/** An element with attributes and children (strings or nodes). */
export function h(tag, attributes = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) e.setAttribute(k, v);
  e.append(...children.flat().map((c) => (c instanceof Node ? c : String(c ?? ''))));
  return e;
}
