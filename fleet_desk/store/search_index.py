"""Search keys of an order, kept beside it so a lookup is a few index probes, never a scan.

Names and streets become folded words (case and accents gone: "Élodie" ->
"elodie"), each a row of `lookup_terms`, so a prefix of any word finds the
order. Phones become E.164 ("+33412345678") whatever the formatting, national
numbers read with the depot's region; a national number no region vouches for
keeps its digits ("0412345678"), and a lookup tries both. E-mails are
lower-cased.
"""

from __future__ import annotations

import locale
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

import phonenumbers
from sqlalchemy import Connection, delete, insert, select

from fleet_desk.store.models import LookupTerm, Stop

NAME, STREET = 1, 2
TERM_MAX = 60
_WORD = re.compile(r"[0-9a-z]+")
_PHONE = re.compile(r"^\s*\+?\(?[0-9][0-9 .()/-]*$")  # digits and what people write between them
MIN_DIGITS, MAX_DIGITS = 6, 17  # E.164 has at most 15, with a 00 prefix 17


def fold(text: str) -> str:
    """Lower case without accents: "Élodie Dupré" -> "elodie dupre"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """The folded words of ``text``, in order, each once."""
    return list(dict.fromkeys(w[:TERM_MAX] for w in _WORD.findall(fold(text))))


def locale_region() -> str | None:
    """This computer's region by its locale (often en_US on a machine set up in English: a last resort)."""
    name = locale.getlocale()[0] or ""
    return name.split("_")[1][:2].upper() if "_" in name else None


def phone_key(text: str | None, region: str | None) -> str | None:
    """The key a phone number is stored and found by; None if the text is no phone number.

    E.164 ("+33478112233") for an international number ("+33 4 78 11 22 33", "0033 4 78 11 22 33") and for a
    national one that is a valid number of ``region``. A national number read with no region, or that is no
    number of ``region`` (a French "04 78 11 22 33" on a computer set up for the United States), keeps its own
    digits ("0478112233"): never a country code guessed for it. `phone_keys` finds it either way."""
    if not text or not _PHONE.match(text) or not MIN_DIGITS <= sum(ch.isdigit() for ch in text) <= MAX_DIGITS:
        return None
    written = text.strip()
    if written.startswith(("+", "00")):
        return _international("+" + written[2:] if written.startswith("00") else written)
    if region:
        try:
            number = phonenumbers.parse(written, region)
        except phonenumbers.NumberParseException:
            number = None
        if number is not None and phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return "".join(ch for ch in written if ch.isdigit())


def phone_keys(text: str | None, region: str | None) -> list[str]:
    """The keys a stored number the caller means may have: its `phone_key` and, for an international one, the
    digits it is dialled with inside its country ("+33 4 78 11 22 33" -> "0478112233"), the key of a number
    stored with no region."""
    key = phone_key(text, region)
    if key is None:
        return []
    if not key.startswith("+"):
        return [key]
    national = phonenumbers.format_number(phonenumbers.parse(key), phonenumbers.PhoneNumberFormat.NATIONAL)
    digits = "".join(ch for ch in national if ch.isdigit())
    return [key, digits] if digits and digits != key else [key]


def _international(text: str) -> str | None:
    """E.164 for a number written with its country code; None when it is no possible number."""
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def region_of(keys: Iterable[str]) -> str | None:
    """The region most of these keys' international (E.164) numbers belong to; keys kept as national digits
    say nothing about it."""
    numbers = (phonenumbers.parse(k) for k in keys if k.startswith("+"))
    codes = Counter(n.country_code for n in numbers if n.country_code is not None)  # parse always sets it
    if not codes:
        return None
    region = phonenumbers.region_code_for_country_code(codes.most_common(1)[0][0])
    return None if region == "ZZ" else region


def email_key(text: str | None) -> str | None:
    """The e-mail address as lookups match it (trimmed, lower-cased); None when the text has no ``@``, so
    a stop without an e-mail is never found by one."""
    text = (text or "").strip().lower()
    return text if "@" in text else None


def index_terms(conn: Connection, stop_id: int, customer_name: str, address: str) -> None:
    """(Re)write the stop's name and street words."""
    conn.execute(delete(LookupTerm).where(LookupTerm.stop_id == stop_id))
    rows = [{"term": w, "stop_id": stop_id, "field": NAME} for w in words(customer_name)]
    rows += [{"term": w, "stop_id": stop_id, "field": STREET} for w in words(address) if not w.isdigit()]
    if rows:
        conn.execute(insert(LookupTerm), rows)


def mask_phone(phone: str | None) -> str:
    """ "+33 4 12 34 56 78" -> "+33 4 •• •• •• 78": enough to confirm with the caller, not to copy."""
    if not phone:
        return ""
    digits = [i for i, ch in enumerate(phone) if ch.isdigit()]
    keep = set(digits[:3] + digits[-2:])
    return "".join(ch if (i in keep or not ch.isdigit()) else "•" for i, ch in enumerate(phone))


def mask_email(email: str | None) -> str:
    """ "elodie.martin@example.com" -> "e•••••••••••@example.com"."""
    if not email or "@" not in email:
        return email or ""
    user, domain = email.split("@", 1)
    return f"{user[:1]}{'•' * max(1, len(user) - 1)}@{domain}"


def usual_region(conn: Connection) -> str | None:
    """Where most customers' phones are, for reading a national number when no region is set (the setting
    `phone_region`)."""
    # Those starting with "+" as an index range (lookup keys are in code point order, migration 0009): LIKE '+%'
    # reads every key when none does, on each lookup
    keys = conn.scalars(select(Stop.phone_key).where(Stop.phone_key >= "+", Stop.phone_key < ",").limit(50)).all()
    return region_of(key for key in keys if key is not None)  # the query leaves NULLs out; said for the type
