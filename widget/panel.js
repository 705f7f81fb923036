// The chat panel: runs in an iframe on the bot's origin (or stand-alone at /widget/panel.html).
// It owns the conversation (id + token in storage here), the message list, the outbox of
// messages typed while offline and the live event stream. The host page only ever learns an
// unread count.

import { api, ApiError, backoff, isLost, isTransient, Live, NetworkError } from './panel-api.js';
import { pickLanguage, translatePage, translator } from './panel-i18n.js';
import { store } from './panel-store.js';
import { greetingRow, messageRow, pendingRow, setFeedback, setPendingState } from './panel-view.js';

const NS = 'supportbot:';
const MAX_CACHED = 200;
const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);

// ---- configuration from the loader (query string) ----------------------------------------

const EMBEDDED = window.parent !== window;

/** The host page's origin, or null: then the panel neither sends nor accepts messages. */
function hostOrigin() {
  if (!EMBEDDED) return null; // opened directly: a stand-alone chat page
  const raw = params.get('origin') || '';
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

const HOST = hostOrigin();
const LOCALE = (params.get('lang') || navigator.language || 'en').toLowerCase().split(/[-_]/)[0];
const LANG = pickLanguage(LOCALE);
const t = translator(LANG);
const COLOR = /^#([0-9a-f]{3}){1,2}$/i.test(params.get('color') || '') ? params.get('color') : '';
const TITLE = (params.get('title') || '').slice(0, 80);
const GREETING = (params.get('greeting') || '').slice(0, 500);

// ---- state -----------------------------------------------------------------------------------

const state = {
  conversation: store.get('conversation'), // {id, token, external_id}
  messages: new Map(), // id -> Message
  cursor: 0, // resume point: highest seq from a complete stream (GET after= or SSE)
  outbox: store.get('outbox', []), // [{client_id, text, article_id?}], oldest first; shared by tabs
  feedback: store.get('feedback', {}), // message id -> helpful
  unread: store.get('unread', 0),
  status: 'bot',
  agent: null,
  handoff: null,
  rating: null,
  sawAgent: false,
  open: !EMBEDDED,
  visitor: null, // from identify(), used when the conversation is created
  pageUrl: null,
};

const rows = new Map(); // "m<id>" | "c<client_id>" -> row element
const confirmed = new Set(); // client_ids whose message the server has shown us
const ui = {
  log: $('log'),
  input: $('input'),
  composer: $('composer'),
  status: $('status'),
  handoff: $('handoff'),
  typing: $('typing'),
  rating: $('rating'),
  notice: $('notice'),
  conn: $('conn'),
  close: $('close'),
};

// ---- talking to the loader -------------------------------------------------------------------

function post(type, data = {}) {
  if (HOST) window.parent.postMessage({ type: NS + type, data }, HOST);
}

const FROM_HOST = {
  open({ focus }) {
    state.open = true;
    document.body.dataset.open = 'true';
    setUnread(0);
    scrollToEnd(true);
    if (focus) ui.input.focus({ preventScroll: true });
  },
  close() {
    state.open = false;
    document.body.dataset.open = 'false';
  },
  identify(visitor) {
    const clean = {};
    for (const key of ['external_id', 'user_hash', 'name', 'email']) {
      if (typeof visitor[key] === 'string' && visitor[key]) clean[key] = visitor[key].slice(0, 256);
    }
    state.visitor = clean;
    // A different signed-in person on this browser must not see the previous one's chat.
    const known = state.conversation?.external_id;
    if (known && clean.external_id && known !== clean.external_id) resetConversation(false);
    // Signed in mid-chat: the agent should still see who it is (sent once per identity).
    const conv = state.conversation;
    const key = JSON.stringify(clean);
    if (conv && !known && key !== '{}' && conv.identity !== key) {
      api('PUT', `/conversations/${conv.id}/visitor`, { token: conv.token, body: clean })
        .then(() => {
          conv.identity = key;
          conv.external_id = clean.external_id || null;
          if (state.conversation === conv) store.set('conversation', conv);
        })
        .catch(() => {}); // offline or refused: the next chat starts with the identity
    }
  },
  context({ page_url: pageUrl }) {
    if (typeof pageUrl === 'string') state.pageUrl = pageUrl.slice(0, 2000);
  },
};

window.addEventListener('message', (event) => {
  if (!HOST || event.origin !== HOST || event.source !== window.parent) return;
  const msg = event.data;
  if (!msg || typeof msg.type !== 'string' || !msg.type.startsWith(NS)) return;
  const name = msg.type.slice(NS.length);
  if (!Object.hasOwn(FROM_HOST, name)) return;
  FROM_HOST[name](msg.data && typeof msg.data === 'object' ? msg.data : {});
});

function setUnread(count) {
  state.unread = count;
  store.set('unread', count);
  post('unread', { count });
}

// ---- rendering -------------------------------------------------------------------------------

function nearEnd() {
  const log = ui.log;
  return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
}

function scrollToEnd(force) {
  if (force || nearEnd()) ui.log.scrollTop = ui.log.scrollHeight;
}

const viewContext = {
  t,
  feedback: state.feedback,
  greeting: GREETING,
  onFeedback: (message, helpful) => sendFeedback(message, helpful),
  onQuickReply: (reply) => {
    send(reply.title, reply.article_id);
    ui.input.focus();
  },
};

/** Puts a server row in seq order, before any pending (unconfirmed) rows. */
function placeRow(row, seq) {
  let before = null;
  for (const other of ui.log.children) {
    if (other.classList.contains('pending') || Number(other.dataset.seq) > seq) {
      before = other;
      break;
    }
  }
  if (row.nextSibling === before && row.parentNode === ui.log) return;
  ui.log.insertBefore(row, before);
}

function renderMessage(message, clientId) {
  const key = `m${message.id}`;
  const old = rows.get(key);
  const pending = clientId ? rows.get(`c${clientId}`) : null;
  if (clientId) confirmed.add(clientId);
  if (old && pending) {
    pending.remove();
    rows.delete(`c${clientId}`);
  }
  if (old && old.dataset.text === message.text) return; // already shown
  rows.get('greeting')?.remove();
  rows.delete('greeting');
  let row;
  if (pending && !old) {
    // Confirm the pending bubble in place: a screen reader does not hear it twice.
    row = pending;
    rows.delete(`c${clientId}`);
    row.classList.remove('pending');
    row.querySelector('.state')?.remove();
    delete row.dataset.state;
    row.dataset.seq = String(message.seq);
  } else {
    row = messageRow(message, viewContext);
    old?.replaceWith(row);
  }
  row.dataset.text = message.text;
  rows.set(key, row);
  placeRow(row, message.seq);
  refreshQuickReplies();
}

function renderGreeting() {
  if (state.messages.size || rows.has('greeting')) return;
  const row = greetingRow(GREETING || t('greeting'), t);
  rows.set('greeting', row);
  ui.log.prepend(row);
}

/** Quick replies only make sense on the latest clarify question. */
function refreshQuickReplies() {
  let laterVisitor = ui.log.querySelector('.pending') !== null;
  for (const row of [...ui.log.children].reverse()) {
    if (row.classList.contains('from-visitor')) laterVisitor = true;
    const quick = row.querySelector('.quick');
    if (quick) quick.hidden = laterVisitor;
  }
}

function renderStatus() {
  const { status, handoff } = state;
  const name = state.agent?.name || t('agent');
  let text = t('statusBot');
  if (status === 'waiting') {
    if (handoff?.mode === 'email') {
      text = handoff.email ? t('waitEmailTo', { email: handoff.email }) : t('waitEmail');
      const by = formatTime(handoff.answer_by);
      if (by) text += ` ${t('answerBy', { time: by })}`;
    } else if (handoff?.wait_minutes != null) {
      text = t('waitMinutes', { n: Math.max(1, handoff.wait_minutes) });
    } else {
      text = t('waitSoon');
    }
  } else if (status === 'agent') {
    text = t('withAgent', { name });
  } else if (status === 'closed') {
    text = t('closed');
  }
  ui.status.textContent = text;
  document.body.dataset.status = status;
  const withPerson = status === 'waiting' || status === 'agent';
  if (withPerson && document.activeElement === ui.handoff) ui.input.focus();
  ui.handoff.hidden = withPerson;
  renderRating();
}

function formatTime(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  // In the visitor's own time zone; the weekday only when it is not today.
  const options = { hour: '2-digit', minute: '2-digit' };
  if (date.toDateString() !== new Date().toDateString()) options.weekday = 'short';
  return new Intl.DateTimeFormat(LANG, options).format(date);
}

// ---- messages in -----------------------------------------------------------------------------

/**
 * Takes a message from any source. stream=true when it came from a complete stream (SSE or
 * GET ?after=), which is what moves the resume cursor; POST answers do not.
 */
function apply(message, { stream = false, clientId = null } = {}) {
  if (!message || message.id == null) return;
  const isNew = !state.messages.has(message.id);
  if (stream && message.seq > state.cursor) state.cursor = message.seq;
  state.messages.set(message.id, message);
  if (message.role === 'agent') {
    state.sawAgent = true;
    showTyping(false);
  }
  if (message.kind === 'handoff' && message.handoff) state.handoff = message.handoff;
  // A visitor message from the stream may be one still in flight from this tab.
  if (!clientId && message.role === 'visitor') {
    const match = state.outbox.find((item) => item.client_id === message.client_id) ||
      state.outbox.find((item) => item.text === message.text && rows.has(`c${item.client_id}`));
    if (match) clientId = match.client_id;
  }
  const wasNearEnd = nearEnd();
  renderMessage(message, clientId);
  if (wasNearEnd || message.role === 'visitor') scrollToEnd(true);
  if (isNew && stream && message.role !== 'visitor' && !state.open) setUnread(state.unread + 1);
  saveMessages();
}

function saveMessages() {
  const items = [...state.messages.values()].sort((a, b) => a.seq - b.seq).slice(-MAX_CACHED);
  store.set('messages', { conversation: state.conversation?.id, cursor: state.cursor, items });
}

function loadMessages() {
  const cached = store.get('messages');
  if (!cached || !state.conversation || cached.conversation !== state.conversation.id) return;
  state.cursor = Number(cached.cursor) || 0;
  for (const message of cached.items || []) apply(message);
}

function applyStatus(info) {
  if (!info || typeof info.status !== 'string') return;
  if (info.status === 'agent' || info.agent) state.sawAgent = true;
  state.status = info.status;
  if ('agent' in info && (info.agent || info.status !== 'closed')) state.agent = info.agent;
  if ('handoff' in info) state.handoff = info.handoff;
  if ('rating' in info) state.rating = info.rating;
  if (info.status !== 'agent') showTyping(false);
  renderStatus();
}

let typingTimer = 0;
function showTyping(on) {
  clearTimeout(typingTimer);
  ui.typing.textContent = on ? t('typing', { name: state.agent?.name || t('agent') }) : '';
  // A lost "stopped typing" event must not leave the indicator up forever.
  if (on) typingTimer = setTimeout(() => showTyping(false), 10000);
}

const live = new Live({
  onEvent(type, data) {
    if (type === 'message') apply(data, { stream: true });
    else if (type === 'status') applyStatus(data);
    else if (type === 'typing' && data.role === 'agent') showTyping(Boolean(data.typing));
  },
  onOpen() {
    setOnline(true);
    sync(); // status changes are not replayed by the stream
    flush();
  },
  onDown() {
    if (!navigator.onLine) setOnline(false);
    sync(); // tells a dead token (start over) from a network problem (keep retrying)
  },
});

function startLive() {
  if (state.conversation) live.start(state.conversation, () => state.cursor);
}

let syncing = null;
function sync() {
  const conversation = state.conversation;
  if (!conversation || syncing) return syncing;
  const path = `/conversations/${encodeURIComponent(conversation.id)}`;
  syncing = (async () => {
    try {
      const [info, list] = await Promise.all([
        api('GET', path, { token: conversation.token }),
        api('GET', `${path}/messages?after=${state.cursor}`, { token: conversation.token }),
      ]);
      if (state.conversation !== conversation) return;
      for (const message of list.messages || []) apply(message, { stream: true });
      applyStatus(info);
      setOnline(true);
    } catch (error) {
      if (state.conversation !== conversation) return;
      if (isLost(error)) resetConversation(true);
      else if (error instanceof NetworkError) setOnline(false);
    } finally {
      syncing = null;
    }
  })();
  return syncing;
}

// ---- conversation ----------------------------------------------------------------------------

let creating = null;
function ensureConversation() {
  if (state.conversation) return Promise.resolve(state.conversation);
  if (!creating) {
    creating = (async () => {
      const body = { locale: LOCALE };
      if (state.pageUrl) body.page_url = state.pageUrl;
      if (state.visitor && Object.keys(state.visitor).length) body.visitor = state.visitor;
      const data = await api('POST', '/conversations', { body });
      state.conversation = { id: data.id, token: data.token,
        external_id: state.visitor?.external_id || null };
      store.set('conversation', state.conversation);
      for (const message of data.messages || []) apply(message, { stream: true });
      applyStatus(data);
      startLive();
      return state.conversation;
    })().finally(() => {
      creating = null;
    });
  }
  return creating;
}

/** Forgets the conversation (token rejected, or a different person signed in). */
function resetConversation(keepOutbox) {
  forgetConversation(keepOutbox);
  store.remove('conversation');
  store.remove('messages');
}

/** Clears this tab's view of the conversation without touching what other tabs share. */
function forgetConversation(keepOutbox) {
  live.stop();
  state.conversation = null;
  state.messages.clear();
  state.cursor = 0;
  state.status = 'bot';
  state.agent = state.handoff = state.rating = null;
  state.sawAgent = false;
  if (!keepOutbox) writeOutbox([]);
  for (const [key, row] of rows) {
    if (!key.startsWith('c') || !keepOutbox) {
      row.remove();
      rows.delete(key);
    }
  }
  setUnread(0);
  renderGreeting();
  renderStatus();
}

// ---- messages out: the outbox ----------------------------------------------------------------

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function send(text, articleId) {
  const clean = String(text).trim();
  if (!clean) return;
  const item = { client_id: uuid(), text: clean };
  if (articleId) item.article_id = articleId;
  // Stored before the first attempt: a reload or page change mid-send loses nothing.
  writeOutbox([...readOutbox(), item]);
  showPending(item, 'sending');
  scrollToEnd(true);
  refreshQuickReplies();
  flush();
}

// The outbox is re-read from storage each time, so tabs of the same site do not overwrite
// each other's queued messages (a message sent by two tabs is stored once: same client_id).
function readOutbox() {
  state.outbox = store.get('outbox', []);
  return state.outbox;
}

function writeOutbox(items) {
  state.outbox = items;
  store.set('outbox', items);
}

function showPending(item, pendingState, detail) {
  if (confirmed.has(item.client_id)) return;
  let row = rows.get(`c${item.client_id}`);
  if (!row) {
    rows.get('greeting')?.remove();
    rows.delete('greeting');
    row = pendingRow(item, t);
    rows.set(`c${item.client_id}`, row);
    ui.log.append(row);
  }
  setPendingState(row, pendingState, t, detail);
}

let flushing = false;
let retryTimer = 0;
let retryAttempt = 0;

/** Sends the outbox in order, one at a time, each with its client_id (the server dedupes). */
async function flush() {
  if (flushing) return;
  flushing = true;
  clearTimeout(retryTimer);
  let resets = 0;
  try {
    while (readOutbox().length) {
      const item = state.outbox[0];
      showPending(item, 'sending');
      let result;
      try {
        const conversation = await ensureConversation();
        result = await api('POST', `/conversations/${encodeURIComponent(conversation.id)}/messages`,
          { token: conversation.token, body: item });
      } catch (error) {
        if (isLost(error) && state.conversation && resets++ < 1) {
          resetConversation(true);
          continue;
        }
        if (isTransient(error)) {
          if (error instanceof NetworkError) setOnline(false);
          for (const queued of state.outbox) showPending(queued, 'queued');
          const delay = Math.max(backoff(retryAttempt++), (error.retryAfter || 0) * 1000);
          retryTimer = setTimeout(flush, delay);
          return;
        }
        // Refused for good (too long, invalid): say so instead of retrying forever.
        dropFromOutbox(item);
        showPending(item, 'failed', error.message);
        continue;
      }
      retryAttempt = 0;
      setOnline(true);
      dropFromOutbox(item);
      apply(result.message, { clientId: item.client_id });
      if (result.reply) apply(result.reply);
    }
  } finally {
    flushing = false;
  }
}

function dropFromOutbox(item) {
  writeOutbox(readOutbox().filter((other) => other.client_id !== item.client_id));
}

function setOnline(online) {
  ui.conn.hidden = online;
}

// ---- visitor actions -------------------------------------------------------------------------

async function sendFeedback(message, helpful) {
  const before = state.feedback[message.id];
  const group = rows.get(`m${message.id}`)?.querySelector('.feedback');
  // Stored at once: a reload right after the click still shows the vote.
  state.feedback[message.id] = helpful;
  store.set('feedback', state.feedback);
  setFeedback(group, helpful, t);
  try {
    const { id, token } = state.conversation;
    await api('POST', `/conversations/${encodeURIComponent(id)}/feedback`, {
      token, body: { message_id: message.id, helpful },
    });
  } catch {
    state.feedback[message.id] = before;
    store.set('feedback', state.feedback);
    setFeedback(group, before, t);
    notify(t('error'));
  }
}

async function requestHandoff() {
  ui.handoff.disabled = true;
  try {
    const conversation = await ensureConversation();
    const path = `/conversations/${encodeURIComponent(conversation.id)}`;
    const result = await api('POST', `${path}/handoff`, {
      token: conversation.token, body: { reason: 'visitor_request' },
    });
    if (result?.reply) apply(result.reply);
    applyStatus(await api('GET', path, { token: conversation.token }));
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) sync(); // already with the team
    else notify(error instanceof NetworkError ? t('handoffOffline') : t('error'));
  } finally {
    ui.handoff.disabled = false;
    if (ui.handoff.hidden || document.activeElement === document.body) ui.input.focus();
  }
}

