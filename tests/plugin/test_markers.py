"""The asyncio marker: where it may go, its keywords, and its errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest

Ini = Callable[..., None]
Loops = Callable[[], dict[str, str]]


def assert_fails(result: pytest.RunResult, *, failing: int, passed: int) -> None:
    """``failing`` tests failed (at setup or call: either is that test failing)
    and ``passed`` passed."""
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) + outcomes.get("errors", 0) == failing
    assert outcomes.get("passed", 0) == passed


def test_marker_on_a_function_runs_it_on_a_loop(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import asyncio
        import pytest

        @pytest.mark.asyncio
        async def test_runs():
            await asyncio.sleep(0)
            assert asyncio.get_running_loop().is_running()

        @pytest.mark.asyncio
        async def test_fails():
            await asyncio.sleep(0)
            assert False, "the body ran"
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: the body ran*"])


def test_marker_on_a_class_applies_to_its_methods(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import asyncio
        import pytest

        @pytest.mark.asyncio
        class TestMarked:
            async def test_method(self):
                await asyncio.sleep(0)

            async def test_body_runs(self):
                await asyncio.sleep(0)
                raise ValueError("method body ran")

        class TestMethodMarks:
            @pytest.mark.asyncio
            async def test_marked_method(self):
                await asyncio.sleep(0)

            @pytest.mark.asyncio
            @staticmethod
            async def test_static():
                await asyncio.sleep(0)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*ValueError: method body ran*"])


def test_pytestmark_on_a_module_applies_to_its_tests(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import asyncio
        import pytest

        pytestmark = pytest.mark.asyncio

        async def test_function():
            await asyncio.sleep(0)

        class TestClass:
            async def test_method(self):
                await asyncio.sleep(0)

        async def test_body_runs():
            raise ValueError("module test body ran")
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*ValueError: module test body ran*"])


def test_pytestmark_list_on_a_class_applies_to_its_methods(
    pytester: pytest.Pytester, strict_ini: Ini, loops: Loops
) -> None:
    pytester.makepyfile(
        """
        import pytest

        class TestClass:
            pytestmark = [pytest.mark.asyncio(loop_scope="class")]

            async def test_a(self, record_loop):
                record_loop("a")

            async def test_b(self, record_loop):
                record_loop("b")
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)
    seen = loops()
    assert seen["a"] == seen["b"]


def test_scope_keyword_means_loop_scope_without_a_warning(
    pytester: pytest.Pytester, strict_ini: Ini, loops: Loops
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.asyncio(scope="module")
        async def test_a(record_loop):
            record_loop("a")

        @pytest.mark.asyncio(scope="module")
        async def test_b(record_loop):
            record_loop("b")

        @pytest.mark.asyncio(scope="module", loop_scope="module")
        async def test_both_same(record_loop):
            record_loop("both")

        @pytest.mark.asyncio(loop_scope="module")
        async def test_loop_scope(record_loop):
            record_loop("loop_scope")
        """
    )
    result = pytester.runpytest("-W", "error")
    result.assert_outcomes(passed=4)
    assert "warnings summary" not in result.stdout.str()
    assert len(set(loops().values())) == 1


def test_scope_and_loop_scope_that_differ_fail_that_test_only(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.asyncio(scope="module", loop_scope="function")
        async def test_conflict():
            pass

        @pytest.mark.asyncio
        async def test_fine():
            pass
        """
    )
    result = pytester.runpytest()
    assert_fails(result, failing=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_conflict*scope='module'*loop_scope='function'*give one*",
            "[EF]* *::test_conflict*",
        ]
    )


# (marker arguments, what the error message must say) for every misuse that
# fails only the test it is on.
BAD_MARKERS = {
    "unknown_scope": (
        "loop_scope='galaxy'",
        "*::test_bad*invalid loop scope 'galaxy'*"
        "valid scopes: function, class, module, package, session*",
    ),
    "unknown_scope_via_scope": (
        "scope='galaxy'",
        "*::test_bad*invalid loop scope 'galaxy'*"
        "valid scopes: function, class, module, package, session*",
    ),
    "unknown_keyword": (
        "loop_scop='module'",
        "*::test_bad*unknown keyword*'loop_scop'*valid keywords:*loop_scope*scope*",
    ),
    "positional": (
        "'module'",
        "*::test_bad*keyword arguments only*positional*'module'*"
        "did you mean loop_scope='module'*valid keywords:*loop_scope*",
    ),
    "debug_not_a_bool": (
        "debug='yes'",
        "*::test_bad*debug= must be True or False, got 'yes'*",
    ),
    "class_scope_outside_class": (
        "loop_scope='class'",
        "*::test_bad*loop_scope='class' needs a test inside a class*"
        "'function', 'module', 'package' or 'session'*",
    ),
}


