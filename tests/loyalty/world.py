"""A loyalty program, people, orders on several channels and a worker's part, made through
the real services: orders are applied by the orders service, stitched as the worker stitches,
and loyalty's queued jobs run with the test's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import tessera.loyalty.tasks  # noqa: F401  (subscribes loyalty to Identify's announcements)
from tessera.catalog.schemas import ProductIn, VariantIn
from tessera.catalog.service import CatalogService
from tessera.collect.domain import Sender
from tessera.collect.service import CollectService
from tessera.identity.graph.service import IdentityService
from tessera.identity.graph.tasks import announce_merged, announce_unmerged
from tessera.kit.time import ManualClock
from tessera.loyalty.earning import EARN_JOB, EXPIRY_JOB, MERGE_JOB, UNMERGE_JOB
from tessera.loyalty.schemas import ProgramIn, RewardIn, TierIn
from tessera.loyalty.service import LoyaltyService
from tessera.loyalty.tasks import LoyaltyJobs
from tessera.models.job import Job, JobStatus
from tessera.models.order import OrderStatus
from tessera.order.domain import CanonicalCustomer, CanonicalLine, CanonicalOrder, CanonicalRefund
from tessera.order.service import OrderService
from tests.identity.stitching import run_stitch_jobs

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
SKU = "KETTLE-1"


def program(session: Session, workspace_id: str, **change: Any) -> None:
    values: dict[str, Any] = {
        "currency": "USD",
        "points_per_unit": 1,
        "registration_points": 150,
        "expiry_months": 12,
        "tiers": [TierIn(name="Silver", threshold=100), TierIn(name="Gold", threshold=500)],
        "rewards": [
            RewardIn(key="ten-off", name="$10 off", points_cost=200, kind="amount", value=1000),
            RewardIn(key="pct", name="15% off", points_cost=400, kind="percent", value=15),
        ],
        **change,
    }
    LoyaltyService(session).save_program(workspace_id, ProgramIn(**values), actor="test")


def product(session: Session, workspace_id: str, sku: str = SKU) -> None:
    CatalogService(session).create_product(
        workspace_id,
        ProductIn(
            handle=sku.lower(), title="Kettle", variants=[VariantIn(sku=sku, title="Kettle")]
        ),
    )


def person(session: Session, workspace_id: str, user_id: str, email: str) -> str:
    """Someone who signed up on the web, stitched; their profile id."""
    message = {
        "type": "identify",
        "messageId": f"identify-{user_id}",
        "userId": user_id,
        "timestamp": (T0 - timedelta(days=30)).isoformat(),
        "traits": {"email": email},
    }
    CollectService(session).ingest(Sender(workspace_id, None), [message], "test")
    run_stitch_jobs(session)
    profile = IdentityService(session).find_profile(workspace_id, "user_id", user_id)
    assert profile is not None
    return profile.id


def order(
    number: str,
    total: int,
    email: str,
    *,
    channel: str = "web",
    platform: str = "shopify",
    at: datetime = T0,
    currency: str = "USD",
    refunds: tuple[CanonicalRefund, ...] = (),
    is_cancelled: bool = False,
) -> CanonicalOrder:
    return CanonicalOrder(
        platform=platform,
        external_id=f"{platform}-{number}",
        order_number=number,
        channel=channel,
        status=OrderStatus.PLACED,
        currency=currency,
        placed_at=at,
        version=at.isoformat() + ("-c" if is_cancelled else "") + f"-{len(refunds)}",
        lines=(CanonicalLine("l1", 1, total, total, sku=SKU, title="Kettle"),),
        subtotal=total,
        total=total,
        is_cancelled=is_cancelled,
        customer=CanonicalCustomer(email=email),
        refunds=refunds,
    )


def refund(external_id: str, amount: int, at: datetime) -> CanonicalRefund:
    return CanonicalRefund(external_id, amount, at)


def apply(session: Session, workspace_id: str, canonical: CanonicalOrder) -> str:
    return OrderService(session).apply(workspace_id, canonical).order_id


def run_jobs(session: Session, clock: ManualClock) -> int:
    """Stitch what is queued, then run loyalty's queued jobs as the worker would."""
    run_stitch_jobs(session)
    jobs = LoyaltyJobs(clock)
    handlers = {
        EARN_JOB: jobs.events_arrived,
        MERGE_JOB: jobs.profiles_merged,
        EXPIRY_JOB: jobs.points_expired,
        UNMERGE_JOB: jobs.profiles_unmerged,
        "customer.merged": announce_merged,
        "customer.unmerged": announce_unmerged,
    }
    ran = 0
    while True:
        queued = session.scalars(
            select(Job)
            .where(Job.kind.in_(list(handlers)), Job.status == JobStatus.QUEUED)
            .order_by(Job.id)
        ).all()
        if not queued:
            return ran
        for job in queued:
            job.status = JobStatus.SUCCEEDED
            session.flush()
            handlers[job.kind](session, job.payload)
            ran += 1
        run_stitch_jobs(session)


def balance(session: Session, workspace_id: str, profile_id: str) -> int:
    return LoyaltyService(session).member(workspace_id, profile_id).balance
