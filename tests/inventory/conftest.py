"""The stock tests' shop (``tests.inventory.stock.make_shop``) and service; a module that needs
its shop stocked or shaped otherwise defines its own ``shop``."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tessera.inventory.service import InventoryService
from tests.inventory.stock import Shop, make_shop


@pytest.fixture
def shop(session: Session) -> Shop:
    return make_shop(session)


@pytest.fixture
def service(session: Session) -> InventoryService:
    return InventoryService(session)
