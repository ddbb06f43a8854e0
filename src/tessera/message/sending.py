"""The send: two jobs, so the outbox row says ``sending`` in a committed transaction before the
provider is called (ADR 0022).

A job handler runs inside its job's transaction and must not commit (``tessera.job``): its
writes and the job's completion commit together. A send that called the provider inside one
job would record the call only if that commit happened, and a crash between the provider's
answer and the commit would leave no trace that the message went out. So the send is split:

1. ``message.send_requested`` (``decide``) locks the row, applies the policy
   (``message.policy``: consent, suppression, the registered pre-send checks, the frequency
   cap, quiet hours), and then either skips it (reason kept), holds it (a new
   ``send_requested`` job at the next allowed time), or renders it, fixes what will be sent on
   the row (address, subject, body, links), marks it ``sending`` and enqueues
   ``message.delivered_to_provider``. That commit is the promise: from here on the message is
   either sent or reconciled, never decided again.
2. ``message.delivered_to_provider`` (``deliver``) calls the provider with the row's id as the
   idempotency key (SMS: the ``Idempotency-Key`` header; email: ``Message-ID:
   <msg_...@tessera>``) and records ``sent`` with the provider's id in its own commit.

If the worker dies between the provider's answer and that commit, the job's lease runs out
and another worker runs it again: the row is still ``sending``, and the job's attempt count
(committed by the claim, before the handler ran) says an earlier attempt may have reached the
provider. Then an SMS is first looked up at the provider by its key, and sent only if the
provider has none; an email is sent again with the same Message-ID and the same bytes (the
body was fixed in step 1, the Date is ``sending_at``), which mailbox providers collapse into
one: SMTP has no lookup, and a second copy with the same id is the least bad outcome (a
missing receipt is worse). Delivery webhooks settle the rest: a status callback for a row
still ``sending`` records it sent.

A provider's refusal (an invalid number, an unknown mailbox) is final and recorded (``failed``,
or ``bounced`` with the address suppressed); a timeout or a 5xx raises, and the job retries.
A delivery job that runs out of attempts (a provider down for hours) leaves its row
``sending``: retrying the dead job (the dashboard's jobs page, ``tessera jobs retry``) runs it
as a later attempt, so it reconciles before it sends.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tessera.config import Settings, get_settings
from tessera.integrations.sms.client import (
    INVALID_NUMBER,
    NOT_A_MOBILE,
    UNSUBSCRIBED_RECIPIENT,
    SmsReceipt,
    SmsRejected,
)
from tessera.integrations.smtp.client import EmailRefused, OutgoingEmail
from tessera.job.service import JobService
from tessera.kit.logging import get_logger
from tessera.kit.secrets import Keyring
from tessera.kit.time import Clock, utcnow
from tessera.message import domain, rendering
from tessera.message.configuration import MessageSettings, SendingRules
from tessera.message.feedback import Feedback
from tessera.message.policy import Go, Hold, SendPolicy, Skip
from tessera.message.recommendations import PurchaseSnapshots, RecommendationService
from tessera.message.repository import MessageRepository
from tessera.message.tokens import LinkSigner
from tessera.models.message import (
    PENDING_STATUSES,
    Message,
    MessageChannel,
    MessagePurpose,
    MessageStatus,
)

SEND_REQUESTED = "message.send_requested"
DELIVERY_REQUESTED = "message.delivered_to_provider"
ONE_CLICK = "List-Unsubscribe=One-Click"

ProviderAnswered = Callable[[Message, str], None]
# Called after the provider took a message and before the send is recorded: observers of that
# moment (the fault-injection test kills the worker here).
PROVIDER_ANSWERED: list[ProviderAnswered] = []

log = get_logger("tessera.message")


def requested_key(message_id: str, at: datetime | None = None) -> str:
    """The ``send_requested`` job's key: one per row, and one more per hold."""
    return f"message:{message_id}:requested" + (f":{at.isoformat()}" if at else "")


def delivery_key(message_id: str) -> str:
    return f"message:{message_id}:delivery"


