"""Building blocks of payload shapes shared by several vendors."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints

_DECIMAL = StringConstraints(strip_whitespace=True, pattern=r"^-?\d+(\.\d+)?$")

# Money as platforms send it: a decimal string in major units ("19.99"), never a float.
DecimalString = Annotated[str, _DECIMAL]


def _number_as_text(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)  # 7.6 → "7.6": the shortest text that reads back as the same number
    return value


# A few vendor fields are JSON numbers in major units (Shopify's refund line ``subtotal``);
# they are read as their decimal text, so no float arithmetic ever touches them.
DecimalText = Annotated[str, BeforeValidator(_number_as_text), _DECIMAL]


class Payload(BaseModel):
    """A vendor payload: unknown fields are ignored (vendors add fields without notice)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
