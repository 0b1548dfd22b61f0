"""Which source column holds which field: auto-detection of English and German headers.

Headers are compared in a folded form (lower case, umlauts spelled out, no punctuation), so
"E-Mail", "e_mail" and "EMail" are the same. The earlier a synonym is listed, the stronger it
is: a file with both "Telefon" and "WhatsApp" columns maps phone to "WhatsApp".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ..errors import WamktError

_CUSTOMER_KEYS = (
    "customerid",
    "kundennummer",
    "kundennr",
    "kdnr",
    "kundenid",
    "customerno",
    "customernumber",
    "clientid",
    "contactid",
    "crmid",
)
"""Headers of a customer's key in every kind of file (a customers file also takes a bare "id")."""
_BSUID_NAMES = ("bsuid", "businessscopeduserid", "whatsappuserid", "wauserid", "whatsappbsuid")
"""Headers of a business-scoped user ID (BSUID) in every kind of file."""

SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "customers": {
        "phone": (
            "whatsapp",
            "whatsappnummer",
            "whatsappnumber",
            "waid",
            "mobile",
            "mobilephone",
            "mobilenumber",
            "mobil",
            "mobilnummer",
            "mobiltelefon",
            "handy",
            "handynummer",
            "cell",
            "cellphone",
            "msisdn",
            "phone",
            "phonenumber",
            "phoneno",
            "telephone",
            "telefon",
            "telefonnummer",
            "tel",
            "telnr",
            "rufnummer",
            "nummer",
            "number",
        ),
        "bsuid": _BSUID_NAMES,
        "username": ("username", "whatsappusername", "wausername", "benutzername"),
        "customer_id": (*_CUSTOMER_KEYS, "externalid", "id"),
        "first_name": ("firstname", "vorname", "givenname", "forename", "first"),
        "last_name": ("lastname", "nachname", "surname", "familyname", "familienname", "last"),
        "name": ("name", "fullname", "kundenname", "customername", "displayname", "vollername", "kontakt", "contact"),
        "email": ("email", "emailaddress", "emailadresse", "mail", "epost"),
        "language": ("language", "sprache", "lang", "locale", "languagecode"),
        "country": ("country", "land", "countrycode", "laendercode", "staat"),
        "city": ("city", "stadt", "ort", "wohnort", "town"),
        "timezone": ("timezone", "zeitzone", "tz"),
        "opted_in": (
            "optedin",
            "optin",
            "whatsappoptin",
            "marketingoptin",
            "einwilligung",
            "werbeeinwilligung",
            "consent",
            "marketingconsent",
            "zustimmung",
            "einverstaendnis",
            "newsletter",
        ),
        "opt_in_at": (
            "optinat",
            "optindate",
            "optindatum",
            "optedinat",
            "einwilligungsdatum",
            "einwilligungam",
            "consentdate",
            "consentat",
            "consentgivenat",
        ),
        "signup_at": (
            "signupat",
            "signupdate",
            "signup",
            "registeredat",
            "registered",
            "registriertam",
            "registrierung",
            "anmeldedatum",
            "kundeseit",
            "customersince",
            "createdat",
            "created",
            "erstelltam",
        ),
    },
    "orders": {
        "order_id": (
            "orderid",
            "bestellnummer",
            "bestellnr",
            "ordernumber",
            "orderno",
            "auftragsnummer",
            "auftragsnr",
            "rechnungsnummer",
            "invoiceid",
            "id",
        ),
        "customer_id": _CUSTOMER_KEYS,  # an orders file's "id" is the order's
        "phone": (
            "whatsapp",
            "mobile",
            "mobil",
            "handy",
            "phone",
            "phonenumber",
            "telefon",
            "telefonnummer",
            "tel",
            "msisdn",
        ),
        "bsuid": _BSUID_NAMES,
        "ordered_at": (
            "orderedat",
            "orderdate",
            "bestelldatum",
            "bestelltam",
            "datum",
            "date",
            "createdat",
            "created",
            "timestamp",
            "zeitpunkt",
            "purchasedat",
            "kaufdatum",
        ),
        "amount": (
            "amount",
            "betrag",
            "total",
            "summe",
            "gesamtbetrag",
            "umsatz",
            "revenue",
            "value",
            "wert",
            "price",
            "preis",
            "ordertotal",
            "bestellwert",
        ),
        "currency": ("currency", "waehrung", "curr", "currencycode"),
    },
    "interactions": {
        "customer_id": _CUSTOMER_KEYS,
        "phone": (
            "whatsapp",
            "waid",
            "mobile",
            "mobil",
            "handy",
            "phone",
            "phonenumber",
            "telefon",
            "tel",
            "from",
            "msisdn",
        ),
        "bsuid": _BSUID_NAMES,
        "at": ("at", "timestamp", "zeitpunkt", "time", "zeit", "datetime", "date", "datum", "occurredat", "createdat"),
        "kind": ("kind", "type", "event", "eventtype", "art", "typ", "ereignis", "status"),
    },
}
REQUIRED = {"customers": (), "orders": ("amount", "ordered_at"), "interactions": ("at", "kind")}
# A customer is reached by phone, by business-scoped user ID (BSUID) or both: one of them is needed.
CUSTOMER_ADDRESSES = ("phone", "bsuid")
# Orders and interactions need one way to find their customer.
CUSTOMER_KEYS = ("customer_id", "phone", "bsuid")

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_NON_ALNUM = re.compile(r"[^a-z0-9]")


