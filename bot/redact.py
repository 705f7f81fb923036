"""Personal data out of text: e-mail addresses, phone numbers, IBANs and card numbers.

`redact` replaces each with a marker (`[email]`, `[phone]`, `[iban]`, `[card]`). A candidate
IBAN must pass its mod-97 check and a card number the Luhn check, so order numbers and dates
stay readable. Logs are always redacted (`install_log_redaction`, called by the app and the
command line), which also blanks credentials in URLs and `Authorization` values; stored visitor
messages and what a chat model is sent are redacted when the settings say so.
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Any

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_PHONE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)\d{1,3}|\(?0\d{1,5}\)?)(?:[ ./-]?\(?\d+\)?){1,6}(?![\w])"
)
_DATE = re.compile(r"\d{1,2}([./-])\d{1,2}\1\d{2,4}")
_URL_SECRET = re.compile(r"(?i)([?&](?:ticket|access_token|token|user_hash)=)[^&\s\"']+")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")


def redact(text: str) -> str:
    """`text` with e-mail addresses, IBANs, card numbers and phone numbers replaced."""
    text = _EMAIL.sub("[email]", text)
    text = _IBAN.sub(lambda m: "[iban]" if _iban_ok(m.group()) else m.group(), text)
    text = _CARD.sub(lambda m: "[card]" if _luhn_ok(m.group()) else m.group(), text)
    return _PHONE.sub(_phone, text)


def redact_log(text: str) -> str:
    """`redact`, plus tokens in URLs (`?ticket=`, `?access_token=`) and bearer headers."""
    text = _URL_SECRET.sub(r"\1[redacted]", text)
    text = _BEARER.sub(r"\1[redacted]", text)
    return redact(text)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _luhn_ok(text: str) -> bool:
    digits = _digits(text)
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        value = int(ch) * (2 if i % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _iban_ok(text: str) -> bool:
    compact = text.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def _phone(match: re.Match[str]) -> str:
    found = match.group()
    if _DATE.fullmatch(found) or not 7 <= len(_digits(found)) <= 15:
        return found
    return "[phone]"


class RedactingFilter(logging.Filter):
    """Rewrites a record's message, arguments and traceback with `redact_log`. The message is
    formatted first; only uvicorn's access records keep their arguments, redacted one by one,
    because its formatter unpacks them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted", False):
            return True
        if record.name != "uvicorn.access":
            # the whole message: arguments of any type (an exception, a number) included; a
            # broken format string is left for logging to report when it formats
            with contextlib.suppress(Exception):
                record.msg, record.args = redact_log(record.getMessage()), None
        if isinstance(record.msg, str):
            record.msg = redact_log(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_scrub(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _scrub(value) for key, value in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_log(logging.Formatter().formatException(record.exc_info))
        record._redacted = True
        return True


def _scrub(value: Any) -> Any:
    return redact_log(value) if isinstance(value, str) else value


def install_log_redaction() -> None:
    """Redact every log record of this process, whichever logger or handler it goes to.

    Installed as the record factory rather than on handlers, because uvicorn, the command line
    and tests each set up handlers of their own, at different times. Idempotent."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacts", False):
        return
    redactor = RedactingFilter()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        redactor.filter(record)
        return record

    factory.redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