let noticeTimer = 0;
function notify(text) {
  clearTimeout(noticeTimer);
  ui.notice.textContent = text;
  ui.notice.hidden = false;
  noticeTimer = setTimeout(() => {
    ui.notice.hidden = true;
  }, 6000);
}

// Visitor typing, shown to the agent: only while a person is (about to be) in the chat.
let typingSent = 0;
let typingStop = 0;
function visitorTyping() {
  const conversation = state.conversation;
  if (!conversation || !['waiting', 'agent'].includes(state.status)) return;
  const path = `/conversations/${encodeURIComponent(conversation.id)}/typing`;
  const tell = (typing) => api('POST', path, { token: conversation.token, body: { typing } })
    .catch(() => {});
  if (Date.now() - typingSent > 3000) {
    typingSent = Date.now();
    tell(true);
  }
  clearTimeout(typingStop);
  typingStop = setTimeout(() => {
    typingSent = 0;
    tell(false);
  }, 4000);
}

// ---- rating after an agent resolved the chat -------------------------------------------------

function buildStars() {
  const stars = $('stars');
  for (let n = 1; n <= 5; n += 1) {
    const id = `star-${n}`;
    const input = document.createElement('input');
    Object.assign(input, { type: 'radio', name: 'rating', value: String(n), id });
    input.className = 'sr-only star-input';
    const label = document.createElement('label');
    label.htmlFor = id;
    label.className = 'star';
    label.title = t('rateStar', { n });
    label.setAttribute('aria-label', t('rateStar', { n }));
    label.textContent = '★';
    stars.append(input, label);
  }
}