def fold(header: object) -> str:
    """A header in comparable form: 'E-Mail ' -> 'email', 'Währung' -> 'waehrung'."""
    return _NON_ALNUM.sub("", str(header).strip().lower().translate(_FOLD))


def detect_mapping(columns: Iterable[object], kind: str = "customers") -> dict[str, str]:
    """``{field: source column}`` for the fields whose column could be recognised."""
    synonyms = SYNONYMS[kind]
    folded = {str(c): _candidates(c) for c in columns}
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for field, names in synonyms.items():
        best: tuple[int, str] | None = None
        for column, forms in folded.items():
            if column in used:
                continue
            ranks = [names.index(f) for f in forms if f in names]
            if ranks and (best is None or min(ranks) < best[0]):
                best = (min(ranks), column)
        if best is not None:
            mapping[field] = best[1]
            used.add(best[1])
    return mapping


def resolve_mapping(
    columns: Iterable[object], kind: str = "customers", override: Mapping[str, str | None] | None = None
) -> dict[str, str]:
    """Detected mapping with ``override`` applied (a field mapped to None or "" is left out).

    Raises ``MappingError`` for an unknown field or a column the source does not have.
    """
    columns = [str(c) for c in columns]
    mapping = detect_mapping(columns, kind)
    for field, column in (override or {}).items():
        if field not in SYNONYMS[kind]:
            raise MappingError(f"unknown {kind} field {field!r}; known: {', '.join(SYNONYMS[kind])}")
        if not column:
            mapping.pop(field, None)
            continue
        if column not in columns:
            raise MappingError(
                f"the mapping names column {column!r} for {field}, but the source has only: "
                f"{', '.join(map(repr, columns))}"
            )
        mapping = {f: c for f, c in mapping.items() if c != column}  # one column, one field
        mapping[field] = column
    return mapping


def missing_fields(mapping: Mapping[str, str], kind: str, columns: Iterable[object]) -> str | None:
    """A message naming what a mapping lacks, or None when it is complete enough to load."""
    columns = [str(c) for c in columns]
    shown = ", ".join(repr(c if len(c) <= 40 else c[:40] + "...") for c in columns[:12])
    shown += " ..." if len(columns) > 12 else ""
    hint = ""
    if len(columns) == 1 and re.search(r"[;,\t|:]", columns[0]):
        hint = " The file seems to have a single column: is the delimiter right?"
    for field in REQUIRED[kind]:
        if field not in mapping:
            return f"no {field} column found among: {shown}.{hint} Pick it in the column mapping."
    if kind == "customers" and not any(k in mapping for k in CUSTOMER_ADDRESSES):
        return f"no phone column found among: {shown}.{hint} Pick it (or a BSUID column) in the column mapping."
    if kind != "customers" and not any(k in mapping for k in CUSTOMER_KEYS):
        return f"no customer id, phone or BSUID column found among: {shown}.{hint} Pick one in the column mapping."
    return None


class MappingError(WamktError, ValueError):
    """A column mapping that cannot work with the source's columns."""


def _candidates(header: object) -> list[str]:
    """The folded header and its last dotted part ('contact.phone' -> 'phone' for nested JSON)."""
    text = str(header)
    forms = [fold(text)]
    if "." in text:
        forms.append(fold(text.rsplit(".", 1)[1]))
    return forms
