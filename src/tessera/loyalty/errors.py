"""Errors of the loyalty domain."""

from __future__ import annotations

from tessera.kit.errors import Conflict, InvalidInput, NotFound


class ProgramNotFound(NotFound):
    slug = "loyalty-program-not-found"
    title = "This workspace has no loyalty program"


class MemberNotFound(NotFound):
    slug = "loyalty-member-not-found"
    title = "No such loyalty member in this workspace"


class RewardNotFound(InvalidInput):
    """A redemption naming a reward the program does not offer (422, ``field`` reward)."""

    slug = "loyalty-reward-not-found"
    title = "The program has no such reward"


class CodeNotFound(NotFound):
    """An unknown code, or another workspace's: the same answer, so codes cannot be probed."""

    slug = "loyalty-code-not-found"
    title = "No such reward code"


class CodeAlreadyRedeemed(Conflict):
    slug = "loyalty-code-already-redeemed"
    title = "The reward code was already redeemed"


class InsufficientPoints(Conflict):
    slug = "loyalty-insufficient-points"
    title = "The member has not enough points"


class AlreadyRegistered(Conflict):
    """A receipt or a product serial registered before: it earned once already."""

    slug = "loyalty-already-registered"
    title = "This purchase was already registered"


class KeyReused(Conflict):
    slug = "idempotency-key-reused"
    title = "The idempotency key belongs to another request"


class InvalidProgram(InvalidInput):
    slug = "invalid-loyalty-program"
    title = "The loyalty program is not valid"
