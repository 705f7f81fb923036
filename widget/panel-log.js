// The message log: server messages in seq order, unconfirmed ones after them, the greeting
// before the first message, and the scroll position. Rows are built in panel-view.js.

import { greetingRow, messageRow, pendingRow, setPendingState } from './panel-view.js';

/** view: messageRow's ctx; welcome(): the greeting's text (in the panel's language now). */
export function createLog({ node, t, view, welcome }) {
  const rows = new Map(); // "m<id>" | "c<client_id>" | "greeting" -> row element
  const confirmed = new Set(); // client_ids whose message the server has shown us

  function nearEnd() {
    return node.scrollHeight - node.scrollTop - node.clientHeight < 80;
  }

  function scrollToEnd(force) {
    if (force || nearEnd()) node.scrollTop = node.scrollHeight;
  }

  function dropGreeting() {
    rows.get('greeting')?.remove();
    rows.delete('greeting');
  }

  /** Puts a server row in seq order, before any pending (unconfirmed) rows. */
  function placeRow(row, seq) {
    let before = null;
    for (const other of node.children) {
      if (other.classList.contains('pending') || Number(other.dataset.seq) > seq) {
        before = other;
        break;
      }
    }
    if (row.nextSibling === before && row.parentNode === node) return;
    node.insertBefore(row, before);
  }

  function showMessage(message, clientId) {
    const key = `m${message.id}`;
    const old = rows.get(key);
    const pending = clientId ? rows.get(`c${clientId}`) : null;
    if (clientId) confirmed.add(clientId);
    if (old && pending) {
      pending.remove();
      rows.delete(`c${clientId}`);
    }
    if (old && old.dataset.text === message.text) return; // already shown
    dropGreeting();
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
      row = messageRow(message, view);
      old?.replaceWith(row);
    }
    row.dataset.text = message.text;
    rows.set(key, row);
    placeRow(row, message.seq);
    refreshQuickReplies();
  }

  function showGreeting() {
    if (rows.has('greeting')) return;
    const row = greetingRow(welcome(), t);
    rows.set('greeting', row);
    node.prepend(row);
  }

  /** state: "sending" | "queued" | "failed". */
  function showPending(item, pendingState, detail) {
    if (confirmed.has(item.client_id)) return;
    let row = rows.get(`c${item.client_id}`);
    if (!row) {
      dropGreeting();
      row = pendingRow(item, t);
      rows.set(`c${item.client_id}`, row);
      node.append(row);
    }
    setPendingState(row, pendingState, t, detail);
  }

  /** Builds every row again in the panel's language now (labels, sources, pending states). */
  function redraw(messages) {
    for (const message of messages) {
      const old = rows.get(`m${message.id}`);
      if (!old) continue;
      const row = messageRow(message, view);
      row.dataset.text = message.text;
      old.replaceWith(row);
      rows.set(`m${message.id}`, row);
    }
    const greeting = rows.get('greeting');
    if (greeting) {
      const row = greetingRow(welcome(), t);
      greeting.replaceWith(row);
      rows.set('greeting', row);
    }
    for (const [key, row] of rows) {
      if (!key.startsWith('c')) continue;
      row.querySelector('.who').textContent = t('you');
      setPendingState(row, row.dataset.state, t, row.dataset.detail);
    }
    refreshQuickReplies();
  }

  function hasPending(clientId) {
    return rows.has(`c${clientId}`);
  }

  /** Quick replies only make sense on the latest clarify question. */
  function refreshQuickReplies() {
    let laterVisitor = node.querySelector('.pending') !== null;
    for (const row of [...node.children].reverse()) {
      if (row.classList.contains('from-visitor')) laterVisitor = true;
      const quick = row.querySelector('.quick');
      if (quick) quick.hidden = laterVisitor;
    }
  }

  function feedbackGroup(messageId) {
    return rows.get(`m${messageId}`)?.querySelector('.feedback');
  }

  function clear(keepPending) {
    for (const [key, row] of rows) {
      if (!key.startsWith('c') || !keepPending) {
        row.remove();
        rows.delete(key);
      }
    }
  }

  return { nearEnd, scrollToEnd, showMessage, showGreeting, showPending, hasPending,
    refreshQuickReplies, feedbackGroup, clear, redraw };
}
