import asyncio

import uvloop


def stdlib_loop():
    return asyncio.SelectorEventLoop()


def pytest_asyncio_loop_factories(config, item):
    if item.get_closest_marker("stdlib_only"):
        return {"stdlib": stdlib_loop}
    return {"stdlib": stdlib_loop, "uv": uvloop.new_event_loop}


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "stdlib_only: offer only the stdlib loop factory"
    )
