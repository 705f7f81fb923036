"""The email a visitor gets when an agent answers a chat that was handed off by email (nobody
was online). Plain text, in the conversation's language."""

from __future__ import annotations

_TEXTS = {
    "en": {
        "subject": "Your question to Fjeld & Fels support",
        "intro": "Hello,\n\n{agent} from our support team has answered your chat:",
        "outro": "You can reply to this email or continue the chat on our website{where}.",
        "regards": "Kind regards,\n{agent}, Fjeld & Fels support",
    },
    "de": {
        "subject": "Ihre Frage an den Kundenservice von Fjeld & Fels",
        "intro": "Hallo,\n\n{agent} aus unserem Kundenservice hat auf Ihren Chat geantwortet:",
        "outro": "Sie können auf diese E-Mail antworten oder den Chat auf unserer Website "
        "fortsetzen{where}.",
        "regards": "Viele Grüße\n{agent}, Kundenservice Fjeld & Fels",
    },
    "da": {
        "subject": "Dit spørgsmål til Fjeld & Fels' kundeservice",
        "intro": "Hej,\n\n{agent} fra vores kundeservice har svaret på din chat:",
        "outro": "Du kan svare på denne e-mail eller fortsætte chatten på vores hjemmeside{where}.",
        "regards": "Venlig hilsen\n{agent}, Fjeld & Fels kundeservice",
    },
}


def agent_reply_email(
    *, lang: str, agent_name: str, text: str, page_url: str | None
) -> tuple[str, str]:
    """(subject, body) of the email that carries an agent's reply."""
    words = _TEXTS.get(lang, _TEXTS["en"])
    where = f" ({page_url})" if page_url else ""
    quoted = "\n".join(f"> {line}" if line else ">" for line in text.splitlines())
    body = "\n\n".join(
        [
            words["intro"].format(agent=agent_name),
            quoted,
            words["outro"].format(where=where),
            words["regards"].format(agent=agent_name),
        ]
    )
    return words["subject"], body + "\n"