@pytest.mark.parametrize("case", list(BAD_MARKERS))
def test_marker_misuse_fails_that_test_naming_it_and_the_valid_values(
    pytester: pytest.Pytester, strict_ini: Ini, case: str
) -> None:
    arguments, message = BAD_MARKERS[case]
    pytester.makepyfile(
        test_first="""
        import pytest

        @pytest.mark.asyncio
        async def test_before():
            pass
        """,
        test_second=f"""
        import pytest

        @pytest.mark.asyncio({arguments})
        async def test_bad():
            pass

        @pytest.mark.asyncio
        async def test_neighbour():
            pass

        def test_sync_neighbour():
            pass
        """,
        test_third="""
        import pytest

        @pytest.mark.asyncio
        async def test_after():
            pass
        """,
    )
    result = pytester.runpytest("-p", "no:randomly")
    assert_fails(result, failing=1, passed=4)
    result.stdout.fnmatch_lines([message, "[EF]* test_second.py::test_bad*"])


def test_misuse_on_a_class_mark_fails_each_test_of_the_class_only(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.asyncio(loop_scope="classy")
        class TestBad:
            async def test_one(self):
                pass

            async def test_two(self):
                pass

        @pytest.mark.asyncio
        async def test_fine():
            pass
        """
    )
    result = pytester.runpytest()
    assert_fails(result, failing=2, passed=1)
    result.stdout.fnmatch_lines(["*TestBad::test_one*invalid loop scope 'classy'*"])


def test_package_scope_outside_a_package_says_an_init_file_is_needed(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    (pytester.path / "loose").mkdir()
    (pytester.path / "loose" / "test_loose.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.asyncio(loop_scope='package')\n"
        "async def test_bad():\n    pass\n\n"
        "@pytest.mark.asyncio\n"
        "async def test_neighbour():\n    pass\n"
    )
    (pytester.path / "pkg").mkdir()
    (pytester.path / "pkg" / "__init__.py").write_text("")
    (pytester.path / "pkg" / "test_in_package.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.asyncio(loop_scope='package')\n"
        "async def test_good():\n    pass\n"
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*loose/test_loose.py::test_bad*loop_scope='package' needs a regular "
            "package*add an __init__.py*'module' or 'session'*",
            "ERROR loose/test_loose.py::test_bad*",
        ]
    )


def test_marker_on_a_sync_test_warns_naming_the_test(
    pytester: pytest.Pytester,
) -> None:
    # the outer run's "error" filter would otherwise reach the inner run
    pytester.makeini("[pytest]\nfilterwarnings = default\n")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.asyncio
        def test_sync():
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*test_marker_on_a_sync_test_warns_naming_the_test.py::test_sync is marked "
            "with @pytest.mark.asyncio but is not an async function*"
        ]
    )


def test_marker_on_a_sync_test_fails_it_under_filterwarnings_error(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.asyncio
        def test_sync():
            pass
        """
    )
    pytester.runpytest().assert_outcomes(failed=1)


def test_async_generator_test_is_reported_as_unsupported(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.asyncio
        async def test_gen():
            yield 1

        @pytest.mark.asyncio
        async def test_neighbour():
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*::test_gen is an async generator*not supported*", "FAILED *::test_gen*"]
    )


def test_async_generator_test_in_auto_mode_is_reported_as_unsupported(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    strict_ini(asyncio_mode="auto")
    pytester.makepyfile(
        """
        async def test_gen():
            yield 1
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*::test_gen is an async generator*not supported*"])


def test_marker_keywords_are_listed_in_pytest_markers(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.asyncio(loop_scope=*"])


def test_marker_is_registered_under_strict_markers(
    pytester: pytest.Pytester, strict_ini: Ini
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.asyncio
        async def test_a():
            pass
        """
    )
    pytester.runpytest("--strict-markers").assert_outcomes(passed=1)
