"""What comes back after a send: provider status callbacks, bounces and complaints, clicks.

Each becomes a change on the outbox row and an event on the person's timeline, stored through
Collect's ingest like any other channel's events (channel ``email`` or ``sms``, message ids
``message:<id>:<what>`` so a repeated callback is stored once), so journeys and segments see
"Email Bounced" or "SMS Link Clicked" as they see a page view. The event names the person by
their user id when they have one, else by an id of theirs Collect already knows, else by a
``recipient:<profile>`` anonymous id carried with the address, which the stitch joins to them.

Hard bounces and complaints suppress the address (``message_suppression``), for every purpose.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tessera.collect.domain import Sender
from tessera.collect.service import CollectService
from tessera.customer.profiles import ProfileService
from tessera.identity.errors import ProfileNotFound
from tessera.kit.logging import get_logger
from tessera.kit.time import Clock, utcnow
from tessera.message import domain
from tessera.message.policy import IDENTIFIER_OF_CHANNEL, SendPolicy
from tessera.message.repository import MessageRepository
from tessera.models.message import Message, MessageChannel, MessageStatus

log = get_logger("tessera.message")

# A Twilio-style status and what it makes of the row.
SMS_DELIVERED = frozenset({"delivered"})
SMS_FAILED = frozenset({"undelivered", "failed"})
SMS_ACCEPTED = frozenset({"accepted", "queued", "sending", "sent", "scheduled"})
# Error codes of an undelivered SMS that mean the number will never take one.
SMS_DEAD_NUMBER_CODES = frozenset({"30005", "30006", "21211", "21614"})
# States a later report may not move a row back from.
SETTLED = frozenset({MessageStatus.BOUNCED, MessageStatus.COMPLAINED, MessageStatus.FAILED})


class Feedback:
    """Records what providers and people report about sent messages. Never commits."""

    def __init__(self, session: Session, clock: Clock = utcnow) -> None:
        self.session = session
        self.clock = clock
        self.repository = MessageRepository(session)
        self.policy = SendPolicy(session)

    # The timeline ------------------------------------------------------------------------------

    def announce(self, row: Message, event: str, what: str, properties: dict[str, Any]) -> None:
        """Store ``event`` on the person's timeline through Collect (once per ``what``)."""
        try:
            person = ProfileService(self.session).person(row.workspace_id, row.profile_id)
        except ProfileNotFound:
            return  # erased since: nothing of theirs is stored again
        now = self.clock()
        payload: dict[str, Any] = {
            "type": "track",
            "event": event,
            "messageId": f"message:{row.id}:{what}",
            "timestamp": now.isoformat(),
            "context": {"channel": row.channel.value},
            "properties": {
                "message_id": row.id,
                "template": row.template_name,
                "purpose": row.purpose.value,
                **({"subject": row.subject} if row.subject else {}),
                **({"journey_id": row.origin.get("journey_id")} if row.origin else {}),
                **properties,
            },
        }
        if person.user_ids:
            payload["userId"] = person.user_ids[0]
        elif person.anonymous_ids:
            payload["anonymousId"] = person.anonymous_ids[0]
        else:
            payload["anonymousId"] = f"recipient:{person.profile.id}"
            if row.to_address:
                trait = IDENTIFIER_OF_CHANNEL[row.channel]
                payload["context"]["traits"] = {trait: row.to_address}
        sender = Sender(row.workspace_id, None, row.channel.value)
        CollectService(self.session).record_messages(sender, [payload], f"message {row.id}")

    def suppress(self, row: Message, reason: str) -> None:
        """Suppress the row's address for every purpose (``reason``: why)."""
        if not row.to_address:
            return
        kind = IDENTIFIER_OF_CHANNEL[row.channel]
        digest = self.policy.digest(row.workspace_id, kind, row.to_address)
        self.repository.suppress(
            row.workspace_id, digest, row.channel, reason, row.id, self.clock()
        )

    # SMS status callbacks ----------------------------------------------------------------------

    def sms_status(
        self, workspace_id: str, message_id: str | None, provider_id: str, status: str,
        error_code: str | None,
    ) -> Message | None:  # fmt: skip
        """Apply a provider's status callback; returns the row, or None for an unknown one.

        A callback for a row still ``sending`` (its worker died before recording the answer)
        settles it: the provider says it has the message, so it is ``sent`` with that id.
        """
        row = self._row_for_callback(workspace_id, message_id, provider_id)
        if row is None:
            log.info("sms_status_unknown", provider_id=provider_id, status=status)
            return None
        now = self.clock()
        if row.status is MessageStatus.SENDING and provider_id:
            row.status, row.provider_id, row.sent_at = MessageStatus.SENT, provider_id, now
            log.info("message_reconciled_by_callback", message_id=row.id, provider_id=provider_id)
        status = status.lower()
        if status in SMS_DELIVERED and row.status is MessageStatus.SENT:
            row.status, row.delivered_at = MessageStatus.DELIVERED, now
            self.announce(row, "SMS Delivered", "delivered", {})
        elif status in SMS_FAILED and row.status not in SETTLED:
            row.status, row.error_code = MessageStatus.FAILED, error_code
            row.reason, row.reason_detail = domain.PROVIDER_REFUSED, f"{status} ({error_code})"
            row.finished_at = now
            if error_code in SMS_DEAD_NUMBER_CODES:
                self.suppress(row, domain.HARD_BOUNCE)
            self.announce(row, "SMS Failed", "failed", {"error_code": error_code})
        row.updated_at = now
        self.session.flush()
        return row

    def _row_for_callback(
        self, workspace_id: str, message_id: str | None, provider_id: str
    ) -> Message | None:
        if message_id:
            row = self.repository.lock_message(message_id)
            is_ours = row is not None and row.workspace_id == workspace_id
            if is_ours and row is not None and row.provider_id in (None, provider_id):
                return row
            return None
        return self.repository.message_by_provider_id(workspace_id, provider_id)

    # Email events ------------------------------------------------------------------------------

    def email_event(
        self, workspace_id: str, message_id: str, kind: str, detail: str
    ) -> Message | None:
        """A delivery, bounce or complaint reported for an email (by a bounce processor or an
        ESP's webhook); None for a message this workspace does not hold.

        ``kind``: ``delivered``, ``hard_bounce``, ``soft_bounce`` or ``complaint``. A hard
        bounce and a complaint suppress the address; a soft bounce is only recorded.
        """
        row = self.repository.lock_message(message_id)
        if row is None or row.workspace_id != workspace_id:
            return None
        if row.channel is not MessageChannel.EMAIL:
            return None
        now = self.clock()
        if kind == "delivered":
            if row.status in (MessageStatus.SENDING, MessageStatus.SENT):
                row.status, row.delivered_at = MessageStatus.DELIVERED, now
            self.announce(row, "Email Delivered", "delivered", {})
        elif kind == "hard_bounce":
            if row.status is not MessageStatus.COMPLAINED:
                row.status, row.reason = MessageStatus.BOUNCED, domain.HARD_BOUNCE
                row.reason_detail, row.finished_at = detail[:1000] or None, now
            self.suppress(row, domain.HARD_BOUNCE)
            self.announce(row, "Email Bounced", "bounced", {"hard": True, "detail": detail})
        elif kind == "soft_bounce":
            self.announce(row, "Email Bounced", "soft_bounce", {"hard": False, "detail": detail})
        elif kind == "complaint":
            row.status, row.reason = MessageStatus.COMPLAINED, domain.COMPLAINT
            row.reason_detail = detail[:1000] or None
            self.suppress(row, domain.COMPLAINT)
            self.announce(row, "Email Marked as Spam", "complaint", {})
        row.updated_at = now
        self.session.flush()
        return row

    # Clicks ------------------------------------------------------------------------------------

    def click(self, message_id: str, index: int, at: datetime | None = None) -> str | None:
        """Count a click on a tracked link and put it on the timeline; the URL to go to, or
        None when the message or the link is not there any more."""
        row = self.repository.message_of_any_workspace(message_id)
        if row is None or not 0 <= index < len(row.links or []):
            return None
        url = str(row.links[index])
        self.repository.count_click(row.id, at or self.clock())
        event = "Email Link Clicked" if row.channel is MessageChannel.EMAIL else "SMS Link Clicked"
        what = f"click:{secrets.token_hex(8)}"  # every click is an event of its own
        self.announce(row, event, what, {"url": url, "link_index": index})
        return url
