// The conversation with the server: create it, take in messages and status from POST answers,
// the live stream and catch-up (GET ?after=), and cache them so a reload shows the chat at once.

import { api, isLost, Live, NetworkError } from './panel-api.js';
import { store } from './panel-store.js';

const MAX_CACHED = 200;

/**
 * profile: {visitor, pageUrl} from the host. on: {status(), unseen() (a new bot or agent message
 * from the stream), connected(), forget(keepUnsent), inFlight(message) -> client_id or null,
 * lang(code) (the conversation's language, which the panel's own words follow)}.
 */
export function createConversation({ locale, profile, log, status, on }) {
  const state = {
    lang: null, // the conversation's language as the server last said (status, turns)
    conversation: store.get('conversation'), // {id, token, external_id}
    messages: new Map(), // id -> Message
    cursor: 0, // resume point: highest seq from a complete stream (GET after= or SSE)
    status: 'bot',
    statusAt: '', // the `updated_at` of the status shown
    agent: null,
    handoff: null,
    rating: null,
    sawAgent: false,
  };
  const path = (conversation) => `/conversations/${encodeURIComponent(conversation.id)}`;

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
      status.typing(false);
    }
    if (message.kind === 'handoff' && message.handoff) state.handoff = message.handoff;
    // A visitor message from the stream may be one still in flight from this tab.
    if (!clientId && message.role === 'visitor') clientId = on.inFlight(message);
    const wasNearEnd = log.nearEnd();
    log.showMessage(message, clientId);
    if (wasNearEnd || message.role === 'visitor') log.scrollToEnd(true);
    if (isNew && stream && message.role !== 'visitor') on.unseen();
    saveMessages();
  }

  function saveMessages() {
    const items = [...state.messages.values()].sort((a, b) => a.seq - b.seq).slice(-MAX_CACHED);
    store.set('messages', { conversation: state.conversation?.id, cursor: state.cursor, items,
      lang: state.lang });
  }

  /** The server named the conversation's language (a status or a turn): the panel follows. */
  function setLang(code) {
    if (typeof code !== 'string' || !code || code === state.lang) return;
    state.lang = code;
    on.lang(code);
    if (state.conversation) saveMessages();
  }

  function restore() {
    const cached = store.get('messages');
    if (cached && state.conversation && cached.conversation === state.conversation.id) {
      state.cursor = Number(cached.cursor) || 0;
      setLang(cached.lang); // before the rows, so they are built in it at once
      for (const message of cached.items || []) apply(message);
    }
    if (!state.messages.size) log.showGreeting();
  }

  /** A status read before one already shown (a GET answered after the live event of the
   * change it missed) is older by the server's `updated_at` and is dropped. */
  function applyStatus(info) {
    if (!info || typeof info.status !== 'string') return;
    const at = typeof info.updated_at === 'string' ? info.updated_at : '';
    if (at && at < state.statusAt) return;
    if (at) state.statusAt = at;
    setLang(info.lang);
    if (info.status === 'agent' || info.agent) state.sawAgent = true;
    state.status = info.status;
    if ('agent' in info && (info.agent || info.status !== 'closed')) state.agent = info.agent;
    if ('handoff' in info) state.handoff = info.handoff;
    if ('rating' in info) state.rating = info.rating;
    if (info.status !== 'agent') status.typing(false);
    on.status();
  }

  const live = new Live({
    onEvent(type, data) {
      if (type === 'message') apply(data, { stream: true });
      else if (type === 'status') applyStatus(data);
      else if (type === 'typing' && data.role === 'agent') {
        status.typing(Boolean(data.typing), state.agent?.name);
      }
    },
    onOpen() {
      status.setOnline(true);
      sync(); // status changes are not replayed by the stream
      on.connected();
    },
    onDown() {
      if (!navigator.onLine) status.setOnline(false);
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
    syncing = (async () => {
      try {
        // Messages first, the status last (it carries the language); one older than the status
        // shown, read before a switch or a handoff the stream has shown, is dropped.
        const list = await api('GET', `${path(conversation)}/messages?after=${state.cursor}`,
          { token: conversation.token });
        const info = await api('GET', path(conversation), { token: conversation.token });
        if (state.conversation !== conversation) return;
        for (const message of list.messages || []) apply(message, { stream: true });
        applyStatus(info);
        status.setOnline(true);
      } catch (error) {
        if (state.conversation !== conversation) return;
        if (isLost(error)) reset(true);
        else if (error instanceof NetworkError) status.setOnline(false);
      } finally {
        syncing = null;
      }
    })();
    return syncing;
  }

  function resume() {
    if (!state.conversation) return;
    startLive();
    sync();
  }

  let creating = null;
  function ensure() {
    if (state.conversation) return Promise.resolve(state.conversation);
    if (!creating) {
      creating = (async () => {
        const body = { locale };
        if (profile.pageUrl) body.page_url = profile.pageUrl;
        if (profile.visitor && Object.keys(profile.visitor).length) body.visitor = profile.visitor;
        const data = await api('POST', '/conversations', { body });
        state.conversation = { id: data.id, token: data.token,
          external_id: profile.visitor?.external_id || null };
        store.set('conversation', state.conversation);
        setLang(data.lang);
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
  function reset(keepUnsent) {
    forget(keepUnsent);
    store.remove('conversation');
    store.remove('messages');
  }

  /** Clears this tab's view of the conversation without touching what other tabs share. */
  function forget(keepUnsent) {
    live.stop();
    state.conversation = null;
    state.messages.clear();
    state.cursor = 0;
    state.status = 'bot';
    state.statusAt = '';
    state.agent = state.handoff = state.rating = null;
    state.sawAgent = false;
    setLang(locale); // a new conversation starts from the page's language again
    on.forget(keepUnsent);
    log.clear(keepUnsent);
    log.showGreeting();
    on.status();
  }

  /** Another tab of the same site started or replaced the conversation: follow it. */
  function follow(conversation) {
    if (conversation?.id === state.conversation?.id) return;
    forget(true);
    if (!conversation) return;
    state.conversation = conversation;
    startLive();
    sync();
  }

  async function send(item) {
    const conversation = await ensure();
    return api('POST', `${path(conversation)}/messages`, { token: conversation.token, body: item });
  }

  async function handoff() {
    const conversation = await ensure();
    const result = await api('POST', `${path(conversation)}/handoff`, {
      token: conversation.token, body: { reason: 'visitor_request' },
    });
    setLang(result?.lang);
    if (result?.reply) apply(result.reply);
    applyStatus(await api('GET', path(conversation), { token: conversation.token }));
  }

  function identify(clean) {
    // A different signed-in person on this browser must not see the previous one's chat.
    const known = state.conversation?.external_id;
    if (known && clean.external_id && known !== clean.external_id) reset(false);
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
  }

  // Visitor typing, shown to the agent: only while a person is (about to be) in the chat.
  let typingSent = 0;
  let typingStop = 0;
  function visitorTyping() {
    const conversation = state.conversation;
    if (!conversation || !['waiting', 'agent'].includes(state.status)) return;
    const typingPath = `${path(conversation)}/typing`;
    const tell = (typing) => api('POST', typingPath, { token: conversation.token, body: { typing } })
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

  return { state, apply, setLang, restore, resume, sync, reset, follow, send, handoff, identify,
    visitorTyping, wake: () => live.wake() };
}