class SendingService:
    """The two steps of a send (see the module docstring). Never commits."""

    def __init__(
        self,
        session: Session,
        clock: Clock = utcnow,
        settings: Settings | None = None,
        keyring: Keyring | None = None,
        snapshots: PurchaseSnapshots | None = None,
    ) -> None:
        self.session = session
        self.snapshots = snapshots
        self.clock = clock
        self.settings = settings or get_settings()
        self.repository = MessageRepository(session)
        self.configuration = MessageSettings(session, self.settings, keyring)
        self.policy = SendPolicy(session)
        self.feedback = Feedback(session, clock)
        self.signer = LinkSigner(self.settings)

    # Step 1: decide --------------------------------------------------------------------------

    def decide(self, message_id: str) -> MessageStatus | None:
        """Skip, hold, or fix and mark ``sending`` a queued or held row; returns its status.
        A row already decided is left alone (the job ran twice)."""
        now = self.clock()
        row = self.repository.message_of_any_workspace(message_id)
        if row is None or row.status not in PENDING_STATUSES:
            return row.status if row else None
        rules = self.configuration.rules(row.workspace_id)
        self.policy.lock_for_cap(row, rules, now)
        row = self.repository.lock_message(message_id)
        if row is None or row.status not in PENDING_STATUSES:  # decided while we waited
            return row.status if row else None
        template = self.repository.template(row.workspace_id, row.template_id)
        if template is None:
            return self._finish(
                row,
                MessageStatus.FAILED,
                domain.TEMPLATE_MISSING,
                f"template {row.template_name} was deleted",
                now,
            )
        verdict = self.policy.verdict(row, rules, now)
        if isinstance(verdict, Skip):
            return self._finish(row, MessageStatus.SKIPPED, verdict.reason, verdict.detail, now)
        if isinstance(verdict, Hold):
            return self._hold(row, verdict, now)
        assert isinstance(verdict, Go)
        sender = rules.email_from if row.channel is MessageChannel.EMAIL else rules.sms_from
        if not sender:
            return self._finish(
                row,
                MessageStatus.FAILED,
                domain.NOT_CONFIGURED,
                f"the workspace has no {row.channel.value} sender",
                now,
            )
        try:
            rendered = self._render(
                row, template.format, template.subject, template.body, verdict, rules
            )
        except rendering.RenderError as error:
            return self._finish(
                row, MessageStatus.FAILED, domain.RENDER_FAILED, error.fault.describe(), now
            )
        row.to_address, row.from_address = verdict.address, sender
        self._fix_content(row, rendered)
        row.status, row.reason, row.reason_detail = MessageStatus.SENDING, None, None
        row.sending_at = row.updated_at = now
        row.next_attempt_at = None
        self.session.flush()
        JobService(self.session).enqueue(
            DELIVERY_REQUESTED,
            {"message_id": row.id},
            workspace_id=row.workspace_id,
            run_at=now,
            idempotency_key=delivery_key(row.id),
        )
        return row.status

    def _render(
        self,
        row: Message,
        format: Any,
        subject: str,
        body: str,
        verdict: Go,
        rules: SendingRules,
    ) -> rendering.Rendered:
        unsubscribe = self.signer.unsubscribe_url(row.id)
        data: dict[str, Any] = {
            **{key: value for key, value in (row.context or {}).items()},
            "profile": rendering.profile_view(
                dict(verdict.person.profile.traits), verdict.person.profile.id
            ),
            "links": {"unsubscribe": unsubscribe, "preferences": unsubscribe},
            "brand": {"name": rules.brand_name, "help": rules.help_text},
        }
        if rendering.uses(rendering.RECOMMENDATIONS, subject, body):
            picks = RecommendationService(self.session, self.clock, self.snapshots).for_profile(
                row.workspace_id, verdict.person.profile.id
            )
            data[rendering.RECOMMENDATIONS] = [pick.as_context() for pick in picks]
        rendered = rendering.render(row.channel, format, subject, body, data)
        if row.channel is MessageChannel.SMS:
            text = rendered.body
            if row.purpose is MessagePurpose.MARKETING:
                text = domain.with_disclosure(text)
            return rendering.Rendered("", text, text)
        return rendered

    def _fix_content(self, row: Message, rendered: rendering.Rendered) -> None:
        """Put what will be sent on the row, its links swapped for tracked ones."""
        keep = {self.signer.unsubscribe_url(row.id)}

        def tracked(index: int) -> str:
            return self.signer.click_url(row.id, index)

        if row.channel is MessageChannel.SMS:
            text, links = rendering.track_text_links(rendered.body, tracked, keep)
            segments = domain.sms_segments(text)
            row.body, row.body_text, row.subject = text, text, None
            row.sms_encoding, row.sms_segments = segments.encoding, segments.count
        else:
            markup, links = rendering.track_html_links(rendered.body, tracked, keep)
            row.subject, row.body = rendered.subject, markup
            row.body_text = rendering.html_to_text(markup)
        row.links = links

    def _hold(self, row: Message, hold: Hold, now: datetime) -> MessageStatus:
        if row.status is not MessageStatus.HELD or row.reason != hold.reason:
            row.held_at = now
        row.status, row.reason, row.reason_detail = MessageStatus.HELD, hold.reason, hold.detail
        row.next_attempt_at, row.updated_at = hold.until, now
        self.session.flush()
        JobService(self.session).enqueue(
            SEND_REQUESTED,
            {"message_id": row.id},
            workspace_id=row.workspace_id,
            run_at=hold.until,
            idempotency_key=requested_key(row.id, hold.until),
        )
        return row.status

    def _finish(
        self, row: Message, status: MessageStatus, reason: str, detail: str, now: datetime
    ) -> MessageStatus:
        row.status, row.reason, row.reason_detail = status, reason, detail[:1000]
        row.finished_at = row.updated_at = now
        row.next_attempt_at = None
        self.session.flush()
        log.info("message_not_sent", message_id=row.id, status=status.value, reason=reason)
        return status

    # Step 2: deliver -------------------------------------------------------------------------

    def deliver(self, message_id: str, *, retried: bool) -> MessageStatus | None:
        """Hand a ``sending`` row to its provider and record the answer; ``retried`` says an
        earlier attempt of this step may have reached the provider (see the module docstring).
        Raises what is worth retrying (a timeout, a 5xx)."""
        row = self.repository.lock_message(message_id)
        if row is None or row.status is not MessageStatus.SENDING:
            return row.status if row else None
        now = self.clock()
        if row.channel is MessageChannel.SMS:
            provider_id = self._deliver_sms(row, retried, now)
        else:
            provider_id = self._deliver_email(row, retried, now)
        if provider_id is None:
            return row.status
        for observer in PROVIDER_ANSWERED:
            observer(row, provider_id)
        self.record_sent(row, provider_id, now)
        return row.status

    def record_sent(self, row: Message, provider_id: str, now: datetime) -> None:
        """The provider took the message: ``sent``, and the event on the person's timeline."""
        row.status, row.provider_id = MessageStatus.SENT, provider_id
        row.sent_at = row.updated_at = now
        self.session.flush()
        event = "Email Sent" if row.channel is MessageChannel.EMAIL else "SMS Sent"
        self.feedback.announce(row, event, "sent", {})

    def _deliver_sms(self, row: Message, retried: bool, now: datetime) -> str | None:
        assert row.to_address and row.from_address and row.body is not None
        setting = self.configuration.current(row.workspace_id)
        try:
            with self.configuration.sms_client(setting) as client:
                receipt: SmsReceipt | None = client.find(row.id) if retried else None
                if receipt is not None:
                    log.info("message_reconciled", message_id=row.id, provider_id=receipt.sid)
                else:
                    receipt = client.send(
                        to=row.to_address,
                        sender=row.from_address,
                        body=row.body,
                        idempotency_key=row.id,
                        status_callback=self.status_callback_url(row),
                    )
        except SmsRejected as refusal:
            self._sms_refused(row, refusal, now)
            return None
        return receipt.sid

    def status_callback_url(self, row: Message) -> str:
        return (
            f"{self.settings.public_url}/v1/messages/sms/{row.workspace_id}/status"
            f"?message_id={row.id}"
        )

    def _sms_refused(self, row: Message, refusal: SmsRejected, now: datetime) -> None:
        code = refusal.code
        reason = {
            INVALID_NUMBER: domain.INVALID_ADDRESS,
            NOT_A_MOBILE: domain.INVALID_ADDRESS,
            UNSUBSCRIBED_RECIPIENT: domain.OPTED_OUT,
        }.get(code or 0, domain.PROVIDER_REFUSED)
        if code is None and refusal.status is None:
            reason = domain.NOT_CONFIGURED
        row.error_code = str(code) if code else None
        self._finish(row, MessageStatus.FAILED, reason, str(refusal), now)
        if code == UNSUBSCRIBED_RECIPIENT and row.to_address:
            # The carrier holds a STOP we never saw: keep it, so nothing else is queued to fail.
            self.feedback.suppress(row, domain.SMS_STOP)
        self.feedback.announce(row, "SMS Failed", "failed", {"error_code": row.error_code})

    def _deliver_email(self, row: Message, retried: bool, now: datetime) -> str | None:
        assert row.to_address and row.from_address and row.sending_at
        headers: dict[str, str] = {}
        if row.purpose is MessagePurpose.MARKETING:
            unsubscribe = self.signer.unsubscribe_url(row.id)
            mailbox = row.from_address.rpartition("@")[2].rstrip(">").strip()
            headers["List-Unsubscribe"] = (
                f"<{unsubscribe}>, <mailto:unsubscribe@{mailbox}?subject=unsubscribe%20{row.id}>"
            )
            headers["List-Unsubscribe-Post"] = ONE_CLICK
        email = OutgoingEmail(
            message_id=domain.message_id_header(row.id),
            sender=row.from_address,
            recipient=row.to_address,
            subject=row.subject or "",
            html=row.body or "",
            text=row.body_text or "",
            date=row.sending_at,
            headers=headers,
        )
        if retried:
            log.info("message_sent_again", message_id=row.id, message_id_header=email.message_id)
        try:
            self.configuration.smtp().send(email)
        except EmailRefused as refusal:
            row.error_code = str(refusal.code) if refusal.code else None
            self._finish(row, MessageStatus.BOUNCED, domain.HARD_BOUNCE, str(refusal), now)
            self.feedback.suppress(row, domain.HARD_BOUNCE)
            self.feedback.announce(row, "Email Bounced", "bounced", {"hard": True})
            return None
        return email.message_id
