// Storage on the bot origin: every key is prefixed "supportbot:", values are JSON. When the
// browser blocks storage (private modes, third-party storage settings) an in-memory copy keeps
// the widget working for the life of the page.

const PREFIX = 'supportbot:';
const memory = new Map();

function probe() {
  try {
    const storage = window.localStorage;
    storage.setItem(PREFIX + 'probe', '1');
    storage.removeItem(PREFIX + 'probe');
    return storage;
  } catch {
    return null;
  }
}
const local = probe();

export const store = {
  persistent: Boolean(local),

  get(key, fallback = null) {
    let raw = null;
    try {
      raw = local ? local.getItem(PREFIX + key) : null;
    } catch {
      raw = null;
    }
    if (raw == null) raw = memory.get(key) ?? null;
    if (raw == null) return fallback;
    try {
      return JSON.parse(raw);
    } catch {
      return fallback;
    }
  },

  set(key, value) {
    const raw = JSON.stringify(value);
    memory.set(key, raw);
    try {
      if (local) local.setItem(PREFIX + key, raw);
    } catch {
      // Quota or a revoked permission: the memory copy still holds the value.
    }
  },

  remove(key) {
    memory.delete(key);
    try {
      if (local) local.removeItem(PREFIX + key);
    } catch {
      // nothing to do
    }
  },

  /** Calls fn(newValue) when another tab of the same site changes `key`. */
  watch(key, fn) {
    window.addEventListener('storage', (event) => {
      if (event.key !== PREFIX + key) return;
      try {
        fn(event.newValue == null ? null : JSON.parse(event.newValue));
      } catch {
        // a value we did not write: ignore
      }
    });
  },
};
