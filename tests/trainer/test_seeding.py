"""Seeding: garage's fixed streams, and capture/restore of generator states."""

from __future__ import annotations

import random

import numpy as np
import pytest

from trainer import get_seed, set_seed
from trainer.seeding import get_rng_state, set_rng_state


def test_numpy_stream_matches_garage():
    set_seed(22)
    assert np.random.rand(5, 5)[0, 0] == pytest.approx(0.20846054)


def test_python_stream_matches_garage():
    set_seed(55)
    assert random.random() == pytest.approx(0.09033985426934954)


def test_get_seed_returns_reduced_seed():
    set_seed(4294967294 + 5)
    assert get_seed() == 5


@pytest.mark.parametrize("bad", ["1", 1.5, None, True])
def test_non_integer_seed_is_rejected(bad):
    with pytest.raises(TypeError, match="seed"):
        set_seed(bad)


def test_rng_state_round_trip_continues_the_same_draws():
    set_seed(9)
    random.random(), np.random.rand()
    state = get_rng_state()
    expected = (random.random(), np.random.rand(3))
    set_seed(123)
    set_rng_state(state)
    assert random.random() == expected[0]
    np.testing.assert_array_equal(np.random.rand(3), expected[1])
    assert get_seed() == 9
