/* supportbot loader: the only code that runs on the host page. It adds a launcher (in a
 * shadow root: host CSS cannot reach it, ours cannot leak) and the chat panel (an iframe from
 * the bot). They talk by postMessage, namespaced, origin- and source-checked both ways.
 * data-color, data-position="right|left", data-title, data-greeting, data-lang configure it;
 * window.SupportBot.open/close/toggle/identify drive it (calls queued in SupportBot.q run). */
(function () {
  'use strict';

  const NS = 'supportbot:';
  if (window.SupportBot && window.SupportBot.version) return; // the tag was added twice

  // currentScript is set for async scripts too; the query covers engines that lack it.
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
  let T = TEXT[LANG];
  const COLOR = /^#([0-9a-f]{3}){1,2}$/i.test(data.color || '') ? data.color : '#1f5f4a';
  const LEFT = data.position === 'left';

  // WCAG relative luminance; the icon colour is whichever of black/white contrasts more.
  function luminance(hex) {
    let h = hex.slice(1);
    if (h.length === 3) h = h.replace(/./g, '$&$&');
    const c = [0, 2, 4].map((i) => {
      const v = parseInt(h.substr(i, 2), 16) / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }
  const L = luminance(COLOR);
  const ON_COLOR = 1.05 / (L + 0.05) >= (L + 0.05) / 0.05 ? '#ffffff' : '#000000';

  // Host-page storage holds only the open state (the conversation lives on the bot origin).
  // Blocked storage throws: then a memory copy lasts for this page.
  const memory = {};
  const store = {
    get: (k) => {
      try { return localStorage.getItem(NS + k); } catch (e) { return memory[k] || null; }
    },
    set: (k, v) => {
      memory[k] = v;
      try { localStorage.setItem(NS + k, v); } catch (e) { /* the memory copy holds it */ }
    },
  };

  // px only (never rem/em): the host may set html { font-size: 40px }.
  const SIDE = LEFT ? 'left' : 'right';
  const CSS = `:host{all:initial}
.launcher{all:initial;position:fixed;bottom:20px;${SIDE}:20px;z-index:2147483000;width:56px;
height:56px;border-radius:50%;cursor:pointer;background:${COLOR};color:${ON_COLOR};display:flex;
align-items:center;justify-content:center;box-shadow:0 4px 14px rgba(0,0,0,.25)}
.launcher:focus-visible{outline:3px solid #0b57d0;outline-offset:3px;
box-shadow:0 0 0 6px #fff,0 4px 14px rgba(0,0,0,.25)}
.launcher svg{width:28px;height:28px;fill:none;stroke:currentColor;stroke-width:2;
stroke-linecap:round;stroke-linejoin:round;display:block}
.badge{all:initial;position:absolute;top:-4px;${LEFT ? 'right' : 'left'}:-4px;min-width:22px;
height:22px;padding:0 6px;box-sizing:border-box;border-radius:11px;background:#b3261e;
color:#fff;font:bold 12px/22px system-ui,sans-serif;text-align:center;box-shadow:0 0 0 2px #fff}
.badge[hidden]{display:none}
.panel{all:initial;position:fixed;z-index:2147483001;bottom:88px;${SIDE}:20px;width:380px;
height:640px;max-height:calc(100vh - 108px);max-width:calc(100vw - 40px);border:0;
border-radius:16px;background:#fff;box-shadow:0 8px 32px rgba(0,0,0,.28);display:none;
color-scheme:light}
.open .panel{display:block}
@media (max-width:480px){.panel{inset:0;width:100%;height:100%;max-width:none;max-height:none;
border-radius:0}.open .launcher{display:none}}`;

  const ICON_CHAT = 'M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z';
  const ICON_CLOSE = 'M6 6l12 12M18 6L6 18';

  let host, root, launcher, badge, icon, frame;
  let isOpen = store.get('open') === '1';
  let ready = false; // the panel has said hello; before that nothing is posted
  let unread = 0;
  let identity = null;

  function el(tag, cls) {
    const node = document.createElement(tag);
    node.className = cls || '';
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
    try { // a constructed sheet is CSSOM: a host CSP without 'unsafe-inline' allows it
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      shadow.adoptedStyleSheets = [sheet];
    } catch (e) { // older engines
      shadow.appendChild(el('style')).textContent = CSS;
    }
    root = el('div');
    launcher = el('button', 'launcher');
    launcher.type = 'button';
    launcher.setAttribute('aria-controls', 'supportbot-panel');
    const SVG = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    icon = document.createElementNS(SVG, 'path');
    svg.appendChild(icon);
    badge = el('span', 'badge');
    badge.setAttribute('aria-hidden', 'true');
    badge.hidden = true;
    launcher.append(svg, badge);
    launcher.addEventListener('click', () => toggle());

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
    ready() {
      ready = true;
      post('context', { page_url: location.href });
      if (identity) post('identify', identity);
      post(isOpen ? 'open' : 'close', { focus: false });
    },
    unread(d) {
      unread = Math.max(0, Math.min(999, parseInt(d.count, 10) || 0));
      render();
    },
    close() { setOpen(false, true); },
    lang(d) {
      if (!Object.hasOwn(TEXT, d.lang)) return;
      T = TEXT[d.lang];
      frame.title = data.title || T.frame;
      render();
    },
  };

  window.addEventListener('message', (event) => {
    if (event.origin !== BOT_ORIGIN || !frame || event.source !== frame.contentWindow) return;
    const msg = event.data;
    if (!msg || typeof msg.type !== 'string' || msg.type.indexOf(NS) !== 0) return;
    const name = msg.type.slice(NS.length);
    if (!Object.hasOwn(FROM_PANEL, name)) return;
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
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && isOpen && document.activeElement === host) {
      setOpen(false, true);
    }
  });

  function identify(visitor) {
    if (!visitor || typeof visitor !== 'object') return;
    identity = {};
    ['external_id', 'user_hash', 'name', 'email'].forEach((key) => {
      if (visitor[key] != null) identity[key] = String(visitor[key]).slice(0, 256);
    });
    post('identify', identity);
  }

  const api = {
    version: '1',
    open: () => setOpen(true, true),
    close: () => setOpen(false, false),
    toggle: toggle,
    identify: identify,
  };
  const queued = window.SupportBot && Array.isArray(window.SupportBot.q) ? window.SupportBot.q : [];
  window.SupportBot = api;

  function start() {
    mount();
    queued.forEach((call) => {
      const fn = call && api[call[0]];
      if (typeof fn === 'function') fn(...[].slice.call(call, 1));
    });
  }
  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start);
})();
