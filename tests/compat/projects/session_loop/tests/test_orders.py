import asyncio

import pytest
from inventory import OutOfStock


@pytest.mark.asyncio
async def test_loop_is_the_clients_loop(inventory, note_loop):
    note_loop()
    assert asyncio.get_running_loop() is inventory.loop


@pytest.mark.asyncio
class TestOrders:
    async def test_order_reserves_stock(self, inventory, note_loop):
        note_loop()
        await inventory.add("plum", 3)
        assert await inventory.take("plum", 2) == 1

    async def test_order_sees_earlier_reservation(self, inventory):
        assert await inventory.count("plum") == 1
        with pytest.raises(OutOfStock):
            await inventory.take("plum", 2)

    async def test_class_shares_the_session_loop(self, inventory):
        assert asyncio.get_running_loop() is inventory.loop


def test_sync_tests_still_run(inventory):
    # A sync test may request the async session fixture: it gets the client.
    assert inventory.kind in {"memory", "tcp"}
