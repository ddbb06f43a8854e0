"""A workspace's sending rules and sender identity (``message_setting``), and the transports
they and the deployment's settings make.

The row is made with defaults the first time it is read: the brand is the workspace's name,
quiet hours 08:00-20:00 (the strictest US states' window, so a safe default everywhere),
caps of 16 h for email and 24 h for SMS (Klaviyo's smart sending), and no default zone (a
marketing SMS to someone whose zone is unknown waits rather than wakes them).

The SMTP server and the SMS API's address come from the deployment (``TESSERA_SMTP_*``,
``TESSERA_SMS_*``). A workspace may bring its own SMS account: its sid is kept in the clear,
its auth token sealed (``tessera.kit.secrets``) and opened only to send or to check a webhook.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from email.utils import parseaddr
from typing import Any

from sqlalchemy.orm import Session

from tessera.config import HoldsKeyring, Settings, get_settings
from tessera.integrations.sms.client import SmsClient
from tessera.integrations.smtp.client import SmtpTransport
from tessera.kit.errors import InvalidInput
from tessera.kit.secrets import Keyring
from tessera.kit.time import utcnow
from tessera.message.domain import parse_clock
from tessera.message.repository import MessageRepository
from tessera.message.zones import zone_named
from tessera.models.message import MessageSetting
from tessera.workspace.service import WorkspaceService

MAX_CAP_HOURS = 24 * 7
SMS_TOKEN = "sms_auth_token"  # noqa: S105 - the name of a sealed credential, not one


@dataclass(frozen=True, slots=True)
class SendingRules:
    brand_name: str
    email_from: str
    sms_from: str
    help_text: str
    default_timezone: str | None
    quiet_start: time
    quiet_end: time
    email_cap: timedelta | None
    sms_cap: timedelta | None


@dataclass(frozen=True, slots=True)
class SettingsChange:
    """What a caller may change; None leaves a value as it is."""

    brand_name: str | None = None
    email_from: str | None = None
    sms_from: str | None = None
    help_text: str | None = None
    default_timezone: str | None = None
    clear_default_timezone: bool = False
    quiet_start: str | None = None
    quiet_end: str | None = None
    email_cap_hours: int | None = None
    sms_cap_hours: int | None = None
    sms_account_sid: str | None = None
    sms_auth_token: str | None = None


class MessageSettings(HoldsKeyring):
    """Reads and changes a workspace's sending settings. Never commits."""

    def __init__(
        self, session: Session, settings: Settings | None = None, keyring: Keyring | None = None
    ) -> None:
        self.session = session
        self.repository = MessageRepository(session)
        self._settings = settings
        self._keyring = keyring or (settings.keyring() if settings else None)

    @property
    def settings(self) -> Settings:
        return self._settings or get_settings()

    def current(self, workspace_id: str) -> MessageSetting:
        """The workspace's row, made with the defaults if it has none yet."""
        row = self.repository.setting(workspace_id)
        if row is not None:
            return row
        workspace = WorkspaceService(self.session).get_workspace(workspace_id)
        self.repository.ensure_setting(
            {
                "workspace_id": workspace_id,
                "brand_name": workspace.name,
                "email_from": f"{workspace.name} <hello@{workspace.slug}.example>",
                "sms_from": "",
                "help_text": "",
                "default_timezone": None,
                "quiet_start": "08:00",
                "quiet_end": "20:00",
                "email_cap_hours": 16,
                "sms_cap_hours": 24,
                "sms_account_sid": "",
                "credentials": {},
                "updated_at": utcnow(),
            }
        )
        row = self.repository.setting(workspace_id)
        assert row is not None, "inserted a statement ago, or by a concurrent first reader"
        return row

    def rules(self, workspace_id: str) -> SendingRules:
        row = self.current(workspace_id)
        return SendingRules(
            brand_name=row.brand_name,
            email_from=row.email_from,
            sms_from=row.sms_from,
            help_text=row.help_text,
            default_timezone=row.default_timezone,
            quiet_start=parse_clock(row.quiet_start, "quiet_start"),
            quiet_end=parse_clock(row.quiet_end, "quiet_end"),
            email_cap=timedelta(hours=row.email_cap_hours) if row.email_cap_hours else None,
            sms_cap=timedelta(hours=row.sms_cap_hours) if row.sms_cap_hours else None,
        )

    def change(self, workspace_id: str, change: SettingsChange, actor: str) -> MessageSetting:
        """Apply a change, checked whole first: refuses (422, naming the field) a sender
        address that is not one, an SMS sender that is neither E.164 nor a messaging service
        sid, an unknown zone, quiet hours that are not HH:MM with the start before the end,
        and caps outside 0-168 hours. The auth token is sealed before it is stored."""
        row = self.current(workspace_id)
        values = _checked(row, change)
        for name, value in values.items():
            setattr(row, name, value)
        if change.sms_auth_token is not None:
            token = change.sms_auth_token.strip()
            row.credentials = self.keyring.seal({SMS_TOKEN: token}) if token else {}
        row.updated_by = actor
        row.updated_at = utcnow()
        self.session.flush()
        changed = sorted({*values, *([SMS_TOKEN] if change.sms_auth_token is not None else [])})
        WorkspaceService(self.session).record(
            workspace_id, actor, "message_settings.changed", workspace_id, {"fields": changed}
        )
        return row

    def has_own_sms_token(self, row: MessageSetting) -> bool:
        return bool(row.credentials)

    def sms_auth_token(self, row: MessageSetting) -> str:
        """The workspace's own SMS auth token, else the deployment's."""
        if row.credentials:
            opened = self.keyring.open(
                row.credentials, f"the SMS auth token of workspace {row.workspace_id}"
            )
            if isinstance(opened, dict) and opened.get(SMS_TOKEN):
                return str(opened[SMS_TOKEN])
        return self.settings.sms_auth_token.get_secret_value()

    def sms_client(self, row: MessageSetting) -> SmsClient:
        settings = self.settings
        return SmsClient(
            settings.sms_base_url,
            row.sms_account_sid or settings.sms_account_sid,
            self.sms_auth_token(row),
            timeout=settings.sms_timeout_seconds,
        )

    def smtp(self) -> SmtpTransport:
        settings = self.settings
        return SmtpTransport(
            settings.smtp_host,
            settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value(),
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )

    def reseal_credentials(self) -> int:
        """Seal every workspace's SMS token again under the current key; returns how many."""
        count = 0
        for row in self.repository.lock_every_setting():
            if row.credentials:
                row.credentials = self.keyring.reseal(
                    row.credentials, f"the SMS auth token of workspace {row.workspace_id}"
                )
                count += 1
        self.session.flush()
        return count


