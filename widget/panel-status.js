// The lines around the log: whom the visitor talks to or waits for, typing, offline, notices.

export function createStatusLine({ ui, t, lang }) {
  function formatTime(iso) {
    if (!iso) return '';
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return '';
    // In the visitor's own time zone; the weekday only when it is not today.
    const options = { hour: '2-digit', minute: '2-digit' };
    if (date.toDateString() !== new Date().toDateString()) options.weekday = 'short';
    return new Intl.DateTimeFormat(lang, options).format(date);
  }

  function render({ status, handoff, agent }) {
    const name = agent?.name || t('agent');
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
  }

  let typingTimer = 0;
  function typing(on, name) {
    clearTimeout(typingTimer);
    ui.typing.textContent = on ? t('typing', { name: name || t('agent') }) : '';
    // A lost "stopped typing" event must not leave the indicator up forever.
    if (on) typingTimer = setTimeout(() => typing(false), 10000);
  }

  function setOnline(online) {
    ui.conn.hidden = online;
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

  return { render, typing, setOnline, notify };
}
