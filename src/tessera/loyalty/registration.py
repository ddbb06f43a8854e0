"""Retail-to-owned: a shopper who bought at a retail partner scans the packaging's QR code and
registers the product (email, name, SKU, serial, retailer and receipt number).

The brand never sees that sale otherwise, so the registration is how the person becomes
known: it is kept once per receipt and once per serial (two unique constraints decide, so two
submissions at once keep one), then stored as a ``Product Registered`` event carrying the
email, which Identify stitches to a profile like any other event, and which a welcome journey
can enter on. The points are written when loyalty hears the event resolved (``earning``),
keyed by the registration, so they are earned once.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from tessera.catalog.service import CatalogService
from tessera.collect.domain import Sender
from tessera.collect.service import CollectService
from tessera.kit.bounds import storable_text_problem
from tessera.kit.errors import InvalidInput, NotFound
from tessera.kit.ids import new_id
from tessera.kit.time import Clock, utcnow
from tessera.loyalty import domain
from tessera.loyalty.earning import REGISTERED_EVENT
from tessera.loyalty.errors import AlreadyRegistered
from tessera.loyalty.repository import LoyaltyRepository
from tessera.loyalty.schemas import RegistrationIn
from tessera.models.loyalty import LoyaltyProgram, LoyaltyRegistration


class RegistrationNotOpen(NotFound):
    """An unknown registration key, or a program switched off: the same answer."""

    slug = "loyalty-registration-not-found"
    title = "There is no product registration here"


class Registrations:
    """Products registered from the packaging, on the caller's session. Never commits."""

    def __init__(self, session: Session, clock: Clock = utcnow) -> None:
        self.session = session
        self.clock = clock
        self.repository = LoyaltyRepository(session)

    def program_for_key(self, registration_key: str) -> LoyaltyProgram:
        """The program behind a QR code's key; 404 for an unknown key or a disabled program."""
        program = (
            self.repository.program_by_registration_key(registration_key)
            if len(registration_key) <= 40
            else None
        )
        if program is None or not program.is_enabled:
            raise RegistrationNotOpen("this registration link is not valid")
        return program

    def register(self, registration_key: str, form: RegistrationIn) -> LoyaltyRegistration:
        """Register one product bought at a retailer.

        Refuses text that cannot be stored (a NUL byte, 422 naming the field), a SKU the
        catalog does not hold (422, ``sku``), and a receipt or serial registered before
        (409, nothing written, whoever registered it first).
        """
        for field, value in form.model_dump().items():
            problem = storable_text_problem(str(value))
            if problem is not None:
                raise InvalidInput(f"{field} {problem}", field=field)
        program = self.program_for_key(registration_key)
        workspace_id = program.workspace_id
        sku = form.sku.strip()
        if sku not in CatalogService(self.session).variants_by_sku(workspace_id, [sku]):
            raise InvalidInput(f"no product has the SKU {sku!r}", field="sku")
        retailer, receipt = domain.normalise_receipt(form.retailer, form.receipt_number)
        serial = domain.normalise_serial(form.serial)
        if not receipt:
            raise InvalidInput("the receipt number is empty", field="receipt_number")
        if not serial:
            raise InvalidInput("the serial number is empty", field="serial")
        registration_id = new_id("lrg")
        now = self.clock()
        email = form.email.strip().lower()
        kept = self.repository.insert_registration(
            {
                "id": registration_id,
                "workspace_id": workspace_id,
                "email": email,
                "name": form.name.strip(),
                "sku": sku,
                "serial": serial,
                "retailer": retailer,
                "receipt_number": receipt,
                "message_id": f"registration:{registration_id}",
                "profile_id": None,
                "points": program.registration_points,
                "registered_at": now,
            }
        )
        if not kept:
            receipt_taken, _ = self.repository.registration_holding(
                workspace_id, retailer, receipt, sku, serial
            )
            what, field = (
                (f"receipt {receipt} from {retailer}", "receipt_number")
                if receipt_taken
                else (f"serial {serial} of {sku}", "serial")
            )
            raise AlreadyRegistered(
                f"{what} was already registered; each purchase earns points once", field=field
            )
        first, _, last = form.name.strip().partition(" ")
        traits = {"email": email, **({"first_name": first} if first else {}),
                  **({"last_name": last} if last else {})}  # fmt: skip
        message = {
            "type": "track",
            "event": REGISTERED_EVENT,
            "messageId": f"registration:{registration_id}",
            "anonymousId": f"registration:{registration_id}",
            "timestamp": now.isoformat(),
            "properties": {"sku": sku, "serial": serial, "retailer": retailer,
                           "receipt_number": receipt, "registration_id": registration_id},
            "context": {"channel": "retail", "traits": traits},
        }  # fmt: skip
        CollectService(self.session).record_messages(
            Sender(workspace_id, None, "retail"), [message], f"registration {registration_id}"
        )
        row = self.session.get(LoyaltyRegistration, registration_id)
        assert row is not None
        return row
