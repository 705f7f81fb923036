// The HTTP side of the panel: JSON calls to /api/v1 and the live event stream (SSE).
// The panel is served by the bot, so the API is on its own origin.

const BASE = `${location.origin}/api/v1`;

/** The server answered with an error ({"error": {code, message}}). */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** No answer at all: offline, DNS, timeout, connection cut mid-response. */
export class NetworkError extends Error {}

/** Worth retrying later with the same request (the server deduplicates by client_id). */
export function isTransient(error) {
  if (error instanceof NetworkError) return true;
  return error instanceof ApiError && (error.status >= 500 || [408, 425, 429].includes(error.status));
}

/** The conversation is gone or its token no longer valid: start a new one. */
export function isLost(error) {
  return error instanceof ApiError && (error.status === 401 || error.status === 404);
}

export async function api(method, path, { token, body, timeout = 30000 } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  try {
    let response;
    try {
      response = await fetch(BASE + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
        credentials: 'omit', // the bearer token is the only credential
        cache: 'no-store',
      });
    } catch (error) {
      throw new NetworkError(String(error));
    }
    if (response.status === 204) return null;
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      if (response.ok) throw new NetworkError(String(error)); // body cut off: retry
    }
    if (!response.ok) {
      const detail = (data && data.error) || {};
      const retryAfter = Number(response.headers.get('Retry-After')) || 0;
      throw new ApiError(response.status, detail.code, detail.message, retryAfter);
    }
    return data;
  } finally {
    clearTimeout(timer);
  }
}

/** Exponential backoff with jitter: 1 s, 2 s, 4 s … capped at 30 s. */
export function backoff(attempt) {
  return Math.min(30000, 1000 * 2 ** attempt) * (0.75 + Math.random() * 0.5);
}

/**
 * The live event stream of one conversation. EventSource reconnects by itself, but blindly
 * and forever at a fixed pace; here every failure closes it and a new one is opened with
 * backoff, resuming after the last message seen (`last_event_id`).
 */
export class Live {
  constructor({ onEvent, onOpen, onDown }) {
    this.handlers = { onEvent, onOpen, onDown };
    this.source = null;
    this.timer = 0;
    this.attempt = 0;
    this.conversation = null;
    this.cursor = () => 0;
    this.generation = 0; // each connect() and stop() starts a new one
  }

  start(conversation, cursor) {
    this.stop();
    this.conversation = conversation;
    this.cursor = cursor;
    this.connect();
  }

  /**
   * EventSource cannot send the Authorization header, and a token in the URL would land in
   * access logs: each connection first fetches a single-use stream ticket with the token.
   */
  async connect() {
    clearTimeout(this.timer);
    const conversation = this.conversation;
    if (!conversation) return;
    const generation = ++this.generation;
    const path = `/conversations/${encodeURIComponent(conversation.id)}`;
    this.source = { close() {} }; // connecting: wake() must not open a second stream
    let ticket;
    try {
      ({ ticket } = await api('POST', `${path}/stream-ticket`, { token: conversation.token }));
    } catch {
      if (generation === this.generation) this.retry();
      return;
    }
    if (generation !== this.generation) return; // stopped or restarted meanwhile
    const query = new URLSearchParams({ ticket, last_event_id: String(this.cursor()) });
    const source = new EventSource(`${BASE}${path}/events?${query}`);
    this.source = source;
    source.onopen = () => {
      this.attempt = 0;
      this.handlers.onOpen();
    };
    source.onerror = () => {
      if (this.source !== source) return;
      source.close();
      this.retry();
    };
    for (const type of ['message', 'status', 'typing']) {
      source.addEventListener(type, (event) => {
        let data;
        try {
          data = JSON.parse(event.data);
        } catch {
          return;
        }
        this.handlers.onEvent(type, data);
      });
    }
  }

  retry() {
    this.source = null;
    this.handlers.onDown();
    this.timer = setTimeout(() => this.connect(), backoff(this.attempt++));
  }

  /** Reconnect now (the browser says it is online again) unless a stream is up. */
  wake() {
    if (!this.conversation || this.source) return;
    this.attempt = 0;
    this.connect();
  }

  stop() {
    this.generation++;
    clearTimeout(this.timer);
    if (this.source) this.source.close();
    this.source = null;
    this.conversation = null;
  }
}
