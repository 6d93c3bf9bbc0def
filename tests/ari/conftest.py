"""Fixtures of the ARI tests: a world whose card pays exactly 5 s, and the listeners' "not billed" log."""

import pytest

from tests.helpers.calls import NotBilled
from tests.helpers.world import make_world


@pytest.fixture
def world(cli, tmp_path):
    return make_world(cli, tmp_path, card_value="0.008334")


@pytest.fixture
def not_billed():
    with NotBilled() as watch:
        yield watch
