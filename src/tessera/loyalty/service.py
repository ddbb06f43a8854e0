"""Loyalty's use cases: the program, members and their ledger, adjustments, rewards taken as
discount codes, and a code redeemed by the site or a store's till.

Spending (a reward, a negative adjustment) takes the member's row lock, sums the entries and
writes its entry only if the sum allows it, so concurrent redemptions in several processes
never take a balance below zero. Every write carries an idempotency key unique in the
workspace. Never commits.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tessera.identity.graph.service import IdentityService
from tessera.kit.errors import InvalidInput
from tessera.kit.ids import new_id
from tessera.kit.pagination import Page, clamp_limit, decode_cursor, encode_cursor, page_from
from tessera.kit.time import Clock, utcnow
from tessera.loyalty import domain
from tessera.loyalty.errors import (
    CodeAlreadyRedeemed,
    CodeNotFound,
    InsufficientPoints,
    InvalidProgram,
    KeyReused,
    MemberNotFound,
    ProgramNotFound,
    RewardNotFound,
)
from tessera.loyalty.repository import LoyaltyRepository, MemberBalance
from tessera.loyalty.schemas import ProgramIn
from tessera.models.loyalty import (
    EntryKind,
    LoyaltyCode,
    LoyaltyEntry,
    LoyaltyMember,
    LoyaltyProgram,
    LoyaltyRegistration,
)
from tessera.models.workspace import Workspace
from tessera.workspace.service import WorkspaceService


@dataclass(frozen=True, slots=True)
class MemberView:
    member: LoyaltyMember
    balance: int
    codes: Sequence[LoyaltyCode]


@dataclass(frozen=True, slots=True)
class Overview:
    members: int
    by_tier: dict[str | None, int]
    outstanding: int  # points held by members: the liability
    by_kind: dict[str, int]
    currency: str | None
    points_per_unit: int | None


def tiers_of(program: LoyaltyProgram) -> list[domain.Tier]:
    return [domain.Tier(t["name"], int(t["threshold"])) for t in program.tiers]


def expiry_of(program: LoyaltyProgram, earned_at: datetime) -> datetime | None:
    if program.expiry_months is None:
        return None
    return domain.add_months(earned_at, program.expiry_months)


class LoyaltyService:
    """The program and its members, on the caller's session. Never commits."""

    def __init__(self, session: Session, clock: Clock = utcnow) -> None:
        self.session = session
        self.clock = clock
        self.repository = LoyaltyRepository(session)

    # Program ---------------------------------------------------------------------------------

    def program(self, workspace_id: str) -> LoyaltyProgram:
        """The workspace's program; 404 when it has none."""
        program = self.repository.program(workspace_id)
        if program is None:
            raise ProgramNotFound("this workspace has no loyalty program yet; PUT one first")
        return program

    def find_program(self, workspace_id: str) -> LoyaltyProgram | None:
        return self.repository.program(workspace_id)

    def save_program(self, workspace_id: str, change: ProgramIn, actor: str) -> LoyaltyProgram:
        """Replace the workspace's program (made on first save, with its registration key).

        Refuses two tiers or two rewards of one name (422 naming the field). The currency
        defaults to the workspace's; points already earned stay as they are.
        """
        names = [t.name for t in change.tiers]
        if len(set(names)) != len(names):
            raise InvalidProgram("two tiers have the same name", field="tiers")
        keys = [r.key for r in change.rewards]
        if len(set(keys)) != len(keys):
            raise InvalidProgram("two rewards have the same key", field="rewards")
        workspace = self.session.get(Workspace, workspace_id)
        currency = change.currency or (workspace.currency if workspace else "USD")
        values: dict[str, Any] = {
            "is_enabled": change.is_enabled,
            "currency": currency,
            "points_per_unit": change.points_per_unit,
            "registration_points": change.registration_points,
            "expiry_months": change.expiry_months,
            "tier_basis": change.tier_basis,
            "tiers": [t.model_dump() for t in sorted(change.tiers, key=lambda t: t.threshold)],
            "rewards": [r.model_dump() for r in change.rewards],
            "updated_at": self.clock(),
        }
        program = self.repository.program(workspace_id)
        if program is None:
            program = LoyaltyProgram(
                workspace_id=workspace_id,
                registration_key="lrk_" + secrets.token_urlsafe(18),
                **values,
            )
            self.repository.add(program)
        else:
            for name, value in values.items():
                setattr(program, name, value)
            self.session.flush()
        WorkspaceService(self.session).record(
            workspace_id, actor, "loyalty.program_saved", workspace_id, {"tiers": names}
        )
        return program

    # Members and their ledger ----------------------------------------------------------------

    def live_profile_id(self, workspace_id: str, profile_id: str) -> str:
        """The profile's live id (the survivor of any merge); 404 for an unknown profile."""
        return IdentityService(self.session).resolve(workspace_id, profile_id).id

    def member(self, workspace_id: str, profile_id: str) -> MemberView:
        """A member's balance (the sum of their entries), tier and codes; a profile merged
        into another shows the survivor's. 404 for a profile that is not a member."""
        live = self.live_profile_id(workspace_id, profile_id)
        member = self.repository.member(workspace_id, live)
        if member is None:
            raise MemberNotFound(f"profile {profile_id} has no loyalty points")
        return MemberView(
            member, self.repository.balance(member.id), self.repository.codes_of(member.id)
        )

    def members(
        self, workspace_id: str, tier: str | None, cursor: str | None, limit: int
    ) -> Page[MemberBalance]:
        """Members with their balances in the order they joined, optionally of one tier."""
        limit = clamp_limit(limit)
        rows = self.repository.members_page(workspace_id, tier, decode_cursor(cursor), limit + 1)
        has_more = len(rows) > limit
        items = rows[:limit]
        next_cursor = encode_cursor(items[-1].member.id) if has_more and items else None
        return Page(items=items, next_cursor=next_cursor)

    def entries(
        self, workspace_id: str, profile_id: str, cursor: str | None, limit: int
    ) -> Page[LoyaltyEntry]:
        """A member's ledger, newest first."""
        limit = clamp_limit(limit)
        view = self.member(workspace_id, profile_id)
        rows = self.repository.entries_page(view.member.id, decode_cursor(cursor), limit + 1)
        return page_from(rows, limit)

    def overview(self, workspace_id: str) -> Overview:
        """Members per tier and the points outstanding: what the program owes."""
        program = self.repository.program(workspace_id)
        by_tier = self.repository.tier_counts(workspace_id)
        return Overview(
            members=sum(by_tier.values()),
            by_tier=by_tier,
            outstanding=self.repository.outstanding(workspace_id),
            by_kind=self.repository.points_by_kind(workspace_id),
            currency=program.currency if program else None,
            points_per_unit=program.points_per_unit if program else None,
        )

    # Writing the ledger ----------------------------------------------------------------------

    def adjust(
        self,
        workspace_id: str,
        profile_id: str,
        points: int,
        reason: str,
        idempotency_key: str,
        actor: str,
    ) -> LoyaltyEntry:
        """Add or take points by hand, with the reason. A taking never leaves the balance
        below zero (409); the same key again returns the first adjustment, and a key used
        for a different adjustment is refused (409)."""
        if points == 0:
            raise InvalidInput("an adjustment moves at least one point", field="points")
        program = self.program(workspace_id)
        live = self.live_profile_id(workspace_id, profile_id)
        now = self.clock()
        member = self.repository.locked_member(workspace_id, live, now)
        key = f"adjust:{idempotency_key}"
        before = self.repository.entry_by_key(workspace_id, key)
        if before is not None:
            if before.member_id != member.id or before.points != points:
                raise KeyReused("this idempotency key was used for another adjustment")
            return before
        if points < 0 and self.repository.balance(member.id) + points < 0:
            raise InsufficientPoints(
                f"the member holds {self.repository.balance(member.id)} points; "
                f"{-points} cannot be taken",
                field="points",
            )
        entry_id = self.repository.insert_entry(
            {
                "id": _entry_id(),
                "workspace_id": workspace_id,
                "member_id": member.id,
                "kind": EntryKind.ADJUSTED,
                "points": points,
                "idempotency_key": key,
                "source": "adjustment",
                "reference": idempotency_key,
                "detail": {"reason": reason, "actor": actor},
                "occurred_at": now,
                "expires_at": expiry_of(program, now) if points > 0 else None,
                "created_at": now,
            }
        )
        assert entry_id is not None  # the key was free under the member's lock
        WorkspaceService(self.session).record(
            workspace_id, actor, "loyalty.adjusted", live, {"points": points, "reason": reason}
        )
        entry = self.repository.entry_by_key(workspace_id, key)
        assert entry is not None
        return entry

    def redeem_reward(
        self, workspace_id: str, profile_id: str, reward_key: str, idempotency_key: str
    ) -> LoyaltyCode:
        """Spend a reward's points for a fresh discount code.

        Refuses a reward the program does not offer (422, field ``reward``) and a balance
        short of the cost (409; nothing written). Under the member's row lock, so two
        redemptions at once cannot both spend the same points. The same key again returns
        the same code.
        """
        program = self.program(workspace_id)
        live = self.live_profile_id(workspace_id, profile_id)
        reward = next((r for r in program.rewards if r["key"] == reward_key), None)
        if reward is None:
            raise RewardNotFound(f"the program offers no reward {reward_key!r}", field="reward")
        now = self.clock()
        member = self.repository.locked_member(workspace_id, live, now)
        key = f"redeem:{idempotency_key}"
        before = self.repository.entry_by_key(workspace_id, key)
        if before is not None:
            code = self.repository.code_by_entry(before.id)
            if before.member_id != member.id or code is None or code.reward_key != reward_key:
                raise KeyReused("this idempotency key was used for another redemption")
            return code
        cost = int(reward["points_cost"])
        balance = self.repository.balance(member.id)
        if balance < cost:
            raise InsufficientPoints(
                f"{reward['name']} costs {cost} points; the member holds {balance}",
                field="reward",
            )
        entry_id = _entry_id()
        fresh = domain.new_code()
        written = self.repository.insert_entry(
            {
                "id": entry_id,
                "workspace_id": workspace_id,
                "member_id": member.id,
                "kind": EntryKind.REDEEMED,
                "points": -cost,
                "idempotency_key": key,
                "source": "reward",
                "reference": fresh,
                "detail": {"reward": reward_key},
                "occurred_at": now,
                "expires_at": None,
                "created_at": now,
            }
        )
        assert written is not None
        row = LoyaltyCode(
            workspace_id=workspace_id,
            member_id=member.id,
            code=fresh,
            reward_key=reward_key,
            reward_name=reward["name"],
            discount_kind=reward["kind"],
            discount_value=int(reward["value"]),
            currency=program.currency,
            points_cost=cost,
            entry_id=entry_id,
            issued_at=now,
        )
        self.repository.add(row)
        return row

    # Codes at the till -----------------------------------------------------------------------

    def code(self, workspace_id: str, code: str) -> LoyaltyCode:
        """A reward code as typed (any case, with or without dashes); 404 if not ours."""
        normal = domain.normalise_code(code)
        row = self.repository.code(workspace_id, normal) if normal else None
        if row is None:
            raise CodeNotFound("no such reward code in this workspace")
        return row

    def redeem_code(
        self, workspace_id: str, code: str, order_reference: str, channel: str
    ) -> LoyaltyCode:
        """Mark a code used by an order on the site or at a store's till, once.

        One conditional UPDATE decides: the same order asking again gets the same answer
        (a till retrying), any other order gets 409.
        """
        row = self.code(workspace_id, code)
        if not self.repository.redeem_code(row.id, order_reference, channel, self.clock()):
            self.repository.refresh(row)
            if row.redeemed_order_ref != order_reference:
                raise CodeAlreadyRedeemed(
                    f"code {row.code} was already used by order {row.redeemed_order_ref}"
                )
        self.repository.refresh(row)
        return row

    # Registrations ---------------------------------------------------------------------------

    def registrations(
        self, workspace_id: str, cursor: str | None, limit: int
    ) -> Page[LoyaltyRegistration]:
        """Products registered from retail purchases, newest first."""
        limit = clamp_limit(limit)
        rows = self.repository.registrations_page(workspace_id, decode_cursor(cursor), limit + 1)
        return page_from(rows, limit)


def _entry_id() -> str:
    return new_id("lle")
