// The lines around the log: whom the visitor talks to or waits for, typing, offline, notices.

/** lang(): the language the panel speaks now (the conversation's). */
export function createStatusLine({ ui, t, lang }) {
  // The promised time in the business time zone the server names, so the header says what
  // the handoff message said ("tomorrow at 10:00 (Berlin time)") whatever the visitor's own
  // zone; worked out now, so it still reads right after midnight. Day and clock are formatted
  // in the panel's language, the zone's name comes from the server in the conversation's:
  // the panel speaks the conversation's language, so the line is in one language.
  function formatTime({ answer_by: iso, time_zone: timeZone, zone_name: zone }) {
    const date = new Date(iso || '');
    if (!timeZone || Number.isNaN(date.getTime())) return '';
    try {
      const locale = lang();
      const fmt = (options) => new Intl.DateTimeFormat(locale, { timeZone, ...options }).format(date);
      const ymd = (d) => Date.parse(new Intl.DateTimeFormat('en-CA', { timeZone }).format(d));
      const days = Math.round((ymd(date) - ymd(new Date())) / 864e5);
      let day = days > 1 ? fmt({ weekday: 'long' })
        : new Intl.RelativeTimeFormat(locale, { numeric: 'auto' }).format(Math.max(days, 0), 'day');
      if (days >= 7) day = t('nextWeek', { day });
      const clock = fmt({ hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
      return `${t('dayAt', { day, clock })} (${zone || timeZone})`;
    } catch {
      return ''; // a zone this browser does not know
    }
  }

  function render({ status, handoff, agent }) {
    const name = agent?.name || t('agent');
    let text = t('statusBot');
    if (status === 'waiting') {
      const time = handoff && handoff.mode !== 'live' ? formatTime(handoff) : '';
      if (time && handoff.email) text = t('waitEmailTo', { time, email: handoff.email });
      else if (time) text = t('waitLater', { time });
      else if (handoff?.wait_minutes != null) {
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
