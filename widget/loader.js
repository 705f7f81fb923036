/* supportbot loader: the only code that runs on the host page.
 *
 * It adds a launcher button (inside a shadow root, so the host page's CSS cannot reach it and
 * ours cannot leak out) and the chat panel, an iframe served by the bot. The two talk through
 * postMessage with a namespaced event table; every message is checked for origin and source.
 *
 *   <script src="https://BOT/widget/loader.js" data-color="#1f5f4a" data-position="right"
 *           data-title="Support" data-greeting="Hi!" data-lang="de" async></script>
 *
 * Public API: window.SupportBot.open() / close() / toggle() / identify({external_id, user_hash,
 * name, email}). Calls made before the script loaded can be queued in window.SupportBot.q.
 */
(function () {
  'use strict';

  const NS = 'supportbot:';
  if (window.SupportBot && window.SupportBot.version) return; // the tag was added twice

  // document.currentScript is set for async classic scripts too; the query is for old engines.
  const script = document.currentScript ||
    document.querySelector('script[src*="/widget/loader.js"]');
  if (!script || !script.src) return;
  const SRC = new URL(script.src, location.href);
  const BOT_ORIGIN = SRC.origin; // the panel must come from where this file came from
  const HOST_ORIGIN = location.origin;
  if (HOST_ORIGIN === 'null') return; // opaque origin (file://, sandbox): cannot postMessage

  const TEXT = {
    en: { open: 'Open chat', close: 'Close chat', unread: '{n} unread', frame: 'Support chat' },
    de: { open: 'Chat öffnen', close: 'Chat schließen', unread: '{n} ungelesen',
      frame: 'Support-Chat' },
    da: { open: 'Åbn chat', close: 'Luk chat', unread: '{n} ulæste', frame: 'Supportchat' },
  };
  const DEFAULT_COLOR = '#1f5f4a';
  const data = script.dataset;

  // Language: data-lang, then the host page's <html lang>, then the browser's.
  function pickLang() {
    const wanted = [data.lang, document.documentElement.lang]
      .concat(navigator.languages || [navigator.language]);
    for (const tag of wanted) {
      const code = String(tag || '').toLowerCase().split(/[-_]/)[0];
      if (TEXT[code]) return code;
    }
    return 'en';
  }
  const LANG = pickLang();
  const T = TEXT[LANG];
  const COLOR = /^#([0-9a-f]{3}){1,2}$/i.test(data.color || '') ? data.color : DEFAULT_COLOR;
  const LEFT = data.position === 'left';

  // WCAG relative luminance; the icon colour is whichever of black/white contrasts more.
  function luminance(hex) {
    let h = hex.slice(1);
    if (h.length === 3) h = h.replace(/./g, '$&$&');
    const c = [0, 2, 4].map(function (i) {
      const v = parseInt(h.substr(i, 2), 16) / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }
  const L = luminance(COLOR);
  const ON_COLOR = 1.05 / (L + 0.05) >= (L + 0.05) / 0.05 ? '#ffffff' : '#000000';

  // Host-page storage (only the open/closed state lives here; the conversation itself is kept
  // by the panel on the bot origin). Memory fallback when storage is blocked.
  const memory = {};
  let local = null;
  try {
    local = window.localStorage;
    local.setItem(NS + 'probe', '1');
    local.removeItem(NS + 'probe');
  } catch (e) { local = null; }
  const store = {
    get: function (k) {
      try { if (local) return local.getItem(NS + k); } catch (e) { /* fall through */ }
      return k in memory ? memory[k] : null;
    },
    set: function (k, v) {
      memory[k] = v;
      try { if (local) local.setItem(NS + k, v); } catch (e) { /* memory copy holds it */ }
    },
  };

  // px only (never rem/em): the host may set html { font-size: 40px }.
  const CSS = `
    :host { all: initial; }
    * { box-sizing: border-box; }
    .launcher { all: initial; position: fixed; bottom: 20px; ${LEFT ? 'left' : 'right'}: 20px;
      z-index: 2147483000; width: 56px; height: 56px; border-radius: 50%; cursor: pointer;
      background: ${COLOR}; color: ${ON_COLOR}; display: flex; align-items: center;
      justify-content: center; box-shadow: 0 4px 14px rgba(0,0,0,.25); }
    .launcher:hover { transform: scale(1.05); }
    .launcher:focus-visible { outline: 3px solid #0b57d0; outline-offset: 3px;
      box-shadow: 0 0 0 6px #fff, 0 4px 14px rgba(0,0,0,.25); }
    .launcher svg { width: 28px; height: 28px; fill: none; stroke: currentColor;
      stroke-width: 2; stroke-linecap: round; stroke-linejoin: round; display: block; }
    .badge { all: initial; position: absolute; top: -4px; ${LEFT ? 'right' : 'left'}: -4px;
      min-width: 22px; height: 22px; padding: 0 6px; border-radius: 11px; background: #b3261e;
      color: #fff; font: bold 12px/22px system-ui, sans-serif; text-align: center;
      box-shadow: 0 0 0 2px #fff; }
    .badge[hidden] { display: none; }
    .panel { all: initial; position: fixed; z-index: 2147483001; bottom: 88px;
      ${LEFT ? 'left' : 'right'}: 20px; width: 380px; height: 640px;
      max-height: calc(100vh - 108px); max-width: calc(100vw - 40px); border: 0;
      border-radius: 16px; background: #fff; box-shadow: 0 8px 32px rgba(0,0,0,.28);
      display: none; color-scheme: light; }
    .open .panel { display: block; }
    @media (max-width: 480px) {
      .panel { inset: 0; width: 100%; height: 100%; max-width: none; max-height: none;
        border-radius: 0; }
      .open .launcher { display: none; }
    }
    @media (prefers-reduced-motion: reduce) { .launcher:hover { transform: none; } }
  `;

  const ICON_CHAT = 'M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z';
  const ICON_CLOSE = 'M6 6l12 12M18 6L6 18';

  let host, root, launcher, badge, icon, frame;
  let isOpen = store.get('open') === '1';
  let ready = false; // the panel has said hello; before that nothing is posted
  let unread = 0;
  let identity = null;

  function el(tag, cls) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    return node;
  }

  function mount() {
    if (host) return;
    // An unknown custom element: host selectors like div/button never match it, and the
    // inline !important reset beats even `* { all: unset !important }`.
    host = el('supportbot-widget');
    host.style.setProperty('all', 'initial', 'important');
    host.style.setProperty('display', 'block', 'important');
    const shadow = host.attachShadow({ mode: 'open' });
    if (shadow.adoptedStyleSheets && window.CSSStyleSheet &&
        'replaceSync' in CSSStyleSheet.prototype) {
      // Constructed sheets are CSSOM, so a strict host CSP without 'unsafe-inline' allows them.
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      shadow.adoptedStyleSheets = [sheet];
    } else {
      const style = el('style');
      style.textContent = CSS;
      shadow.appendChild(style);
    }
    root = el('div');
    launcher = el('button', 'launcher');
    launcher.type = 'button';
    launcher.setAttribute('aria-controls', 'supportbot-panel');
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    icon = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    svg.appendChild(icon);
    badge = el('span', 'badge');
    badge.setAttribute('aria-hidden', 'true');
    badge.hidden = true;
    launcher.append(svg, badge);
    launcher.addEventListener('click', function () { toggle(); });

    const params = new URLSearchParams({ origin: HOST_ORIGIN, lang: LANG, color: COLOR });
    if (data.title) params.set('title', data.title.slice(0, 80));
    if (data.greeting) params.set('greeting', data.greeting.slice(0, 500));
    frame = el('iframe', 'panel');
    frame.id = 'supportbot-panel';
    frame.title = data.title || T.frame;
    frame.src = new URL('panel.html?' + params, SRC).href;
    root.append(frame, launcher);
    shadow.appendChild(root);
    document.body.appendChild(host);
    render();
  }

  function render() {
    root.className = isOpen ? 'open' : '';
    launcher.setAttribute('aria-expanded', String(isOpen));
    let label = isOpen ? T.close : T.open;
    if (unread && !isOpen) label += ' (' + T.unread.replace('{n}', unread) + ')';
    launcher.setAttribute('aria-label', label);
    icon.setAttribute('d', isOpen ? ICON_CLOSE : ICON_CHAT);
    badge.textContent = unread > 99 ? '99+' : String(unread);
    badge.hidden = !unread || isOpen;
  }

  // Messages to the panel go to the bot origin only, never '*'.
  function post(type, payload) {
    if (!ready || !frame.contentWindow) return;
    frame.contentWindow.postMessage({ type: NS + type, data: payload || {} }, BOT_ORIGIN);
  }

  // What the panel may tell us. Anything else, or from anyone else, is ignored.
  const FROM_PANEL = {
    ready: function () {
      ready = true;
      post('context', { page_url: location.href });
      if (identity) post('identify', identity);
      post(isOpen ? 'open' : 'close', { focus: false });
    },
    unread: function (d) {
      unread = Math.max(0, Math.min(999, parseInt(d.count, 10) || 0));
      render();
    },
    close: function () { setOpen(false, true); },
  };

  window.addEventListener('message', function (event) {
    if (event.origin !== BOT_ORIGIN || !frame || event.source !== frame.contentWindow) return;
    const msg = event.data;
    if (!msg || typeof msg.type !== 'string' || msg.type.indexOf(NS) !== 0) return;
    const name = msg.type.slice(NS.length);
    if (!Object.prototype.hasOwnProperty.call(FROM_PANEL, name)) return;
    FROM_PANEL[name](msg.data && typeof msg.data === 'object' ? msg.data : {});
  });

  // userAction: move focus into the panel on open, back to the launcher on close.
  function setOpen(open, userAction) {
    if (!host) return;
    const hadFocus = document.activeElement === host;
    isOpen = open;
    store.set('open', open ? '1' : '0');
    render();
    if (open && userAction) frame.focus(); // the panel then focuses its input
    post(open ? 'open' : 'close', { focus: !!userAction });
    if (!open && (userAction || hadFocus)) launcher.focus();
  }

  function toggle() { setOpen(!isOpen, true); }

  // Escape closes when focus is on our launcher; inside the panel the panel handles it.
  document.addEventListener('keydown', function (event) {
    if (event.key === 'Escape' && isOpen && document.activeElement === host) {
      setOpen(false, true);
    }
  });

  function identify(visitor) {
    if (!visitor || typeof visitor !== 'object') return;
    identity = {};
    ['external_id', 'user_hash', 'name', 'email'].forEach(function (key) {
      if (visitor[key] != null) identity[key] = String(visitor[key]).slice(0, 256);
    });
    post('identify', identity);
  }

  const api = {
    version: '1',
    open: function () { setOpen(true, true); },
    close: function () { setOpen(false, false); },
    toggle: toggle,
    identify: identify,
  };
  const queued = window.SupportBot && Array.isArray(window.SupportBot.q) ? window.SupportBot.q : [];
  window.SupportBot = api;

  function start() {
    mount();
    queued.forEach(function (call) {
      const fn = call && api[call[0]];
      if (typeof fn === 'function') fn.apply(api, Array.prototype.slice.call(call, 1));
    });
  }
  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start);
})();
