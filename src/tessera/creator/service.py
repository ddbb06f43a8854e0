"""Creators' use cases: profiles with their platform accounts, duplicates refused by handle
(per platform, normalised) and email, the link to the customer profile the creator is, CSV
imports that keep going past a bad row, and "creators among your customers".

Never commits. A creator's embedding is computed when its text is written, so search never
embeds the corpus.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from tessera.creator import domain
from tessera.creator.embedding import embed, to_bytes
from tessera.creator.errors import CreatorNotFound, DuplicateCreator
from tessera.creator.importing import Problem, read_rows
from tessera.creator.index import text_of
from tessera.creator.repository import CreatorRepository
from tessera.creator.schemas import AccountIn, CreatorIn, CreatorPatch
from tessera.identity.graph.service import IdentityService
from tessera.kit.ids import new_id
from tessera.kit.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from tessera.kit.time import Clock, utcnow
from tessera.models.creator import Creator, CreatorAccount, CreatorStatus

IMPORT_BATCH = 500
# Traits a shop or a form states about a person that say they create: their handles.
CREATOR_TRAITS = ("instagram", "tiktok", "youtube", "pinterest", "twitch", "creator")


@dataclass(frozen=True, slots=True)
class CreatorView:
    creator: Creator
    accounts: Sequence[CreatorAccount]


@dataclass(frozen=True, slots=True)
class RowReport:
    line: int
    field: str
    detail: str
    existing_id: str | None = None


@dataclass
class ImportReport:
    imported: int = 0
    linked: int = 0
    errors: list[RowReport] = field(default_factory=list)
    duplicates: list[RowReport] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CustomerCreator:
    """A customer whose traits say they create, and the creator they are, if any."""

    profile_id: str
    name: str | None
    email: str | None
    traits: dict[str, str]
    creator_id: str | None


def _duplicate_of(
    body: CreatorIn,
    handles: dict[tuple[str, str], str],
    emails: dict[str, str],
) -> tuple[str, str] | None:
    """(field, existing creator id) of the first handle or email already held."""
    for i, account in enumerate(body.accounts):
        owner = handles.get((account.platform, domain.handle_key(account.platform, account.handle)))
        if owner is not None:
            return f"accounts.{i}.handle", owner
    key = domain.email_key(body.email)
    if key is not None and key in emails:
        return "email", emails[key]
    return None


class CreatorService:
    """Creators of a workspace, on the caller's session. Never commits."""

    def __init__(self, session: Session, clock: Clock = utcnow) -> None:
        self.session = session
        self.clock = clock
        self.repository = CreatorRepository(session)

    # Reads ------------------------------------------------------------------------------------

    def get(self, workspace_id: str, creator_id: str) -> CreatorView:
        """The creator with its accounts; 404 for an unknown id or another workspace's."""
        row = self.repository.creator(workspace_id, creator_id)
        if row is None:
            raise CreatorNotFound(f"no creator {creator_id}", field="creator_id")
        return CreatorView(row, self.repository.accounts_of([row.id])[row.id])

    def views(self, workspace_id: str, ids: Sequence[str]) -> list[CreatorView]:
        """The creators of ``ids`` that exist in the workspace, in the order asked."""
        rows = self.repository.creators(workspace_id, list(ids))
        accounts = self.repository.accounts_of(list(rows))
        return [CreatorView(rows[i], accounts[i]) for i in ids if i in rows]

    def page(
        self, workspace_id: str, status: CreatorStatus | None, cursor: str | None, limit: int
    ) -> Page[CreatorView]:
        """Creators in the order they were added, optionally of one status."""
        limit = clamp_limit(limit)
        rows = self.repository.page(workspace_id, status, decode_cursor(cursor), limit + 1)
        items = rows[:limit]
        accounts = self.repository.accounts_of([r.id for r in items])
        next_cursor = encode_cursor(items[-1].id) if len(rows) > limit and items else None
        return Page([CreatorView(r, accounts[r.id]) for r in items], next_cursor)

    # Writes -----------------------------------------------------------------------------------

    def create(self, workspace_id: str, body: CreatorIn, source: str = "api") -> CreatorView:
        """Add a creator. Refuses (409, naming the field and ``existing_id``) a handle another
        creator holds on the same platform, however written (``@Ana``, ``ana``, the profile
        URL), or an email another creator has; links the customer profile it matches."""
        keys = [(a.platform, domain.handle_key(a.platform, a.handle)) for a in body.accounts]
        handles = self.repository.handle_owners(workspace_id, keys)
        email = domain.email_key(body.email)
        emails = self.repository.email_owners(workspace_id, [email] if email else [])
        duplicate = _duplicate_of(body, handles, emails) or _repeated_handle(body)
        if duplicate is not None:
            raise DuplicateCreator(
                f"{duplicate[0]} is creator {duplicate[1]}'s already",
                field=duplicate[0],
                existing_id=duplicate[1],
            )
        creator, accounts = self._rows(workspace_id, body, source)
        accounts.sort(key=lambda a: (a.platform, a.handle_key))
        creator.embedding = to_bytes(embed([self._text(creator)])[0])
        creator.profile_id = self._profile_of(workspace_id, body)
        if not self.repository.insert(creator, accounts):
            raise DuplicateCreator("a handle was just taken by another creator", field="accounts")
        return CreatorView(creator, accounts)

    def update(self, workspace_id: str, creator_id: str, patch: CreatorPatch) -> CreatorView:
        """Change the fields given; new accounts replace the old, refused (409) when a handle
        is another creator's."""
        view = self.get(workspace_id, creator_id)
        row = view.creator
        changes = patch.model_dump(exclude_unset=True, exclude={"accounts"})
        if "email" in changes:
            email = domain.email_key(changes["email"])
            owner = self.repository.email_owners(workspace_id, [email] if email else [])
            if email and owner.get(email, row.id) != row.id:
                raise DuplicateCreator(
                    f"email is creator {owner[email]}'s already",
                    field="email",
                    existing_id=owner[email],
                )
            row.email_key = email
        for name, value in changes.items():
            if value is not None or name == "email":
                setattr(row, name, value)
        accounts = view.accounts
        if patch.accounts is not None:
            self._check_own_handles(workspace_id, row.id, patch.accounts)
            accounts = [self._account(workspace_id, row.id, a) for a in patch.accounts]
            if not self.repository.replace_accounts(row.id, accounts):
                raise DuplicateCreator(
                    "a handle was just taken by another creator", field="accounts"
                )
        if {"name", "bio", "captions", "niches"} & changes.keys():
            row.embedding = to_bytes(embed([self._text(row)])[0])
        row.updated_at = self.clock()
        self.repository.flush()
        return CreatorView(row, accounts)

    def delete(self, workspace_id: str, creator_id: str) -> None:
        """Remove the creator and its accounts; 404 for an unknown id."""
        self.repository.delete(self.get(workspace_id, creator_id).creator)

    def _check_own_handles(
        self, workspace_id: str, creator_id: str, accounts: Sequence[AccountIn]
    ) -> None:
        keys = [(a.platform, domain.handle_key(a.platform, a.handle)) for a in accounts]
        held = self.repository.handle_owners(workspace_id, keys)
        for i, key in enumerate(keys):
            owner = held.get(key)
            if owner is not None and owner != creator_id:
                raise DuplicateCreator(
                    f"accounts.{i}.handle is creator {owner}'s already",
                    field=f"accounts.{i}.handle",
                    existing_id=owner,
                )
        if len(set(keys)) != len(keys):
            raise DuplicateCreator("the same handle is given twice", field="accounts")

    # Import -----------------------------------------------------------------------------------

    def import_csv(
        self,
        workspace_id: str,
        lines: Iterable[str],
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        """Add every creator of a CSV file (columns in ``creator.importing``). A row that does
        not parse is reported by line and field and the rest are imported; a row whose handle
        or email an existing creator (or an earlier row) holds is reported as a duplicate
        naming that creator, and not added. Raises ``HeaderError`` for a file with no header
        or no ``name`` column."""
        report = ImportReport()
        batch: list[tuple[int, CreatorIn]] = []
        for row in read_rows(lines):
            if row.creator is None:
                report.errors.extend(_reports(row.line, row.problems))
            else:
                batch.append((row.line, row.creator))
            if len(batch) >= IMPORT_BATCH:
                self._import_batch(workspace_id, batch, report)
                if progress is not None:
                    progress(len(batch))
                batch = []
        if batch:
            self._import_batch(workspace_id, batch, report)
            if progress is not None:
                progress(len(batch))
        return report

    def _import_batch(
        self, workspace_id: str, batch: list[tuple[int, CreatorIn]], report: ImportReport
    ) -> None:
        keys = [(a.platform, domain.handle_key(a.platform, a.handle))
                for _line, body in batch for a in body.accounts]  # fmt: skip
        handles = self.repository.handle_owners(workspace_id, keys)
        emails = self.repository.email_owners(
            workspace_id, [e for _l, b in batch if (e := domain.email_key(b.email))]
        )
        fresh: list[tuple[int, Creator, list[CreatorAccount], CreatorIn]] = []
        for line, body in batch:
            duplicate = _duplicate_of(body, handles, emails) or _repeated_handle(body)
            if duplicate is not None:
                report.duplicates.append(
                    RowReport(line, _column(body, duplicate[0]),
                              f"already creator {duplicate[1]}", duplicate[1])
                )  # fmt: skip
                continue
            creator, accounts = self._rows(workspace_id, body, "import")
            for account in accounts:  # later rows see this one as the holder
                handles[(account.platform, account.handle_key)] = creator.id
            if creator.email_key:
                emails.setdefault(creator.email_key, creator.id)
            fresh.append((line, creator, accounts, body))
        vectors = embed([self._text(c) for _l, c, _a, _b in fresh])
        for (line, creator, accounts, body), vector in zip(fresh, vectors, strict=True):
            creator.embedding = to_bytes(vector)
            creator.profile_id = self._profile_of(workspace_id, body)
            if not self.repository.insert(creator, accounts):
                report.duplicates.append(
                    RowReport(line, "accounts", "a handle was just taken by another creator")
                )
                continue
            report.imported += 1
            report.linked += creator.profile_id is not None

    # The customer profile ---------------------------------------------------------------------

    def _profile_of(self, workspace_id: str, body: CreatorIn) -> str | None:
        """The customer profile holding the creator's email, else one of its handles (as an
        identifier of type ``custom:<platform>``, as a shop's externalIds name them)."""
        identity = IdentityService(self.session)
        if body.email:
            found = identity.find_profile(workspace_id, "email", body.email)
            if found is not None:
                return found.id
        for account in body.accounts:
            key = domain.handle_key(account.platform, account.handle)
            for value in (key, f"@{key}"):
                found = identity.find_profile(workspace_id, f"custom:{account.platform}", value)
                if found is not None:
                    return found.id
        return None

    def customers_who_create(self, workspace_id: str, limit: int = 100) -> list[CustomerCreator]:
        """Customers whose traits name a social handle (``instagram``, ``tiktok``...): a
        discovery source of people who already buy from the brand, each with the creator
        they are when one is linked."""
        profiles = IdentityService(self.session).profiles_with_traits(
            workspace_id, CREATOR_TRAITS, clamp_limit(limit)
        )
        linked = self.repository.creators_of_profiles(workspace_id, [p.id for p in profiles])
        result = []
        for profile in profiles:
            traits: dict[str, Any] = profile.traits or {}
            name = " ".join(
                str(traits[k]) for k in ("first_name", "last_name") if traits.get(k)
            ) or traits.get("name")
            shown = {k: str(traits[k])[:200] for k in CREATOR_TRAITS if traits.get(k) is not None}
            email = traits.get("email")
            result.append(
                CustomerCreator(profile.id, str(name) if name else None,
                                str(email) if email else None, shown, linked.get(profile.id))
            )  # fmt: skip
        return result

    # Rows -------------------------------------------------------------------------------------

    def _rows(
        self, workspace_id: str, body: CreatorIn, source: str
    ) -> tuple[Creator, list[CreatorAccount]]:
        now = self.clock()
        creator = Creator(
            workspace_id=workspace_id,
            **body.model_dump(exclude={"accounts"}),
            email_key=domain.email_key(body.email),
            source=source,
            created_at=now,
            updated_at=now,
        )
        creator.id = new_id("crt")
        return creator, [self._account(workspace_id, creator.id, a) for a in body.accounts]

    @staticmethod
    def _account(workspace_id: str, creator_id: str, account: AccountIn) -> CreatorAccount:
        return CreatorAccount(
            workspace_id=workspace_id,
            creator_id=creator_id,
            platform=account.platform,
            handle=domain.handle_shown(account.platform, account.handle),
            handle_key=domain.handle_key(account.platform, account.handle),
            url=account.url or (account.handle.strip() if "/" in account.handle else None),
            followers=account.followers,
            engagement_rate=account.engagement_rate,
        )

    @staticmethod
    def _text(creator: Creator) -> str:
        return text_of(creator.name, creator.bio, creator.captions, creator.niches)


def _repeated_handle(body: CreatorIn) -> tuple[str, str] | None:
    keys = [(a.platform, domain.handle_key(a.platform, a.handle)) for a in body.accounts]
    if len(set(keys)) != len(keys):
        return "accounts", "(this creator)"
    return None


def _column(body: CreatorIn, field_name: str) -> str:
    """The CSV column a duplicate's field came from: the platform's, or ``email``."""
    if field_name.startswith("accounts."):
        return body.accounts[int(field_name.split(".")[1])].platform
    return field_name


def _reports(line: int, problems: Sequence[Problem]) -> list[RowReport]:
    return [RowReport(line, p.field, p.detail) for p in problems]
