"""Custom-audience files for ad platforms: normalised, SHA-256 hashed emails and phones.

Meta and TikTok match people on hashes of normalised identifiers: an email trimmed and
lowercased, a phone as E.164 digits without the plus (``phonenumbers``, the workspace's region
for numbers written without a country code). A value that does not normalise is left out
rather than hashed wrong.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

FORMATS = ("meta", "tiktok")
HEADERS = {"meta": ("email", "phone"), "tiktok": ("email_sha256", "phone_sha256")}


@dataclass(frozen=True, slots=True)
class Hashed:
    email: str | None
    phone: str | None


def normalise_email(value: str) -> str | None:
    email = value.strip().lower()
    return email if "@" in email and " " not in email else None


def normalise_phone(value: str, region: str = "US") -> str | None:
    try:
        number = phonenumbers.parse(value.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def hashed(email: str | None, phone: str | None, region: str = "US") -> Hashed | None:
    """The person's hashes, or None when neither identifier normalises."""
    clean_email = normalise_email(email) if email else None
    clean_phone = normalise_phone(phone, region) if phone else None
    if clean_email is None and clean_phone is None:
        return None
    return Hashed(
        sha256(clean_email) if clean_email else None, sha256(clean_phone) if clean_phone else None
    )


def to_csv(rows: Iterable[Hashed], format_: str) -> str:
    """One line per person under the platform's headers; a missing identifier is empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADERS[format_])
    for row in rows:
        writer.writerow([row.email or "", row.phone or ""])
    return out.getvalue()
