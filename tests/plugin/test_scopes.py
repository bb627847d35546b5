"""Loop scopes: each loop is shared exactly as far as its scope says."""

from __future__ import annotations

from collections.abc import Callable

import pytest

Loops = Callable[[], dict[str, str]]
Ini = Callable[..., None]

# Records the loop of every test under its module and name.
_TEST = """
@pytest.mark.asyncio{mark}
async def test_{name}(record_loop):
    record_loop(__name__ + ".{name}")
"""


def module_source(*names: str, mark: str = "") -> str:
    body = "".join(_TEST.format(name=name, mark=mark) for name in names)
    return "import pytest\n" + body


def test_function_loops_are_new_for_every_test(
    pytester: pytest.Pytester, strict_ini: Ini, loops: Loops
) -> None:
    pytester.makepyfile(test_mod=module_source("a", "b", "c"))
    pytester.runpytest().assert_outcomes(passed=3)
    seen = loops()
    assert len(set(seen.values())) == 3


def test_explicit_function_scope_is_a_new_loop_per_test(
    pytester: pytest.Pytester, strict_ini: Ini, loops: Loops
) -> None:
    pytester.makepyfile(
        test_mod=module_source("a", "b", mark="(loop_scope='function')")
    )
    pytester.runpytest().assert_outcomes(passed=2)
    assert len(set(loops().values())) == 2


def test_class_loop_is_shared_within_one_class_only(
    pytester: pytest.Pytester, strict_ini: Ini, loops: Loops
) -> None:
    pytester.makepyfile(
        test_mod="""
        import pytest

        @pytest.mark.asyncio(loop_scope="class")
        class TestA:
            async def test_one(self, record_loop):
                record_loop("A.one")

            async def test_two(self, record_loop):
                record_loop("A.two")

            class TestNested:
                async def test_three(self, record_loop):
                    record_loop("A.Nested.three")

        @pytest.mark.asyncio(loop_scope="class")
        class TestB:
            async def test_one(self, record_loop):
                record_loop("B.one")

            async def test_two(self, record_loop):
                record_loop("B.two")

        @pytest.mark.asyncio(loop_scope="class")
        async def test_function_in_module():
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=5, errors=1)
    seen = loops()
    assert seen["A.one"] == seen["A.two"]
    assert seen["B.one"] == seen["B.two"]
    assert seen["A.one"] != seen["B.one"]
    # a nested class is a class of its own
    assert seen["A.Nested.three"] not in (seen["A.one"], seen["B.one"])


def test_module_loop_is_shared_by_functions_and_classes_of_one_module(
    pytester: pytest.Pytester, strict_ini: Ini, loops: Loops
) -> None:
    module = """
        import pytest

        pytestmark = pytest.mark.asyncio(loop_scope="module")

        async def test_function(record_loop):
            record_loop(__name__ + ".function")

        class TestClass:
            async def test_method(self, record_loop):
                record_loop(__name__ + ".method")

        async def test_last(record_loop):
            record_loop(__name__ + ".last")
        """
    pytester.makepyfile(test_one=module, test_two=module)
    pytester.runpytest().assert_outcomes(passed=6)
    seen = loops()
    for name in ("test_one", "test_two"):
        assert seen[f"{name}.function"] == seen[f"{name}.method"]
        assert seen[f"{name}.function"] == seen[f"{name}.last"]
    assert seen["test_one.function"] != seen["test_two.function"]


def test_package_loop_is_shared_by_one_package_and_not_its_subpackages(
    pytester: pytest.Pytester, strict_ini: Ini, loops: Loops
) -> None:
    mark = "(loop_scope='package')"
    for folder in ("pkg", "pkg/sub", "pkg/sub/deeper", "other"):
        (pytester.path / folder).mkdir(parents=True, exist_ok=True)
        (pytester.path / folder / "__init__.py").write_text("")
    for path in (
        "pkg/test_a.py",
        "pkg/test_b.py",
        "pkg/sub/test_c.py",
        "pkg/sub/test_d.py",
        "pkg/sub/deeper/test_e.py",
        "other/test_f.py",
    ):
        (pytester.path / path).write_text(module_source("x", "y", mark=mark))
    pytester.runpytest().assert_outcomes(passed=12)
    seen = loops()
    pkg = {seen[f"pkg.test_{m}.{t}"] for m in "ab" for t in "xy"}
    sub = {seen[f"pkg.sub.test_{m}.{t}"] for m in "cd" for t in "xy"}
    deeper = {seen[f"pkg.sub.deeper.test_e.{t}"] for t in "xy"}
    other = {seen[f"other.test_f.{t}"] for t in "xy"}
    for group in (pkg, sub, deeper, other):
        assert len(group) == 1
    assert len(pkg | sub | deeper | other) == 4


def test_package_loop_follows_the_package_when_subpackage_tests_come_between(
    pytester: pytest.Pytester, strict_ini: Ini, loops: Loops
) -> None:
    mark = "(loop_scope='package')"
    for folder in ("pkg", "pkg/test_b_sub"):
        (pytester.path / folder).mkdir(parents=True, exist_ok=True)
        (pytester.path / folder / "__init__.py").write_text("")
    # pytest collects files and folders of a package in one sorted order:
    # pkg/test_a.py, then the subpackage pkg/test_b_sub, then pkg/test_c.py
    (pytester.path / "pkg/test_a.py").write_text(module_source("x", mark=mark))
    (pytester.path / "pkg/test_b_sub/test_b.py").write_text(
        module_source("x", mark=mark)
    )
    (pytester.path / "pkg/test_c.py").write_text(module_source("x", mark=mark))
    result = pytester.runpytest("-p", "no:randomly", "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "*pkg/test_a.py::test_x*",
            "*pkg/test_b_sub/test_b.py::test_x*",
            "*pkg/test_c.py::test_x*",
        ]
    )
    seen = loops()
    assert seen["pkg.test_a.x"] == seen["pkg.test_c.x"]
    assert seen["pkg.test_b_sub.test_b.x"] != seen["pkg.test_a.x"]


def test_session_loop_is_shared_across_packages_and_modules(
    pytester: pytest.Pytester, strict_ini: Ini, loops: Loops
) -> None:
    mark = "(loop_scope='session')"
    for folder in ("one", "one/sub", "two"):
        (pytester.path / folder).mkdir(parents=True, exist_ok=True)
        (pytester.path / folder / "__init__.py").write_text("")
    for path in ("one/test_a.py", "one/sub/test_b.py", "two/test_c.py", "test_d.py"):
        (pytester.path / path).write_text(module_source("x", "y", mark=mark))
    pytester.runpytest().assert_outcomes(passed=8)
    assert len(set(loops().values())) == 1


def test_each_scope_has_its_own_loop_in_one_module(
    pytester: pytest.Pytester, strict_ini: Ini, loops: Loops
) -> None:
    pytester.makepyfile(
        test_mod="""
        import pytest

        @pytest.mark.asyncio(loop_scope="session")
        async def test_session(record_loop):
            record_loop("session")

        @pytest.mark.asyncio(loop_scope="module")
        async def test_module(record_loop):
            record_loop("module")

        @pytest.mark.asyncio
        async def test_function(record_loop):
            record_loop("function")

        @pytest.mark.asyncio(loop_scope="class")
        class TestClass:
            async def test_class(self, record_loop):
                record_loop("class")

        @pytest.mark.asyncio(loop_scope="module")
        async def test_module_again(record_loop):
            record_loop("module again")

        @pytest.mark.asyncio(loop_scope="session")
        async def test_session_again(record_loop):
            record_loop("session again")
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=6)
    seen = loops()
    assert seen["module"] == seen["module again"]
    assert seen["session"] == seen["session again"]
    distinct = {seen[k] for k in ("session", "module", "function", "class")}
    assert len(distinct) == 4


