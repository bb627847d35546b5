"""Run with --asyncio-mode=auto: these tests carry no marker at all."""

import asyncio

import pytest

import pytest_aioloop

LOOPS = []


@pytest.fixture(scope="module")
async def module_resource():
    # asyncio_default_fixture_loop_scope = module: set up on the module loop.
    return asyncio.get_running_loop()


async def test_debug_mode_is_on():
    assert asyncio.get_running_loop().get_debug()
    LOOPS.append(asyncio.get_running_loop())


async def test_tests_share_the_module_loop(module_resource):
    assert asyncio.get_running_loop() is LOOPS[-1] is module_resource


class TestInClass:
    async def test_class_shares_it_too(self):
        assert asyncio.get_running_loop() is LOOPS[-1]


@pytest.mark.asyncio(loop_scope="function")
async def test_marker_overrides_the_default():
    assert asyncio.get_running_loop() is not LOOPS[-1]


def test_version_is_a_string():
    assert isinstance(pytest_aioloop.__version__, str)
    assert pytest_aioloop.__version__[0].isdigit()
