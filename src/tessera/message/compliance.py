"""What a person says back: SMS keywords, one-click unsubscribe and the preference page.

SMS (carriers' rules, CTIA): STOP, STOPALL, UNSUBSCRIBE, CANCEL, END and QUIT opt the number
out at once: a ``withdrawn`` consent with the reply as evidence, the number suppressed (the
provider refuses to send to it anyway, error 21610), and every message queued or held for it
skipped in the same transaction, so nothing already waiting goes out. START, YES and UNSTOP
opt in again (a ``granted`` consent; the STOP suppression lifted, never a bounce's). "Y" (or
YES) confirms a pending double opt-in: an SMS sent in the last 30 days whose origin is
``{"kind": "double_opt_in"}`` ("Reply Y to confirm"), recorded as the consent's evidence. HELP
answers with the brand and how to reach it. Each answer is returned for the webhook to reply.

Email (RFC 8058): a marketing email carries ``List-Unsubscribe: <https://.../u/TOKEN>,
<mailto:...>`` and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``; a POST to that URL
withdraws the person's email marketing consent at once (a mailbox provider may POST it more
than once: the second changes nothing) and skips their queued marketing email. A GET shows
the preference page, which can also subscribe again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from tessera.config import Settings, get_settings
from tessera.customer import schemas
from tessera.customer.privacy import PrivacyService
from tessera.customer.profiles import Person
from tessera.identity.graph import identifiers as ids
from tessera.identity.graph.service import IdentityService
from tessera.kit.logging import get_logger
from tessera.kit.time import Clock, utcnow
from tessera.message import domain
from tessera.message.configuration import MessageSettings
from tessera.message.errors import LinkNotFound
from tessera.message.policy import SendPolicy
from tessera.message.repository import MessageRepository
from tessera.message.tokens import LinkSigner
from tessera.models.identity import ConsentStatus
from tessera.models.message import Message, MessageChannel, MessagePurpose

DOUBLE_OPT_IN = "double_opt_in"
DOUBLE_OPT_IN_WINDOW = timedelta(days=30)
ACTOR_SMS = "sms:reply"
ACTOR_EMAIL = "email:unsubscribe"

log = get_logger("tessera.message")


@dataclass(frozen=True, slots=True)
class Preferences:
    """What the preference page shows: whose address (partly hidden) and whether it is on."""

    brand: str
    address: str
    is_subscribed: bool
    message: Message


def masked(address: str) -> str:
    """``a***@example.com``: enough for a person to recognise their address, not to harvest it."""
    local, _at, domain_part = address.partition("@")
    return f"{local[:1]}***@{domain_part}" if domain_part else address[:3] + "***"


class Compliance:
    """Replies and unsubscribes. Never commits."""

    def __init__(
        self, session: Session, clock: Clock = utcnow, settings: Settings | None = None
    ) -> None:
        self.session = session
        self.clock = clock
        self.settings = settings or get_settings()
        self.repository = MessageRepository(session)
        self.policy = SendPolicy(session)
        self.configuration = MessageSettings(session, self.settings)

    # SMS replies -------------------------------------------------------------------------------

    def inbound_sms(self, workspace_id: str, number: str, body: str, reference: str) -> str | None:
        """Act on an inbound SMS from ``number``; the reply to send back, or None."""
        keyword = domain.keyword_of(body)
        if keyword is None:
            return None
        rules = self.configuration.rules(workspace_id)
        region = IdentityService(self.session).rules(workspace_id).region
        phone = ids.normalise_phone(number, region) or number.strip()
        person = self._person_with(workspace_id, phone)
        brand = rules.brand_name
        if keyword is domain.Keyword.OPT_OUT:
            self.opt_out_number(workspace_id, phone, person, body, reference)
            return (
                f"{brand}: you are unsubscribed and will receive no more messages. "
                "Reply START to resubscribe."
            )
        if keyword is domain.Keyword.HELP:
            contact = f" {rules.help_text}" if rules.help_text else ""
            return f"{brand}:{contact} Reply STOP to cancel.".replace(":  ", ": ")
        pending = self.repository.last_sent_with_origin(
            workspace_id, phone, DOUBLE_OPT_IN, self.clock() - DOUBLE_OPT_IN_WINDOW
        )
        if keyword is domain.Keyword.CONFIRM and pending is None:
            return None  # "Y" answers nothing else
        digest = self.policy.digest(workspace_id, "phone", phone)
        self.repository.lift_suppression(workspace_id, digest, domain.SMS_STOP)
        if person is not None:
            evidence = {"keyword": body.strip()[:40], "reply": reference}
            if pending is not None and domain.is_confirmation(body):
                evidence["confirms_double_opt_in"] = pending.id
            self._consent(workspace_id, person, "phone", phone, MessageChannel.SMS,
                          ConsentStatus.GRANTED, "sms reply", body, evidence)  # fmt: skip
        if pending is not None and domain.is_confirmation(body):
            return f"{brand}: thanks, you are subscribed. Reply HELP for help and STOP to cancel."
        return f"{brand}: you are subscribed again. Reply HELP for help and STOP to cancel."

    def opt_out_number(
        self, workspace_id: str, phone: str, person: Person | None, body: str, reference: str
    ) -> list[str]:
        """STOP: suppress the number, skip everything queued for it, withdraw consent;
        returns the ids of the messages skipped."""
        now = self.clock()
        digest = self.policy.digest(workspace_id, "phone", phone)
        self.repository.suppress(
            workspace_id, digest, MessageChannel.SMS, domain.SMS_STOP, None, now
        )
        skipped = self.repository.skip_pending(
            workspace_id,
            MessageChannel.SMS,
            person.profile_ids if person else [],
            phone,
            list(MessagePurpose),
            domain.OPTED_OUT,
            "the person texted STOP",
            now,
        )
        if person is not None:
            self._consent(workspace_id, person, "phone", phone, MessageChannel.SMS,
                          ConsentStatus.WITHDRAWN, "sms reply", body,
                          {"keyword": body.strip()[:40], "reply": reference})  # fmt: skip
        log.info("sms_opted_out", workspace_id=workspace_id, skipped=len(skipped))
        return skipped

    def _person_with(self, workspace_id: str, phone: str) -> Person | None:
        profile = IdentityService(self.session).find_profile(workspace_id, "phone", phone)
        return self.policy.person(workspace_id, profile.id) if profile else None

    def _consent(
        self,
        workspace_id: str,
        person: Person,
        kind: str,
        value: str,
        channel: MessageChannel,
        status: ConsentStatus,
        source: str,
        wording: str,
        evidence: dict[str, str],
    ) -> None:
        PrivacyService(self.session).record_consent(
            workspace_id,
            person.profile.id,
            schemas.ConsentCreate(
                identifier_type=kind,
                identifier_value=value,
                purpose="marketing",
                channel=channel.value,
                status=status,
                source=source,
                wording=wording.strip()[:2000],
                evidence=evidence,
                recorded_at=self.clock(),
            ),
            actor=ACTOR_SMS if channel is MessageChannel.SMS else ACTOR_EMAIL,
        )

    # Email unsubscribe -------------------------------------------------------------------------

    def _row_of(self, token: str) -> Message:
        message_id = LinkSigner(self.settings).unsubscribe_message(token)
        row = self.repository.message_of_any_workspace(message_id)
        if row is None or not row.to_address:
            raise LinkNotFound("this unsubscribe link is not valid")
        return row

    def preferences(self, token: str) -> Preferences:
        """The preference page's content; refuses (404) a token this server did not sign."""
        row = self._row_of(token)
        rules = self.configuration.rules(row.workspace_id)
        person = self.policy.person(row.workspace_id, row.profile_id)
        subscribed = person is not None and self._is_subscribed(row, person)
        return Preferences(rules.brand_name, masked(row.to_address or ""), subscribed, row)

    def _identifier_id(self, row: Message, person: Person) -> str | None:
        kind = "email" if row.channel is MessageChannel.EMAIL else "phone"
        return next(
            (i.id for i in person.identifiers if i.type == kind and i.value == row.to_address),
            None,
        )

    def _is_subscribed(self, row: Message, person: Person) -> bool:
        identifier = self._identifier_id(row, person)
        return identifier in self.policy.consented(row.workspace_id, person, row.channel)

    def unsubscribe(self, token: str, *, how: str) -> Preferences:
        """Withdraw the marketing consent of the address the message went to, and skip the
        person's queued marketing on that channel; nothing more when already withdrawn."""
        row = self._row_of(token)
        person = self.policy.person(row.workspace_id, row.profile_id)
        if person is not None and self._identifier_id(row, person) is not None:
            if self._is_subscribed(row, person):
                kind = "email" if row.channel is MessageChannel.EMAIL else "phone"
                self._consent(row.workspace_id, person, kind, row.to_address or "", row.channel,
                              ConsentStatus.WITHDRAWN, f"unsubscribe link ({how})",
                              "Unsubscribe", {"message_id": row.id, "how": how})  # fmt: skip
            self.repository.skip_pending(
                row.workspace_id, row.channel, person.profile_ids, row.to_address,
                [MessagePurpose.MARKETING], domain.OPTED_OUT, "the person unsubscribed",
                self.clock(),
            )  # fmt: skip
        return self.preferences(token)

    def resubscribe(self, token: str) -> Preferences:
        """Grant the marketing consent again from the preference page."""
        row = self._row_of(token)
        person = self.policy.person(row.workspace_id, row.profile_id)
        identifier = self._identifier_id(row, person) if person is not None else None
        if person is not None and identifier is not None and not self._is_subscribed(row, person):
            kind = "email" if row.channel is MessageChannel.EMAIL else "phone"
            self._consent(row.workspace_id, person, kind, row.to_address or "", row.channel,
                          ConsentStatus.GRANTED, "preference page", "Subscribe again",
                          {"message_id": row.id})  # fmt: skip
        return self.preferences(token)
