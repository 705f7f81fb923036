// Thumbs on a bot answer, and stars with a comment once an agent has resolved the chat.

import { api } from './panel-api.js';
import { store } from './panel-store.js';
import { setFeedback } from './panel-view.js';

export function createRating({ ui, t, chat, log, notify }) {
  const votes = store.get('feedback', {}); // message id -> helpful

  async function vote(message, helpful) {
    const before = votes[message.id];
    const group = log.feedbackGroup(message.id);
    // Stored at once: a reload right after the click still shows the vote.
    votes[message.id] = helpful;
    store.set('feedback', votes);
    setFeedback(group, helpful, t);
    try {
      const { id, token } = chat.state.conversation;
      await api('POST', `/conversations/${encodeURIComponent(id)}/feedback`, {
        token, body: { message_id: message.id, helpful },
      });
    } catch {
      votes[message.id] = before;
      store.set('feedback', votes);
      setFeedback(group, before, t);
      notify(t('error'));
    }
  }

  function buildStars() {
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
      ui.stars.append(input, label);
    }
  }

  /** Says the stars, the question and the thanks again in the panel's language now. */
  function relabel() {
    for (const label of ui.stars.querySelectorAll('label.star')) {
      const n = label.htmlFor.replace('star-', '');
      label.title = t('rateStar', { n });
      label.setAttribute('aria-label', t('rateStar', { n }));
    }
    const legend = document.getElementById('rating-legend');
    if (legend) legend.textContent = t('rateTitle', { name: chat.state.agent?.name || t('agent') });
    const thanks = ui.rating.querySelector('.rating-thanks');
    if (thanks) thanks.textContent = t('rateThanks');
  }

  function render() {
    const { state } = chat;
    const show = state.status === 'closed' && state.sawAgent && state.rating == null;
    const wasHidden = ui.rating.hidden;
    const thanked = ui.rating.dataset.thanked && state.status === 'closed';
    ui.rating.hidden = !show && !thanked;
    if (show && wasHidden) {
      const legend = document.getElementById('rating-legend');
      legend.textContent = t('rateTitle', { name: state.agent?.name || t('agent') });
      log.scrollToEnd(true);
    }
  }

  async function submit(event) {
    event.preventDefault();
    const chosen = ui.rating.querySelector('input[name="rating"]:checked');
    if (!chosen || !chat.state.conversation) return;
    const { id, token } = chat.state.conversation;
    const comment = document.getElementById('rating-comment').value.trim();
    const body = { rating: Number(chosen.value) };
    if (comment) body.comment = comment;
    try {
      await api('POST', `/conversations/${encodeURIComponent(id)}/rating`, { token, body });
      chat.state.rating = body.rating;
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

  return { votes, vote, buildStars, relabel, render, submit };
}
