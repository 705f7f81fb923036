// UI text of the panel in English, German and Danish. Message text comes from the server.

const STRINGS = {
  en: {
    title: 'Support',
    close: 'Close chat',
    messages: 'Messages',
    handoff: 'Talk to a person',
    placeholder: 'Type your message…',
    inputLabel: 'Your message',
    send: 'Send',
    greeting: 'Hi! How can we help you today?',
    you: 'You',
    bot: 'Assistant',
    agent: 'Support team',
    said: '{name}:',
    source: 'Source:',
    sources: 'Sources:',
    helpful: 'Helpful',
    notHelpful: 'Not helpful',
    thanks: 'Thanks for your feedback!',
    statusBot: 'Virtual assistant · answers right away',
    waitMinutes: 'Waiting for a person · about {n} min',
    waitSoon: 'Waiting for a person · someone will be with you shortly',
    waitLater: 'Our team is away · they will answer here by {time}',
    waitEmailTo: 'Our team is away · answer by {time}, here and to {email}',
    dayAt: '{day} at {clock}',
    nextWeek: '{day} next week',
    emailLabel: 'Your email address, for the answer by email too',
    emailSend: 'Send address',
    emailSkip: 'No thanks',
    emailPlaceholder: 'name@example.com',
    emailInvalid: 'Please enter an email address like name@example.com.',
    withAgent: 'You are chatting with {name}',
    closed: 'Chat resolved · write again any time',
    typing: '{name} is typing…',
    rateTitle: 'How did {name} do?',
    rateStar: '{n} of 5 stars',
    rateComment: 'Comment (optional)',
    rateSubmit: 'Send rating',
    rateThanks: 'Thank you for your rating!',
    sending: 'Sending…',
    queued: 'Waiting for the connection · will be sent automatically',
    failed: 'Not sent',
    offline: 'You are offline. Messages will be sent when the connection is back.',
    error: 'Something went wrong. Please try again.',
    handoffOffline: 'You are offline. Please try again when the connection is back.',
  },
  de: {
    title: 'Kundenservice',
    close: 'Chat schließen',
    messages: 'Nachrichten',
    handoff: 'Mit einem Menschen sprechen',
    placeholder: 'Nachricht schreiben…',
    inputLabel: 'Ihre Nachricht',
    send: 'Senden',
    greeting: 'Hallo! Wie können wir Ihnen helfen?',
    you: 'Sie',
    bot: 'Assistent',
    agent: 'Kundenservice',
    said: '{name}:',
    source: 'Quelle:',
    sources: 'Quellen:',
    helpful: 'Hilfreich',
    notHelpful: 'Nicht hilfreich',
    thanks: 'Danke für Ihr Feedback!',
    statusBot: 'Virtueller Assistent · antwortet sofort',
    waitMinutes: 'Warten auf eine Person · etwa {n} Min.',
    waitSoon: 'Warten auf eine Person · gleich ist jemand für Sie da',
    waitLater: 'Unser Team ist nicht da · Antwort hier bis {time}',
    waitEmailTo: 'Unser Team ist nicht da · Antwort bis {time}, hier und an {email}',
    dayAt: '{day} um {clock} Uhr',
    nextWeek: '{day} nächster Woche',
    emailLabel: 'Ihre E-Mail-Adresse, für die Antwort auch per E-Mail',
    emailSend: 'Adresse senden',
    emailSkip: 'Nein danke',
    emailPlaceholder: 'name@beispiel.de',
    emailInvalid: 'Bitte geben Sie eine E-Mail-Adresse wie name@beispiel.de ein.',
    withAgent: 'Sie chatten mit {name}',
    closed: 'Chat erledigt · Sie können jederzeit wieder schreiben',
    typing: '{name} schreibt…',
    rateTitle: 'Wie hat {name} Ihnen geholfen?',
    rateStar: '{n} von 5 Sternen',
    rateComment: 'Kommentar (optional)',
    rateSubmit: 'Bewertung senden',
    rateThanks: 'Vielen Dank für Ihre Bewertung!',
    sending: 'Wird gesendet…',
    queued: 'Warten auf Verbindung · wird automatisch gesendet',
    failed: 'Nicht gesendet',
    offline: 'Sie sind offline. Nachrichten werden gesendet, sobald die Verbindung zurück ist.',
    error: 'Etwas ist schiefgelaufen. Bitte versuchen Sie es erneut.',
    handoffOffline: 'Sie sind offline. Bitte versuchen Sie es erneut, wenn die Verbindung zurück ist.',
  },
  da: {
    title: 'Kundeservice',
    close: 'Luk chat',
    messages: 'Beskeder',
    handoff: 'Tal med et menneske',
    placeholder: 'Skriv din besked…',
    inputLabel: 'Din besked',
    send: 'Send',
    greeting: 'Hej! Hvordan kan vi hjælpe dig?',
    you: 'Dig',
    bot: 'Assistent',
    agent: 'Kundeservice',
    said: '{name}:',
    source: 'Kilde:',
    sources: 'Kilder:',
    helpful: 'Nyttigt',
    notHelpful: 'Ikke nyttigt',
    thanks: 'Tak for din feedback!',
    statusBot: 'Virtuel assistent · svarer med det samme',
    waitMinutes: 'Venter på en medarbejder · ca. {n} min.',
    waitSoon: 'Venter på en medarbejder · der er snart nogen hos dig',
    waitLater: 'Vores team er ikke til stede · svar her senest {time}',
    waitEmailTo: 'Vores team er ikke til stede · svar senest {time}, her og til {email}',
    dayAt: '{day} kl. {clock}',
    nextWeek: '{day} i næste uge',
    emailLabel: 'Din e-mailadresse, så du også får svaret på e-mail',
    emailSend: 'Send adresse',
    emailSkip: 'Nej tak',
    emailPlaceholder: 'navn@eksempel.dk',
    emailInvalid: 'Skriv en e-mailadresse som navn@eksempel.dk.',
    withAgent: 'Du chatter med {name}',
    closed: 'Chatten er løst · skriv igen når som helst',
    typing: '{name} skriver…',
    rateTitle: 'Hvordan hjalp {name} dig?',
    rateStar: '{n} af 5 stjerner',
    rateComment: 'Kommentar (valgfri)',
    rateSubmit: 'Send bedømmelse',
    rateThanks: 'Tak for din bedømmelse!',
    sending: 'Sender…',
    queued: 'Venter på forbindelse · sendes automatisk',
    failed: 'Ikke sendt',
    offline: 'Du er offline. Beskeder sendes, når forbindelsen er tilbage.',
    error: 'Noget gik galt. Prøv venligst igen.',
    handoffOffline: 'Du er offline. Prøv igen, når forbindelsen er tilbage.',
  },
};

