// The email field: shown while the team is away and the bot offered the answer by email too.
// A real input (type=email, checked here, and again by the server) instead of chat text.

import { store } from './panel-store.js';

export function createEmailField({ ui, t, send }) {
  const form = ui.email;
  const input = form.querySelector('input');
  const error = form.querySelector('.email-error');
  let offer = ''; // the handoff the field belongs to ("No thanks" is remembered for it)

  function render({ status, handoff }) {
    offer = handoff?.answer_by || '';
    form.hidden = !(status === 'waiting' && handoff?.ask_email && store.get('emailSkip') !== offer);
  }

  function invalid(on) {
    error.hidden = !on;
    error.textContent = on ? t('emailInvalid') : '';
    if (on) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    input.value = input.value.trim();
    if (!input.checkValidity()) {
      invalid(true);
      input.focus();
      return;
    }
    invalid(false);
    send(input.value);
    input.value = '';
    form.hidden = true; // the server's status says whether it took the address
    ui.input.focus();
  });
  input.addEventListener('input', () => {
    if (!error.hidden && input.checkValidity()) invalid(false);
  });
  form.querySelector('.skip').addEventListener('click', () => {
    store.set('emailSkip', offer);
    form.hidden = true;
    ui.input.focus();
  });

  function relabel() {
    if (!error.hidden) error.textContent = t('emailInvalid');
  }

  return { render, relabel };
}
