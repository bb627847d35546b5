import asyncio
import contextvars
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

request_id = contextvars.ContextVar("request_id", default="-")


async def test_thread_feeds_the_running_loop(producer):
    q = asyncio.Queue()
    producer.feed(asyncio.get_running_loop(), q)
    got = []
    async with asyncio.timeout(5):
        while (item := await q.get()) is not None:
            got.append(item)
    assert got == ["a", "b", "c", "d"]
    assert producer.delivered == 4


async def test_threads_started_in_the_test_call_back_into_it():
    loop = asyncio.get_running_loop()
    seen = []

    async def record(n):
        assert asyncio.get_running_loop() is loop
        seen.append(n)
        return n * n

    results = []

    def worker(n):
        results.append(asyncio.run_coroutine_threadsafe(record(n), loop).result(5))

    threads = [
        threading.Thread(target=worker, args=(n,), name=f"blocking-{n}")
        for n in range(5)
    ]
    for t in threads:
        t.start()
    # Keep the loop free while the threads wait for it.
    async with asyncio.timeout(5):
        while len(results) < 5:
            await asyncio.sleep(0.005)
    for t in threads:
        t.join()
    assert sorted(seen) == [0, 1, 2, 3, 4]
    assert sorted(results) == [0, 1, 4, 9, 16]


async def test_run_in_executor_and_to_thread():
    loop = asyncio.get_running_loop()
    main = threading.get_ident()

    def blocking(x):
        time.sleep(0.01)
        return x + 1, threading.get_ident()

    value, ident = await loop.run_in_executor(None, blocking, 1)
    assert value == 2
    assert ident != main

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="blocking") as pool:
        values = await asyncio.gather(
            *(loop.run_in_executor(pool, blocking, n) for n in range(4))
        )
    assert [v for v, _ in values] == [1, 2, 3, 4]

    request_id.set("req-42")
    # to_thread carries the context variables over to the worker thread.
    assert await asyncio.to_thread(request_id.get) == "req-42"


async def test_awaiting_work_on_another_loop(loop_thread):
    async def where():
        await asyncio.sleep(0.01)
        return asyncio.get_running_loop()

    here = asyncio.get_running_loop()
    there = await asyncio.wrap_future(loop_thread.submit(where()))
    assert there is loop_thread.loop
    assert there is not here


def test_sync_test_drives_a_thread_owned_loop(loop_thread):
    async def add(a, b):
        await asyncio.sleep(0)
        return a + b

    assert loop_thread.run(add(2, 3)) == 5
    futures = [loop_thread.submit(add(n, n)) for n in range(10)]
    assert [f.result(5) for f in futures] == [2 * n for n in range(10)]


def test_sync_test_may_use_asyncio_run():
    # Nothing of the plugin's may be running in a sync test.
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()

    async def main():
        loop = asyncio.get_running_loop()
        helper = threading.Thread(
            target=lambda: asyncio.run_coroutine_threadsafe(
                asyncio.sleep(0, "hi"), loop
            ).result(5),
            name="blocking-helper",
        )
        helper.start()
        await asyncio.to_thread(helper.join)
        return "done"

    assert asyncio.run(main()) == "done"


def test_sync_fixture_thread_feeds_a_loop_made_by_the_test(producer):
    loop = asyncio.new_event_loop()
    try:
        q = asyncio.Queue()
        producer.feed(loop, q)

        async def drain():
            items = []
            while (item := await q.get()) is not None:
                items.append(item)
            return items

        assert loop.run_until_complete(drain()) == ["a", "b", "c", "d"]
    finally:
        loop.close()
