"""The stock tests' shop (``tests.inventory.stock.make_shop``) and services; a module that
needs its shop stocked or shaped otherwise defines its own ``shop``."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tessera.inventory.service.locations import LocationService
from tessera.inventory.service.reservations import ReservationService
from tessera.inventory.service.stock import StockService
from tessera.inventory.service.verify import VerifyService
from tests.inventory.stock import Shop, make_shop


@pytest.fixture
def shop(session: Session) -> Shop:
    return make_shop(session)


@pytest.fixture
def locations(session: Session) -> LocationService:
    return LocationService(session)


@pytest.fixture
def stock(session: Session) -> StockService:
    return StockService(session)


@pytest.fixture
def reservations(session: Session) -> ReservationService:
    return ReservationService(session)


@pytest.fixture
def verifier(session: Session) -> VerifyService:
    return VerifyService(session)
