"""Exported identifiers are normalised before they are hashed, and unusable ones left out."""

from __future__ import annotations

from tessera.segment.export import Hashed, hashed, normalise_email, normalise_phone, sha256, to_csv


def test_an_email_is_trimmed_and_lowercased_before_hashing() -> None:
    """' Ada@Example.COM ' hashes as 'ada@example.com'."""
    assert normalise_email(" Ada@Example.COM ") == "ada@example.com"
    assert hashed(" Ada@Example.COM ", None) == Hashed(sha256("ada@example.com"), None)


def test_a_phone_is_e164_digits_in_the_workspace_region() -> None:
    """A US number written locally and a UK number with its code both become E.164 digits."""
    assert normalise_phone("(415) 555-2671") == "14155552671"
    assert normalise_phone("+44 20 7946 0958", "US") == "442079460958"
    assert normalise_phone("not a phone") is None


def test_a_person_with_nothing_usable_is_left_out_and_csv_has_the_platforms_headers() -> None:
    """No valid email or phone: no row. The TikTok file names its columns as hashes."""
    assert hashed("no-at-sign", "123") is None
    assert to_csv([Hashed("e", None)], "tiktok") == "email_sha256,phone_sha256\ne,\n"
