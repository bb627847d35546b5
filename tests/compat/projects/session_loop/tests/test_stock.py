import asyncio

import pytest
from inventory import OutOfStock

pytestmark = pytest.mark.asyncio


async def test_add_then_count(inventory, note_loop):
    note_loop()
    await inventory.add("apple", 5)
    assert await inventory.count("apple") == 5


async def test_state_persists_across_tests(inventory, note_loop):
    # The session-scoped client keeps its store between tests.
    note_loop()
    assert await inventory.count("apple") == 5


async def test_taking_too_much_fails(inventory):
    with pytest.raises(OutOfStock):
        await inventory.take("apple", 50)
    assert await inventory.count("apple") == 5


async def test_concurrent_takes_are_serialised(inventory):
    await inventory.add("pear", 10)
    results = await asyncio.gather(
        *(inventory.take("pear", 1) for _ in range(10)), return_exceptions=True
    )
    assert sorted(results) == list(range(10))
    assert await inventory.count("pear") == 0