def test_default_test_loop_scope_ini_applies_to_tests_without_a_scope(
    pytester: pytest.Pytester, strict_ini: Ini, loops: Loops
) -> None:
    strict_ini(asyncio_default_test_loop_scope="module")
    pytester.makepyfile(
        test_mod="""
        import pytest

        @pytest.mark.asyncio
        async def test_a(record_loop):
            record_loop("a")

        @pytest.mark.asyncio
        async def test_b(record_loop):
            record_loop("b")

        @pytest.mark.asyncio(loop_scope="function")
        async def test_own(record_loop):
            record_loop("own")
        """
    )
    pytester.runpytest().assert_outcomes(passed=3)
    seen = loops()
    assert seen["a"] == seen["b"]
    assert seen["own"] != seen["a"]


def test_invalid_default_test_loop_scope_is_a_usage_error(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    strict_ini(asyncio_default_test_loop_scope="fixture-scope")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*'fixture-scope' is not a valid asyncio_default_test_loop_scope*function*"]
    )


def test_closest_marker_scope_wins_over_class_and_module_marks(
    pytester: pytest.Pytester, strict_ini: Ini, loops: Loops
) -> None:
    pytester.makepyfile(
        test_mod="""
        import pytest

        pytestmark = pytest.mark.asyncio(loop_scope="module")

        async def test_module_a(record_loop):
            record_loop("module a")

        @pytest.mark.asyncio(loop_scope="class")
        class TestClass:
            async def test_class_a(self, record_loop):
                record_loop("class a")

            @pytest.mark.asyncio(loop_scope="function")
            async def test_own(self, record_loop):
                record_loop("own")

            async def test_class_b(self, record_loop):
                record_loop("class b")

        async def test_module_b(record_loop):
            record_loop("module b")
        """
    )
    pytester.runpytest().assert_outcomes(passed=5)
    seen = loops()
    assert seen["module a"] == seen["module b"]
    assert seen["class a"] == seen["class b"]
    assert len({seen["module a"], seen["class a"], seen["own"]}) == 3


@pytest.mark.parametrize("scope", ["class", "package"])
def test_default_test_loop_scope_falls_back_where_the_test_cannot_have_it(
    pytester: pytest.Pytester, strict_ini: Ini, loops: Loops, scope: str
) -> None:
    # class: a test outside a class gets its own loop; package: a test outside
    # a package gets the session's loop (pytest's fallbacks for fixture scopes)
    strict_ini(asyncio_default_test_loop_scope=scope)
    pytester.makepyfile(
        test_mod="""
        import pytest

        @pytest.mark.asyncio
        async def test_a(record_loop):
            record_loop("a")

        @pytest.mark.asyncio
        async def test_b(record_loop):
            record_loop("b")

        @pytest.mark.asyncio(loop_scope="session")
        async def test_session(record_loop):
            record_loop("session")
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=3)
    seen = loops()
    if scope == "class":
        assert len(set(seen.values())) == 3
    else:
        assert len(set(seen.values())) == 1
