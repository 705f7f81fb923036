// Messages the server has not confirmed yet, sent in order, each with a client_id the server
// deduplicates: a reload, a lost connection or a second tab neither loses nor doubles one.

import { backoff, isLost, isTransient, NetworkError } from './panel-api.js';
import { store } from './panel-store.js';

// The key is older than the name "unsent": messages queued before an update still go out.
const KEY = 'outbox';

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export function createUnsent({ chat, log, status }) {
  let items = store.get(KEY, []); // [{client_id, text, article_id?}], oldest first; shared by tabs
  let flushing = false;
  let retryTimer = 0;
  let retryAttempt = 0;

  // Re-read from storage each time, so tabs of the same site do not overwrite each other's
  // queued messages (a message sent by two tabs is stored once: same client_id).
  function read() {
    items = store.get(KEY, []);
    return items;
  }

  function write(next) {
    items = next;
    store.set(KEY, next);
  }

  function drop(item) {
    write(read().filter((other) => other.client_id !== item.client_id));
  }

  function add(text, articleId) {
    const clean = String(text).trim();
    if (!clean) return;
    const item = { client_id: uuid(), text: clean };
    if (articleId) item.article_id = articleId;
    // Stored before the first attempt: a reload or page change mid-send loses nothing.
    write([...read(), item]);
    log.showPending(item, 'sending');
    log.scrollToEnd(true);
    log.refreshQuickReplies();
    flush();
  }

  function showQueued() {
    for (const item of items) log.showPending(item, 'queued');
  }

  /** Sends the queue in order, one at a time, retrying with backoff. */
  async function flush() {
    if (flushing) return;
    flushing = true;
    clearTimeout(retryTimer);
    let resets = 0;
    try {
      while (read().length) {
        const item = items[0];
        log.showPending(item, 'sending');
        let result;
        try {
          result = await chat.send(item);
        } catch (error) {
          if (isLost(error) && chat.state.conversation && resets++ < 1) {
            chat.reset(true);
            continue;
          }
          if (isTransient(error)) {
            if (error instanceof NetworkError) status.setOnline(false);
            showQueued();
            const delay = Math.max(backoff(retryAttempt++), (error.retryAfter || 0) * 1000);
            retryTimer = setTimeout(flush, delay);
            return;
          }
          // Refused for good (too long, invalid): say so instead of retrying forever.
          drop(item);
          log.showPending(item, 'failed', error.message);
          continue;
        }
        retryAttempt = 0;
        status.setOnline(true);
        drop(item);
        chat.setLang(result.lang);
        chat.apply(result.message, { clientId: item.client_id });
        if (result.reply) chat.apply(result.reply);
      }
    } finally {
      flushing = false;
    }
  }

  /** The client_id of a queued message that a streamed one confirms, or null. */
  function match(message) {
    const found = items.find((item) => item.client_id === message.client_id) ||
      items.find((item) => item.text === message.text && log.hasPending(item.client_id));
    return found ? found.client_id : null;
  }

  return { add, flush, showQueued, match, size: () => items.length, clear: () => write([]) };
}
