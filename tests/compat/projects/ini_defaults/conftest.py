# Older guides told users to load the plugin by hand; it must stay harmless.
pytest_plugins = "pytest_aioloop"
