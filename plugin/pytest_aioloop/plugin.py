"""The pytest plugin (registered as the pytest11 entry point ``aioloop``)."""
