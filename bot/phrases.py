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
        "handoff_live": "I'll connect you with a colleague from our support team. A person will "
        "reply here in about {minutes} minute(s). You don't need to repeat "
        "anything: they can see our conversation.",
        "handoff_email": "Our team isn't online right now. We'll answer by email at {email} by "
        "{time}. You'll also find the answer here in this chat.",
        "handoff_ask_email": "Our team isn't online right now. Please type your email address "
        "and we'll answer by {time}, by email and here in this chat.",
        "email_thanks": "Thank you! We'll reply to {email} by {time}.",
        "email_invalid": "That doesn't look like an email address. Please check it, for example "
        "name@example.com.",
        "waiting": "Thanks, I've added that for our team. A person will reply here soon.",
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
        "no_index": "Sorry, I can't look anything up right now. I'll connect you with our team.",
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
        "handoff_live": "Ich verbinde Sie mit einer Kollegin oder einem Kollegen aus unserem "
        "Kundenservice. Eine Person antwortet hier in etwa {minutes} Minute(n). "
        "Sie müssen nichts wiederholen: Unser Gespräch ist sichtbar.",
        "handoff_email": "Unser Team ist gerade nicht online. Wir antworten per E-Mail an "
        "{email} bis {time}. Die Antwort finden Sie auch hier im Chat.",
        "handoff_ask_email": "Unser Team ist gerade nicht online. Bitte geben Sie Ihre "
        "E-Mail-Adresse ein, dann antworten wir bis {time} per E-Mail und "
        "hier im Chat.",
        "email_thanks": "Vielen Dank! Wir antworten an {email} bis {time}.",
        "email_invalid": "Das sieht nicht wie eine E-Mail-Adresse aus. Bitte prüfen Sie sie, "
        "zum Beispiel name@beispiel.de.",
        "waiting": "Danke, ich habe das für unser Team notiert. Eine Person antwortet hier bald.",
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
        "no_index": "Entschuldigung, ich kann gerade nichts nachschlagen. Ich verbinde Sie mit "
        "unserem Team.",
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
        "handoff_live": "Jeg sætter dig i kontakt med en kollega fra vores kundeservice. En "
        "person svarer her om cirka {minutes} minut(ter). Du behøver ikke at "
        "gentage noget: de kan se vores samtale.",
        "handoff_email": "Vores team er ikke online lige nu. Vi svarer på e-mail til {email} "
        "senest {time}. Du finder også svaret her i chatten.",
        "handoff_ask_email": "Vores team er ikke online lige nu. Skriv din e-mailadresse, så "
        "svarer vi senest {time} på e-mail og her i chatten.",
        "email_thanks": "Tak! Vi svarer til {email} senest {time}.",
        "email_invalid": "Det ligner ikke en e-mailadresse. Tjek den venligst, for eksempel "
        "navn@eksempel.dk.",
        "waiting": "Tak, jeg har noteret det til vores team. En person svarer her snart.",
        "hello": "Hej! Hvordan kan jeg hjælpe dig?",
        "thanks": "Selv tak! Er der andet, jeg kan hjælpe med?",
        "bye": "Farvel, og god tur derude!",
        "how_are_you": "Jeg har det godt, tak fordi du spørger! Hvad kan jeg hjælpe med?",
        "who_are_you": "Jeg er Fjeld & Fels' virtuelle assistent. Jeg svarer ud fra vores "
        "hjælpecenter og kan altid sætte dig i kontakt med en person.",
        "ok": "Fint! Sig til, hvis der er andet.",
        "empty": 'Kan du fortælle lidt mere om dit spørgsmål? For eksempel: "Hvor er min pakke?"',
        "too_long": "Den besked er for lang til mig. Kan du opsummere den i nogle få sætninger?",
        "no_index": "Beklager, jeg kan ikke slå noget op lige nu. Jeg sætter dig i kontakt med "
        "vores team.",
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


def say(key: str, lang: str, **values: object) -> str:
    """The bot's phrase `key` in `lang`, with `{placeholders}` filled in."""
    table = PHRASES.get(lang, PHRASES["en"])
    return table[key].format(**values)


def language_name(code: str, in_lang: str) -> str:
    return LANGUAGE_NAMES.get(in_lang, LANGUAGE_NAMES["en"]).get(code, code)
