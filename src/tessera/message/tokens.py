"""Signed links in messages: one-click unsubscribe (``/u/TOKEN``) and tracked clicks
(``/c/TOKEN``).

A token is the outbox row's id (and for a click, the link's index in the row's ``links``)
signed with a key derived from ``TESSERA_SECRET_KEY`` (itsdangerous; a salt per purpose, so a
click token is no unsubscribe token). Old secret keys still verify, so rotating the key does
not break links in mail already delivered. A click resolves to a URL the row holds, never to
one the token names: a tracked link cannot be turned into an open redirect.
"""

from __future__ import annotations

from itsdangerous import BadData, URLSafeSerializer

from tessera.config import Settings
from tessera.message.errors import LinkNotFound

UNSUBSCRIBE_SALT = "tessera.message.unsubscribe"
CLICK_SALT = "tessera.message.click"


class LinkSigner:
    def __init__(self, settings: Settings) -> None:
        keys = [key.get_secret_value() for key in settings.previous_secret_keys]
        keys.append(settings.secret_key.get_secret_value())  # the last one signs
        self.base_url = settings.public_url
        self._unsubscribe = URLSafeSerializer(keys, salt=UNSUBSCRIBE_SALT)
        self._click = URLSafeSerializer(keys, salt=CLICK_SALT)

    def unsubscribe_url(self, message_id: str) -> str:
        return f"{self.base_url}/u/{self._unsubscribe.dumps(message_id)}"

    def click_url(self, message_id: str, index: int) -> str:
        return f"{self.base_url}/c/{self._click.dumps([message_id, index])}"

    def unsubscribe_message(self, token: str) -> str:
        """The message an unsubscribe token was made for; refuses (404) any other string."""
        try:
            value = self._unsubscribe.loads(token)
        except BadData:
            raise LinkNotFound("this unsubscribe link is not valid") from None
        if not isinstance(value, str):
            raise LinkNotFound("this unsubscribe link is not valid")
        return value

    def clicked(self, token: str) -> tuple[str, int]:
        """The message and link index a click token names; refuses (404) any other string."""
        try:
            value = self._click.loads(token)
        except BadData:
            raise LinkNotFound("this link is not valid") from None
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not isinstance(value[0], str)
            or not isinstance(value[1], int)
        ):
            raise LinkNotFound("this link is not valid")
        return value[0], value[1]
