"""pytest-aioloop: async tests and fixtures on scoped loops from pluggable backends."""
