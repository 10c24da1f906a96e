"""Korean particles chosen by the word before them (language/particles.py)."""

import pytest

from language.particles import direction_particle, object_particle


@pytest.mark.parametrize(
    ("word", "object_", "direction"),
    [("매출", "을", "로"),  # ㄹ takes 로
     ("세션", "을", "으로"),
     ("세션 수", "를", "로"),
     ("revenue", "을(를)", "(으)로")],
)  # fmt: skip
def test_particle_follows_the_last_syllable(word, object_, direction):
    assert (object_particle(word), direction_particle(word)) == (object_, direction)