function renderRating() {
  const show = state.status === 'closed' && state.sawAgent && state.rating == null;
  const wasHidden = ui.rating.hidden;
  const thanked = ui.rating.dataset.thanked && state.status === 'closed';
  ui.rating.hidden = !show && !thanked;
  if (show && wasHidden) {
    $('rating-legend').textContent = t('rateTitle', { name: state.agent?.name || t('agent') });
    scrollToEnd(true);
  }
}

async function submitRating(event) {
  event.preventDefault();
  const chosen = ui.rating.querySelector('input[name="rating"]:checked');
  if (!chosen || !state.conversation) return;
  const { id, token } = state.conversation;
  const comment = $('rating-comment').value.trim();
  const body = { rating: Number(chosen.value) };
  if (comment) body.comment = comment;
  try {
    await api('POST', `/conversations/${encodeURIComponent(id)}/rating`, { token, body });
    state.rating = body.rating;
    const thanks = document.createElement('p');
    thanks.className = 'rating-thanks';
    thanks.textContent = t('rateThanks');
    thanks.tabIndex = -1;
    ui.rating.replaceChildren(thanks);
    ui.rating.dataset.thanked = 'true';
    thanks.focus();
  } catch {
    notify(t('error'));
  }
}

// ---- wiring ----------------------------------------------------------------------------------

