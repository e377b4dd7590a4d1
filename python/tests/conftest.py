import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import clgrad  # noqa: E402

# examples/linreg_scratch.c's binary: ctest sets it where the examples are built; a
# pytest run by hand without it skips the comparisons with the C example's output
C_EXAMPLE = os.environ.get("CLGRAD_C_EXAMPLE")
needs_c_example = pytest.mark.skipif(not C_EXAMPLE, reason="CLGRAD_C_EXAMPLE not set "
                                     "(ctest sets it to examples/linreg_scratch)")


@pytest.fixture(scope="module")
def ctx():
    c = clgrad.Context()
    yield c
    c.close()
