import threading

import pytest
from bridge import LoopThread, Producer


@pytest.fixture
def loop_thread():
    """A sync fixture owning a loop that runs in its own thread."""
    thread = LoopThread().start()
    yield thread
    thread.stop()


@pytest.fixture
def producer():
    """A sync fixture whose thread feeds the test's loop once told which one."""
    worker = Producer(["a", "b", "c", "d"])
    yield worker
    worker.join()


@pytest.fixture(autouse=True)
def no_threads_left_over():
    before = set(threading.enumerate())
    yield
    # Threads started during the test have been joined by their owners.
    leftover = [
        t
        for t in set(threading.enumerate()) - before
        if t.name.startswith(("loop-thread", "producer", "blocking"))
    ]
    assert leftover == []


def pytest_terminal_summary(terminalreporter):
    others = sorted(
        t.name for t in threading.enumerate() if t is not threading.main_thread()
    )
    terminalreporter.write_line(f"threads left: {', '.join(others) or 'none'}")
