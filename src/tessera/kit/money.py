"""Money is an integer amount of minor units plus an ISO 4217 currency code.

Floats never hold money. ``Money(1999, "USD")`` is $19.99; ``Money(500, "JPY")`` is 500 yen.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

# ISO 4217 minor-unit exponents that differ from 2.
_EXPONENTS: dict[str, int] = {
    "BHD": 3,
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "IQD": 3,
    "ISK": 0,
    "JOD": 3,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "PYG": 0,
    "RWF": 0,
    "TND": 3,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
}


def minor_exponent(currency: str) -> int:
    """How many decimal places the currency's minor unit has (2 for USD, 0 for JPY)."""
    return _EXPONENTS.get(currency.upper(), 2)


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units of one currency."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise ValueError(f"currency must be a 3-letter ISO 4217 code, got {self.currency!r}")
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError("amount must be an integer number of minor units")

    @classmethod
    def parse(cls, value: str | int | float | Decimal, currency: str) -> Money:
        """Money from a major-unit value such as ``"19.99"``; rounds half to even."""
        code = currency.upper()
        exponent = minor_exponent(code)
        major = Decimal(str(value))
        minor = (major * (Decimal(10) ** exponent)).quantize(Decimal(1), ROUND_HALF_EVEN)
        return cls(int(minor), code)

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(self.amount + other.amount, self.currency)

    def to_decimal(self) -> Decimal:
        """The amount in major units."""
        return Decimal(self.amount).scaleb(-minor_exponent(self.currency))

    def __str__(self) -> str:
        return f"{self.to_decimal():.{minor_exponent(self.currency)}f} {self.currency}"
