"""Everything the bot says in its own words, in English, German and Danish.

`say(key, lang, **values)` falls back to English only for a language that has no table at all;
a test checks that every key exists in every language.
"""

from __future__ import annotations

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "greeting": "Hi! I'm the Fjeld & Fels assistant. Ask me anything about orders, delivery, "
        "returns or payment. I can also connect you with a person.",
        "clarify": "I'm not completely sure what you mean. Is it one of these?",
        "clarify_one": "I think this article might help. Is this what you're looking for?",
        "other_language": "(This article is only available in {language}.)",
        # A handoff message: why (one of these) ...
        "why_low_confidence": "I couldn't find an answer to that in our help centre, so I've "
        "passed your question on to our support team.",
        "why_visitor_request": "Of course. I've passed our chat on to our support team.",
        "why_repeated_miss": "My answers don't seem to have helped, so I've passed our chat on "
        "to our support team.",
        "why_negative_feedback": "I'm sorry my answer didn't help. I've passed our chat on to "
        "our support team.",
        "why_no_index": "Sorry, I can't look anything up right now, so I've passed your "
        "question on to our support team.",
        # ... then what happens next, and when ({when}: "in about 5 minutes", "by tomorrow at
        # 10:00 (Berlin time)").
        "handoff_live": "A person will reply here in this chat {when}. You don't need to repeat "
        "anything: they can see our conversation.",
        "handoff_offline": "Nobody is online right now, so a person will answer you here in "
        "this chat {when}.",
        "handoff_email": "Nobody is online right now, so a person will answer {when}, by "
        "email to {email} and here in this chat.",
        "chat_stays": "You don't need to wait: the chat stays available on this page, and "
        "you'll find the answer here when you come back.",
        "email_offer": "If you'd also like the answer by email, enter your address below.",
        "email_thanks": "Thank you! We'll answer {when}, by email to {email} and here in this "
        "chat.",
        # While the chat waits in the team's queue.
        "queue_person": "You're already in the queue for our support team: a person will "
        "reply here {when}. You don't need to do anything else.",
        "queue_ack": "Thanks, I've added that to our conversation. The team will see it when "
        "they answer you here.",
        # The words of a promised time.
        "in_a_minute": "in about a minute",
        "in_minutes": "in about {minutes} minutes",
        "shortly": "shortly",
        "by_time": "by {time}",
        "today": "today",
        "tomorrow": "tomorrow",
        "next_week": "{day} next week",
        "day_at": "{day} at {clock}",
        "clock": "{hour}:{minute}",
        "zone": "{city} time",
        "email_invalid": "That doesn't look like an email address. Please check it, for example "
        "name@example.com.",
        "hello": "Hello! How can I help you today?",
        "thanks": "You're welcome! Is there anything else I can help with?",
        "bye": "Goodbye, and have a great day outdoors!",
        "how_are_you": "I'm doing well, thanks for asking! What can I help you with?",
        "who_are_you": "I'm the Fjeld & Fels virtual assistant. I answer from our help centre "
        "and can connect you with a person at any time.",
        "ok": "Great! Let me know if there's anything else.",
        "empty": "Could you tell me a bit more about your question? For example: "
        '"Where is my parcel?"',
        "too_long": "That message is too long for me. Could you sum it up in a few sentences?",
        "agent_joined": "{name} joined the chat.",
        "agent_left": "{name} left the chat. A colleague will take over shortly.",
        "resolved": "{name} marked this chat as resolved. You can keep writing any time.",
        "back_to_bot": "{name} handed the chat back to the assistant.",
        "source": "Source",
    },
    "de": {
        "greeting": "Hallo! Ich bin der Assistent von Fjeld & Fels. Fragen Sie mich alles zu "
        "Bestellung, Lieferung, Rücksendung oder Zahlung. Ich kann Sie auch mit "
        "einem Menschen verbinden.",
        "clarify": "Ich bin mir nicht ganz sicher, was Sie meinen. Ist es eines davon?",
        "clarify_one": "Dieser Artikel könnte helfen. Suchen Sie das?",
        "other_language": "(Diesen Artikel gibt es nur auf {language}.)",
        "why_low_confidence": "Dazu habe ich in unserem Hilfe-Center keine Antwort gefunden. "
        "Deshalb habe ich Ihre Frage an unseren Kundenservice weitergegeben.",
        "why_visitor_request": "Gern. Ich habe unser Gespräch an unseren Kundenservice "
        "weitergegeben.",
        "why_repeated_miss": "Meine Antworten haben Ihnen offenbar nicht weitergeholfen. Deshalb "
        "habe ich unser Gespräch an unseren Kundenservice weitergegeben.",
        "why_negative_feedback": "Schade, dass meine Antwort nicht geholfen hat. Ich habe unser "
        "Gespräch an unseren Kundenservice weitergegeben.",
        "why_no_index": "Entschuldigung, ich kann gerade nichts nachschlagen. Deshalb habe ich "
        "Ihre Frage an unseren Kundenservice weitergegeben.",
        "handoff_live": "Eine Person antwortet Ihnen hier im Chat {when}. Sie müssen nichts "
        "wiederholen: Unser Gespräch ist für sie sichtbar.",
        "handoff_offline": "Gerade ist niemand online, deshalb antwortet Ihnen eine Person hier "
        "im Chat {when}.",
        "handoff_email": "Gerade ist niemand online, deshalb antwortet Ihnen eine Person "
        "{when}, per E-Mail an {email} und hier im Chat.",
        "chat_stays": "Sie müssen nicht warten: Der Chat bleibt auf dieser Seite erhalten, und "
        "Sie finden die Antwort hier, wenn Sie wiederkommen.",
        "email_offer": "Wenn Sie die Antwort auch per E-Mail möchten, geben Sie unten Ihre "
        "Adresse ein.",
        "email_thanks": "Vielen Dank! Wir antworten {when}, per E-Mail an {email} und hier im "
        "Chat.",
        "queue_person": "Sie sind schon in der Warteschlange unseres Kundenservice: Eine Person "
        "antwortet Ihnen hier {when}. Sie müssen nichts weiter tun.",
        "queue_ack": "Danke, ich habe das zu unserem Gespräch hinzugefügt. Das Team sieht es, "
        "wenn es Ihnen hier antwortet.",
        "in_a_minute": "in etwa einer Minute",
        "in_minutes": "in etwa {minutes} Minuten",
        "shortly": "in Kürze",
        "by_time": "bis {time}",
        "today": "heute",
        "tomorrow": "morgen",
        "next_week": "{day} nächster Woche",
        "day_at": "{day} um {clock}",
        "clock": "{hour}:{minute} Uhr",
        "zone": "Ortszeit {city}",
        "email_invalid": "Das sieht nicht wie eine E-Mail-Adresse aus. Bitte prüfen Sie sie, "
        "zum Beispiel name@beispiel.de.",
        "hello": "Hallo! Wie kann ich Ihnen helfen?",
        "thanks": "Gern geschehen! Kann ich sonst noch etwas für Sie tun?",
        "bye": "Auf Wiedersehen und viel Freude draußen!",
        "how_are_you": "Mir geht es gut, danke der Nachfrage! Wobei kann ich helfen?",
        "who_are_you": "Ich bin der virtuelle Assistent von Fjeld & Fels. Ich antworte aus "
        "unserem Hilfe-Center und verbinde Sie jederzeit mit einem Menschen.",
        "ok": "Prima! Melden Sie sich, wenn Sie noch etwas brauchen.",
        "empty": "Können Sie mir etwas mehr zu Ihrer Frage sagen? Zum Beispiel: "
        "„Wo ist mein Paket?“",
        "too_long": "Diese Nachricht ist zu lang für mich. Können Sie sie in ein paar Sätzen "
        "zusammenfassen?",
        "agent_joined": "{name} ist dem Chat beigetreten.",
        "agent_left": "{name} hat den Chat verlassen. Gleich übernimmt eine Kollegin oder ein "
        "Kollege.",
        "resolved": "{name} hat diesen Chat als gelöst markiert. Sie können jederzeit "
        "weiterschreiben.",
        "back_to_bot": "{name} hat den Chat an den Assistenten zurückgegeben.",
        "source": "Quelle",
    },
    "da": {
        "greeting": "Hej! Jeg er Fjeld & Fels' assistent. Spørg mig om ordrer, levering, "
        "returnering eller betaling. Jeg kan også sætte dig i kontakt med en person.",
        "clarify": "Jeg er ikke helt sikker på, hvad du mener. Er det en af disse?",
        "clarify_one": "Denne artikel kan måske hjælpe. Er det det, du leder efter?",
        "other_language": "(Denne artikel findes kun på {language}.)",
        "why_low_confidence": "Jeg kunne ikke finde et svar på det i vores hjælpecenter, så jeg "
        "har givet dit spørgsmål videre til vores kundeservice.",
        "why_visitor_request": "Selvfølgelig. Jeg har givet vores samtale videre til vores "
        "kundeservice.",
        "why_repeated_miss": "Mine svar ser ikke ud til at have hjulpet, så jeg har givet vores "
        "samtale videre til vores kundeservice.",
        "why_negative_feedback": "Beklager, at mit svar ikke hjalp. Jeg har givet vores samtale "
        "videre til vores kundeservice.",
        "why_no_index": "Beklager, jeg kan ikke slå noget op lige nu, så jeg har givet dit "
        "spørgsmål videre til vores kundeservice.",
        "handoff_live": "En medarbejder svarer dig her i chatten {when}. Du behøver ikke at "
        "gentage noget: de kan se vores samtale.",
        "handoff_offline": "Der er ingen online lige nu, så en medarbejder svarer dig her i "
        "chatten {when}.",
        "handoff_email": "Der er ingen online lige nu, så en medarbejder svarer dig {when}, på "
        "e-mail til {email} og her i chatten.",
        "chat_stays": "Du behøver ikke at vente: chatten bliver her på siden, og du finder "
        "svaret her, når du kommer tilbage.",
        "email_offer": "Hvis du også vil have svaret på e-mail, så skriv din adresse nedenfor.",
        "email_thanks": "Tak! Vi svarer {when}, på e-mail til {email} og her i chatten.",
        "queue_person": "Du står allerede i kø hos vores kundeservice: en medarbejder svarer "
        "dig her {when}. Du behøver ikke at gøre mere.",
        "queue_ack": "Tak, jeg har føjet det til vores samtale. Teamet ser det, når de svarer "
        "dig her.",
        "in_a_minute": "om cirka et minut",
        "in_minutes": "om cirka {minutes} minutter",
        "shortly": "om lidt",
        "by_time": "senest {time}",
        "today": "i dag",
        "tomorrow": "i morgen",
        "next_week": "{day} i næste uge",
        "day_at": "{day} kl. {clock}",
        "clock": "{hour}.{minute}",
        "zone": "tid i {city}",
        "email_invalid": "Det ligner ikke en e-mailadresse. Tjek den venligst, for eksempel "
        "navn@eksempel.dk.",
        "hello": "Hej! Hvordan kan jeg hjælpe dig?",
        "thanks": "Selv tak! Er der andet, jeg kan hjælpe med?",
        "bye": "Farvel, og god tur derude!",
        "how_are_you": "Jeg har det godt, tak fordi du spørger! Hvad kan jeg hjælpe med?",
        "who_are_you": "Jeg er Fjeld & Fels' virtuelle assistent. Jeg svarer ud fra vores "
        "hjælpecenter og kan altid sætte dig i kontakt med en person.",
        "ok": "Fint! Sig til, hvis der er andet.",
        "empty": 'Kan du fortælle lidt mere om dit spørgsmål? For eksempel: "Hvor er min pakke?"',
        "too_long": "Den besked er for lang til mig. Kan du opsummere den i nogle få sætninger?",
        "agent_joined": "{name} er kommet med i chatten.",
        "agent_left": "{name} har forladt chatten. En kollega tager over om lidt.",
        "resolved": "{name} har markeret chatten som løst. Du kan altid skrive igen.",
        "back_to_bot": "{name} har givet chatten tilbage til assistenten.",
        "source": "Kilde",
    },
}

