import asyncio

from pkg import test_module_default


async def test_another_module_gets_another_loop():
    assert test_module_default.LOOPS
    assert asyncio.get_running_loop() is not test_module_default.LOOPS[-1]
    assert asyncio.get_running_loop().get_debug()
