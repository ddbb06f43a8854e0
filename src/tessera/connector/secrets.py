"""Sources' secrets (a Shopify shop's webhook secret): kept sealed in the source's settings
(``tessera.kit.secrets``), opened to verify a delivery, and sealed again when the key changes.

The keyring is the one passed in, else the process settings' (as the feeds do). A secret no
configured key opens is the server's fault, not the sender's: it is refused naming the source.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from tessera.collect.sources import SourceService
from tessera.config import HoldsKeyring
from tessera.kit.logging import get_logger
from tessera.kit.secrets import Keyring, SecretUnreadable, is_sealed
from tessera.models.collect import Source

log = get_logger("tessera.collect")


def secret_of(source: Source, name: str) -> str:
    """What a sealed secret is about, named in the refusal when it cannot be opened."""
    return f"the {name} of source {source.id} ({source.kind.value} {source.name})"


class SourceSecrets(HoldsKeyring):
    def __init__(self, session: Session, keyring: Keyring | None = None) -> None:
        self.session = session
        self.sources = SourceService(session)
        self._keyring = keyring

    def secret(self, source: Source, name: str) -> str | None:
        """The source's setting ``name`` (a secret), opened; None when it has none. Refuses
        (``SecretUnreadable``, 500, naming the source) a secret no configured key opens."""
        sealed = (source.settings or {}).get(name)
        if sealed is None:
            return None
        try:
            return str(self.keyring.open(sealed, secret_of(source, name)))
        except SecretUnreadable as error:
            log.error("source_secret_unreadable", source_id=source.id, error=error.detail)
            raise

    def reseal_secrets(self) -> int:
        """Seal every source's secrets (of every workspace) again under the current key, so a
        previous secret key can be dropped; returns how many sources. Refuses (500, naming the
        source) a secret no configured key opens, and the caller's scope then keeps nothing.
        """
        count = 0
        for source in self.sources.lock_every_source():
            settings = dict(source.settings or {})
            sealed = [name for name, value in settings.items() if is_sealed(value)]
            for name in sealed:
                settings[name] = self.keyring.reseal(settings[name], secret_of(source, name))
            if sealed:
                source.settings = settings
                count += 1
        self.session.flush()
        return count
