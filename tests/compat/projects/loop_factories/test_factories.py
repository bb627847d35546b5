import asyncio

import pytest
import uvloop

import pytest_aioloop

EXPECTED = {"stdlib": asyncio.SelectorEventLoop, "uv": uvloop.Loop}


def variant(request):
    """The loop factory name that pytest put into this test's id."""
    return request.node.name.rpartition("[")[2].rstrip("]")


@pytest_aioloop.fixture
async def loop_kind():
    return type(asyncio.get_running_loop())


@pytest.mark.asyncio
async def test_runs_once_per_factory(request):
    loop = asyncio.get_running_loop()
    assert type(loop) is EXPECTED[variant(request)]


@pytest.mark.asyncio
async def test_fixture_runs_on_the_same_kind_of_loop(request, loop_kind):
    assert loop_kind is type(asyncio.get_running_loop())
    assert loop_kind is EXPECTED[variant(request)]


@pytest.mark.asyncio(loop_factories=["uv"])
async def test_only_on_uvloop():
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop)


@pytest.mark.asyncio(loop_factories=["stdlib", "trio"])
async def test_unknown_factory_is_skipped(request):
    assert variant(request) == "stdlib"
    assert type(asyncio.get_running_loop()) is asyncio.SelectorEventLoop


@pytest.mark.stdlib_only
@pytest.mark.asyncio
async def test_hook_sees_the_item():
    assert type(asyncio.get_running_loop()) is asyncio.SelectorEventLoop


@pytest.mark.asyncio(loop_scope="class", loop_factories=["uv", "stdlib"])
class TestClassLoopPerFactory:
    loops = {}

    async def test_first(self, request):
        self.loops.setdefault(variant(request), set()).add(asyncio.get_running_loop())

    async def test_second(self, request):
        name = variant(request)
        self.loops[name].add(asyncio.get_running_loop())
        assert len(self.loops[name]) == 1
        assert type(next(iter(self.loops[name]))) is EXPECTED[name]


def test_sync_tests_are_not_parametrized(request):
    assert request.node.name == "test_sync_tests_are_not_parametrized"
