"""Korean particles that depend on the word before them: 을/를, 이/가, 은/는, 으로/로.

A Hangul syllable's final consonant decides (ㄹ takes 로, not 으로); after anything else
(Latin letters, digits) both forms are written, as Korean software does: 을(를).
"""

from __future__ import annotations

_FIRST, _LAST = ord("가"), ord("힣")
_RIEUL = 8  # the index of ㄹ among final consonants


def _final(word: str) -> int | None:
    """The index of the last syllable's final consonant (0: none), None if not Hangul."""
    code = ord(word[-1]) if word else 0
    return (code - _FIRST) % 28 if _FIRST <= code <= _LAST else None


def object_particle(word: str) -> str:
    final = _final(word)
    return "을(를)" if final is None else "을" if final else "를"


def subject_particle(word: str) -> str:
    final = _final(word)
    return "이(가)" if final is None else "이" if final else "가"


def topic_particle(word: str) -> str:
    final = _final(word)
    return "은(는)" if final is None else "은" if final else "는"


def swap_particle(word: str, particle: str) -> str:
    """`particle` (one of 을/를, 이/가, 은/는 as written after some other word) in the form
    that follows `word`; anything else unchanged."""
    for pair, choose in (("을를", object_particle), ("이가", subject_particle),
                         ("은는", topic_particle)):  # fmt: skip
        if particle in pair:
            return choose(word)
    return particle


def direction_particle(word: str) -> str:
    final = _final(word)
    return "(으)로" if final is None else "으로" if final and final != _RIEUL else "로"
