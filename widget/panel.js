// The chat panel: runs in an iframe on the bot's origin (or stand-alone at /widget/panel.html).
// This file reads the loader's settings and wires the parts (widget/README.md lists them).
// The host page only ever learns an unread count.

import { ApiError, NetworkError } from './panel-api.js';
import { createConversation } from './panel-conversation.js';
import { createEmailField } from './panel-email.js';
import { EMBEDDED, HOST, listen, post } from './panel-host.js';
import { createI18n, translatePage } from './panel-i18n.js';
import { createLog } from './panel-log.js';
import { createRating } from './panel-rating.js';
import { createStatusLine } from './panel-status.js';
import { store } from './panel-store.js';
import { createUnsent } from './panel-unsent.js';

// ---- configuration from the loader (query string) ----------------------------------------

const params = new URLSearchParams(location.search);
const LOCALE = (params.get('lang') || navigator.language || 'en').toLowerCase().split(/[-_]/)[0];
// The panel's own words start in the page's language and then follow the conversation's,
// which the server reports (status, turns) and changes when the visitor clearly writes in
// another one.
const i18n = createI18n(LOCALE);
const { t } = i18n;
const COLOR = /^#([0-9a-f]{3}){1,2}$/i.test(params.get('color') || '') ? params.get('color') : '';
const TITLE = (params.get('title') || '').slice(0, 80);
const GREETING = (params.get('greeting') || '').slice(0, 500);

const $ = (id) => document.getElementById(id);
const ui = {
  log: $('log'),
  input: $('input'),
  composer: $('composer'),
  status: $('status'),
  handoff: $('handoff'),
  typing: $('typing'),
  rating: $('rating'),
  stars: $('stars'),
  notice: $('notice'),
  conn: $('conn'),
  close: $('close'),
  email: $('email'),
};

const frame = { open: !EMBEDDED, unread: store.get('unread', 0) };
const profile = { visitor: null, pageUrl: null }; // sent when the conversation is created

function setUnread(count) {
  frame.unread = count;
  store.set('unread', count);
  post('unread', { count });
}

// ---- the parts: a call to a part built further down is an arrow, run after init() starts ----

const status = createStatusLine({ ui, t, lang: () => i18n.lang });
const log = createLog({
  node: ui.log,
  t,
  welcome: () => GREETING || t('greeting'),
  view: {
    t,
    get feedback() {
      return rating.votes;
    },
    greeting: GREETING,
    onFeedback: (message, helpful) => rating.vote(message, helpful),
    onQuickReply: (reply) => {
      unsent.add(reply.title, reply.article_id);
      ui.input.focus();
    },
  },
});
const chat = createConversation({
  locale: LOCALE,
  profile,
  log,
  status,
  on: {
    status: renderStatus,
    unseen: () => {
      if (!frame.open) setUnread(frame.unread + 1);
    },
    connected: () => unsent.flush(),
    forget: (keepUnsent) => {
      if (!keepUnsent) unsent.clear();
      setUnread(0);
    },
    inFlight: (message) => unsent.match(message),
    lang: (code) => {
      if (i18n.set(code)) speak();
    },
  },
});
const unsent = createUnsent({ chat, log, status });
const rating = createRating({ ui, t, chat, log, notify: status.notify });
const email = createEmailField({ ui, t, send: (address) => unsent.add(address) });

function renderStatus() {
  status.render(chat.state);
  rating.render();
  email.render(chat.state);
}

let ready = false; // the parts are built and init() has drawn them

/** Every word of the panel's own in its language now: markup, rows, header, rating, email. */
function speak() {
  translatePage(document, t, i18n.lang);
  if (TITLE) $('title').textContent = TITLE;
  document.title = TITLE || t('title');
  document.body.dataset.lang = i18n.lang;
  if (!ready) return; // init() draws the rest once the parts exist
  post('lang', { lang: i18n.lang }); // the launcher's labels
  rating.relabel();
  email.relabel();
  log.redraw(chat.state.messages.values());
  renderStatus();
}

// ---- the loader's messages -------------------------------------------------------------------

listen({
  open({ focus }) {
    frame.open = true;
    document.body.dataset.open = 'true';
    setUnread(0);
    log.scrollToEnd(true);
    if (focus) ui.input.focus({ preventScroll: true });
  },
  close() {
    frame.open = false;
    document.body.dataset.open = 'false';
  },
  identify(visitor) {
    const clean = {};
    for (const key of ['external_id', 'user_hash', 'name', 'email']) {
      if (typeof visitor[key] === 'string' && visitor[key]) clean[key] = visitor[key].slice(0, 256);
    }
    profile.visitor = clean;
    chat.identify(clean);
  },
  context({ page_url: pageUrl }) {
    if (typeof pageUrl === 'string') profile.pageUrl = pageUrl.slice(0, 2000);
  },
});

// ---- the visitor's controls ------------------------------------------------------------------

async function requestHandoff() {
  ui.handoff.disabled = true;
  try {
    await chat.handoff();
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) chat.sync(); // already with the team
    else status.notify(error instanceof NetworkError ? t('handoffOffline') : t('error'));
  } finally {
    ui.handoff.disabled = false;
    if (ui.handoff.hidden || document.activeElement === document.body) ui.input.focus();
  }
}

function autosize() {
  ui.input.style.height = 'auto';
  ui.input.style.height = `${Math.min(ui.input.scrollHeight, 140)}px`;
}

function init() {
  speak();
  if (COLOR) {
    // CSSOM writes are allowed under the page's CSP (style attributes would not be).
    document.documentElement.style.setProperty('--accent', COLOR);
    document.documentElement.style.setProperty('--on-accent', onColor(COLOR));
  }
  document.body.dataset.open = String(frame.open);
  document.body.classList.toggle('standalone', !EMBEDDED);
  rating.buildStars();
  ready = true;

  ui.composer.addEventListener('submit', (event) => {
    event.preventDefault();
    unsent.add(ui.input.value);
    ui.input.value = '';
    autosize();
  });
  ui.input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ui.composer.requestSubmit();
    }
  });
  ui.input.addEventListener('input', () => {
    autosize();
    chat.visitorTyping();
  });
  ui.handoff.addEventListener('click', requestHandoff);
  ui.close.addEventListener('click', () => post('close'));
  ui.rating.addEventListener('submit', rating.submit);
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && HOST) {
      event.preventDefault();
      post('close');
    }
  });
  window.addEventListener('online', () => {
    status.setOnline(true);
    chat.wake();
    unsent.flush();
  });
  window.addEventListener('offline', () => status.setOnline(false));
  store.watch('conversation', chat.follow);

  chat.restore();
  unsent.showQueued();
  renderStatus();
  status.setOnline(navigator.onLine);
  log.scrollToEnd(true);
  post('ready');
  post('unread', { count: frame.unread });
  chat.resume();
  if (unsent.size()) unsent.flush();
}

function onColor(hex) {
  let h = hex.slice(1);
  if (h.length === 3) h = h.replace(/./g, '$&$&');
  const [r, g, b] = [0, 2, 4].map((i) => {
    const v = parseInt(h.slice(i, i + 2), 16) / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return 1.05 / (lum + 0.05) >= (lum + 0.05) / 0.05 ? '#ffffff' : '#000000';
}

init();
