// Messages with the loader (table in widget/README.md), to and from the host's exact origin.

const NS = 'supportbot:';

export const EMBEDDED = window.parent !== window;

/** The host page's origin, or null: then the panel neither sends nor accepts messages. */
function hostOrigin() {
  if (!EMBEDDED) return null; // opened directly: a stand-alone chat page
  const raw = new URLSearchParams(location.search).get('origin') || '';
  try {
    const url = new URL(raw);
    if (url.origin !== raw || !/^https?:$/.test(url.protocol)) return null;
    // The parameter is only a claim; where the browser says who embeds us, it must agree.
    const ancestors = location.ancestorOrigins;
    if (ancestors && ancestors.length && ancestors[0] !== raw) return null;
    return raw;
  } catch {
    return null;
  }
}

export const HOST = hostOrigin();

export function post(type, data = {}) {
  if (HOST) window.parent.postMessage({ type: NS + type, data }, HOST);
}

export function listen(handlers) {
  window.addEventListener('message', (event) => {
    if (!HOST || event.origin !== HOST || event.source !== window.parent) return;
    const msg = event.data;
    if (!msg || typeof msg.type !== 'string' || !msg.type.startsWith(NS)) return;
    const name = msg.type.slice(NS.length);
    if (!Object.hasOwn(handlers, name)) return;
    handlers[name](msg.data && typeof msg.data === 'object' ? msg.data : {});
  });
}
