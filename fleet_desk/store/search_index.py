"""Search keys of an order, kept beside it so a lookup is a few index probes, never a scan.

Names and streets become folded words (case and accents gone: "Élodie" ->
"elodie"), each a row of `lookup_terms`, so a prefix of any word finds the
order. Phones become E.164 ("+33412345678") whatever the formatting, national
numbers read with the depot's region. E-mails are lower-cased.
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
    """E.164 for a possible phone number in any formatting; None if it is not one."""
    if not text or sum(ch.isdigit() for ch in text) < 6:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def region_of(keys: Iterable[str]) -> str | None:
    """The region most of these E.164 numbers belong to."""
    numbers = (phonenumbers.parse(k) for k in keys)
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
    keys = conn.scalars(select(Stop.phone_key).where(Stop.phone_key.is_not(None)).limit(50)).all()
    return region_of(key for key in keys if key is not None)  # the query leaves NULLs out; said for the type
