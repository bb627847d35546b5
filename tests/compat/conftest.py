# The projects under projects/ are pytest-asyncio-style suites that
# test_compat_projects.py runs in their own pytester directories; the outer
# run must not collect them.
collect_ignore_glob = ["projects/*"]
