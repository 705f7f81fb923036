// Builds the DOM of one message row. Message text only ever reaches the page through
// renderText (text nodes) and textContent.

import { externalLink, renderText, safeUrl } from './panel-text.js';

const SVG = 'http://www.w3.org/2000/svg';
const THUMB = 'M7 11v9H4v-9zm0 0l4-8a2 2 0 0 1 2 2v4h5.5a2 2 0 0 1 2 2.3l-1.2 7A2 2 0 0 1 ' +
  '17.3 20H7';

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

function icon(path, flip) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  if (flip) svg.classList.add('flip');
  const shape = document.createElementNS(SVG, 'path');
  shape.setAttribute('d', path);
  svg.append(shape);
  return svg;
}

function author(message, t) {
  if (message.role === 'visitor') return t('you');
  if (message.role === 'agent') return message.agent_name || t('agent');
  return t('bot');
}

function sourcesLine(sources, t) {
  const line = el('p', 'sources', sources.length > 1 ? t('sources') : t('source'));
  sources.forEach((source, i) => {
    line.append(i ? ', ' : ' ');
    const href = safeUrl(source.url);
    const title = source.title || source.article_id || '';
    line.append(href ? externalLink(href, title) : el('span', null, title));
  });
  return line;
}

function quickReplies(message, onQuickReply) {
  const group = el('div', 'quick');
  group.setAttribute('role', 'group');
  for (const reply of message.quick_replies) {
    const button = el('button', 'chip', reply.title);
    button.type = 'button';
    button.addEventListener('click', () => onQuickReply(reply));
    group.append(button);
  }
  return group;
}

function feedbackButtons(message, ctx) {
  const group = el('div', 'feedback');
  group.setAttribute('role', 'group');
  const thanks = el('span', 'thanks');
  for (const helpful of [true, false]) {
    const button = el('button', 'thumb');
    button.type = 'button';
    button.dataset.helpful = String(helpful);
    button.setAttribute('aria-label', helpful ? ctx.t('helpful') : ctx.t('notHelpful'));
    button.title = button.getAttribute('aria-label');
    button.append(icon(THUMB, !helpful));
    button.addEventListener('click', () => ctx.onFeedback(message, helpful));
    group.append(button);
  }
  group.append(thanks);
  setFeedback(group, ctx.feedback[message.id], ctx.t);
  return group;
}

/** Marks the chosen thumb (aria-pressed) after a vote. */
export function setFeedback(group, helpful, t) {
  if (!group) return;
  for (const button of group.querySelectorAll('.thumb')) {
    button.setAttribute('aria-pressed', String(helpful === (button.dataset.helpful === 'true')));
  }
  group.querySelector('.thanks').textContent = helpful == null ? '' : t('thanks');
}

/**
 * A row for a server message. ctx: {t, feedback, greeting, onFeedback, onQuickReply}.
 * Greeting messages show the host's data-greeting when one was given.
 */
export function messageRow(message, ctx) {
  const row = el('div', `row from-${message.role} kind-${message.kind || 'text'}`);
  row.dataset.seq = String(message.seq ?? '');
  if (message.role === 'system') {
    row.append(el('p', 'system', message.text));
    return row;
  }
  const who = el('p', message.role === 'agent' ? 'who' : 'who sr-only', author(message, ctx.t));
  const bubble = el('div', 'bubble');
  const text = message.kind === 'greeting' && ctx.greeting ? ctx.greeting : message.text;
  bubble.append(renderText(text));
  row.append(who, bubble);
  if (message.role === 'bot') {
    const sources = (message.sources || []).filter((s) => s && (s.title || s.url));
    if (sources.length && message.kind !== 'clarify') row.append(sourcesLine(sources, ctx.t));
    if (message.kind === 'clarify' && message.quick_replies?.length) {
      row.append(quickReplies(message, ctx.onQuickReply));
    }
    if (message.kind === 'answer') row.append(feedbackButtons(message, ctx));
  }
  return row;
}

/** A visitor message that the server has not confirmed yet. */
export function pendingRow(item, t) {
  const row = el('div', 'row from-visitor pending');
  const bubble = el('div', 'bubble');
  bubble.append(renderText(item.text));
  row.append(el('p', 'who sr-only', t('you')), bubble, el('p', 'state'));
  return row;
}

/** state: "sending" | "queued" | "failed" (+ detail). */
export function setPendingState(row, state, t, detail) {
  row.dataset.state = state;
  if (detail) row.dataset.detail = detail;
  else delete row.dataset.detail;
  const line = row.querySelector('.state');
  if (line) line.textContent = detail ? `${t(state)}: ${detail}` : t(state);
}

/** The local greeting shown before a conversation exists. */
export function greetingRow(text, t) {
  return messageRow({ id: 'greeting', role: 'bot', kind: 'greeting', text, sources: [] }, {
    t,
    feedback: {},
    greeting: text,
  });
}