def _checked(row: MessageSetting, change: SettingsChange) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if change.brand_name is not None:
        if not change.brand_name.strip():
            raise InvalidInput("the brand needs a name", field="brand_name")
        values["brand_name"] = change.brand_name.strip()
    if change.email_from is not None:
        _name, address = parseaddr(change.email_from)
        if "@" not in address or " " in address or "\n" in change.email_from:
            raise InvalidInput(
                'email_from must be an address such as "Brand <hello@brand.example>"',
                field="email_from",
            )
        values["email_from"] = change.email_from.strip()
    if change.sms_from is not None:
        sender = change.sms_from.strip()
        if sender and not _is_sms_sender(sender):
            raise InvalidInput(
                "sms_from must be a number in E.164 (+14155550100) or a messaging service sid",
                field="sms_from",
            )
        values["sms_from"] = sender
    if change.help_text is not None:
        values["help_text"] = change.help_text.strip()
    if change.clear_default_timezone:
        values["default_timezone"] = None
    elif change.default_timezone is not None:
        if zone_named(change.default_timezone) is None:
            raise InvalidInput(
                f"{change.default_timezone!r} is not an IANA time zone such as America/New_York",
                field="default_timezone",
            )
        values["default_timezone"] = change.default_timezone
    start = change.quiet_start if change.quiet_start is not None else row.quiet_start
    end = change.quiet_end if change.quiet_end is not None else row.quiet_end
    for field, value in (("quiet_start", start), ("quiet_end", end)):
        try:
            parse_clock(value, field)
        except ValueError as error:
            raise InvalidInput(str(error), field=field) from None
    if parse_clock(start, "quiet_start") >= parse_clock(end, "quiet_end"):
        raise InvalidInput("quiet_start must be before quiet_end", field="quiet_start")
    values["quiet_start"], values["quiet_end"] = start.strip(), end.strip()
    for field in ("email_cap_hours", "sms_cap_hours"):
        hours = getattr(change, field)
        if hours is not None:
            if not 0 <= hours <= MAX_CAP_HOURS:
                raise InvalidInput(f"{field} must be between 0 and {MAX_CAP_HOURS}", field=field)
            values[field] = hours
    if change.sms_account_sid is not None:
        values["sms_account_sid"] = change.sms_account_sid.strip()
    return values


def _is_sms_sender(value: str) -> bool:
    if value.startswith("MG"):
        return len(value) == 34 and value[2:].isalnum()
    return value.startswith("+") and value[1:].isdigit() and 8 <= len(value) <= 16
