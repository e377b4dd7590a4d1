import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import clgrad  # noqa: E402


@pytest.fixture(scope="module")
def ctx():
    c = clgrad.Context()
    yield c
    c.close()