export function pickLanguage(code) {
  const short = String(code || '').toLowerCase().split(/[-_]/)[0];
  return STRINGS[short] ? short : 'en';
}

/** Returns t(key, vars): the string in `lang`, English when a key is missing. */
export function translator(lang) {
  const table = STRINGS[pickLanguage(lang)];
  return function t(key, vars) {
    const text = table[key] ?? STRINGS.en[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, name) => (vars && vars[name] != null ? vars[name] : ''));
  };
}

/**
 * The panel's words in the conversation's language, which the server may change mid-chat:
 * `t` always reads the current table, `set(code)` says whether the language changed.
 */
export function createI18n(initial) {
  let lang = pickLanguage(initial);
  let t = translator(lang);
  return {
    t: (key, vars) => t(key, vars),
    get lang() {
      return lang;
    },
    set(code) {
      const next = pickLanguage(code);
      if (next === lang) return false;
      lang = next;
      t = translator(lang);
      return true;
    },
  };
}

/** Fills the static markup: data-i18n (text), -label (aria-label), -placeholder. */
export function translatePage(doc, t, lang) {
  doc.documentElement.lang = pickLanguage(lang);
  for (const node of doc.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of doc.querySelectorAll('[data-i18n-label]')) {
    node.setAttribute('aria-label', t(node.dataset.i18nLabel));
  }
  for (const node of doc.querySelectorAll('[data-i18n-placeholder]')) {
    node.setAttribute('placeholder', t(node.dataset.i18nPlaceholder));
  }
}