LANGUAGE_NAMES = {
    "en": {"en": "English", "de": "German", "da": "Danish"},
    "de": {"en": "Englisch", "de": "Deutsch", "da": "Dänisch"},
    "da": {"en": "engelsk", "de": "tysk", "da": "dansk"},
}


WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "da": ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"),
}

# How a visitor names a business time zone, where the city's name (or "Ortszeit Berlin") is not
# what a German or Dane would write. Any other zone reads as the "zone" phrase of its city.
ZONE_NAMES = {
    "Europe/Berlin": {"de": "Berliner Zeit", "da": "tysk tid"},
    "Europe/Copenhagen": {"de": "dänische Zeit", "da": "dansk tid"},
    "Europe/Vienna": {"de": "Wiener Zeit", "da": "østrigsk tid"},
    "Europe/Zurich": {"de": "Schweizer Zeit", "da": "schweizisk tid"},
    "Europe/Stockholm": {"de": "schwedische Zeit", "da": "svensk tid"},
    "Europe/Oslo": {"de": "norwegische Zeit", "da": "norsk tid"},
    "Europe/London": {"de": "britische Zeit", "da": "britisk tid"},
    "UTC": {"en": "UTC", "de": "UTC", "da": "UTC"},
    "Etc/UTC": {"en": "UTC", "de": "UTC", "da": "UTC"},
}


def zone_name(zone: str, lang: str) -> str:
    """ "Berlin time", "Berliner Zeit", "dansk tid", "Ortszeit New York": a time zone as a
    visitor reads it, in `lang`."""
    named = ZONE_NAMES.get(zone, {}).get(lang)
    if named:
        return named
    city = zone.rsplit("/", 1)[-1].replace("_", " ")
    return say("zone", lang, city=city)


def say(key: str, lang: str, **values: object) -> str:
    """The bot's phrase `key` in `lang`, with `{placeholders}` filled in."""
    table = PHRASES.get(lang, PHRASES["en"])
    return table[key].format(**values)


def language_name(code: str, in_lang: str) -> str:
    return LANGUAGE_NAMES.get(in_lang, LANGUAGE_NAMES["en"]).get(code, code)