function autosize() {
  ui.input.style.height = 'auto';
  ui.input.style.height = `${Math.min(ui.input.scrollHeight, 140)}px`;
}

function init() {
  translatePage(document, t, LANG);
  if (TITLE) $('title').textContent = TITLE;
  document.title = TITLE || t('title');
  if (COLOR) {
    // CSSOM writes are allowed under the page's CSP (style attributes would not be).
    document.documentElement.style.setProperty('--accent', COLOR);
    document.documentElement.style.setProperty('--on-accent', onColor(COLOR));
  }
  document.body.dataset.open = String(state.open);
  document.body.classList.toggle('standalone', !EMBEDDED);
  buildStars();

  ui.composer.addEventListener('submit', (event) => {
    event.preventDefault();
    send(ui.input.value);
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
    visitorTyping();
  });
  ui.handoff.addEventListener('click', requestHandoff);
  ui.close.addEventListener('click', () => post('close'));
  ui.rating.addEventListener('submit', submitRating);
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && HOST) {
      event.preventDefault();
      post('close');
    }
  });
  window.addEventListener('online', () => {
    setOnline(true);
    live.wake();
    flush();
  });
  window.addEventListener('offline', () => setOnline(false));
  // Another tab of the same site started or replaced the conversation: follow it.
  store.watch('conversation', (conversation) => {
    if (conversation?.id === state.conversation?.id) return;
    forgetConversation(true);
    if (!conversation) return;
    state.conversation = conversation;
    startLive();
    sync();
  });

  loadMessages();
  renderGreeting();
  for (const item of state.outbox) showPending(item, 'queued');
  renderStatus();
  setOnline(navigator.onLine);
  scrollToEnd(true);
  post('ready');
  post('unread', { count: state.unread });
  if (state.conversation) {
    startLive();
    sync();
  }
  if (state.outbox.length) flush();
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
