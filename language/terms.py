"""Search terms for Korean and English text: what both a passage and a question are
reduced to before the lexical index compares them.

Korean glues particles and endings to words ("장바구니에서", "이탈률은"), so a plain
tokenizer would never match "장바구니" in a question with "장바구니에서" in a playbook,
and the trigram tokenizer cannot match two-syllable words at all. Kiwi's morphemes can:
nouns, verb and adjective stems, roots, and the foreign words and numbers in between.
English words are lower-cased; the index's porter tokenizer stems them.

The one Kiwi of a process lives here, so the bot's question parser (dialogs/) shares it
instead of loading a second copy of its ~230 MB model.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiwipiepy import Kiwi

_HANGUL = re.compile(r"[가-힣]")
_LATIN_WORD = re.compile(r"[a-z][a-z0-9]*(?:['.-][a-z0-9]+)*|\d+(?:[.,]\d+)*%?")
# Morpheme tags that carry meaning: nouns, numerals, verb and adjective stems, roots,
# adverbs.
_CONTENT_TAGS = {"NNG", "NNP", "NR", "VV", "VA", "XR", "MAG"}
# Stems and words every question has ("알려줘", "어떻게 해?", "what is the"): they would
# only dilute how much of a question a passage covers.
_STOP_WORDS = (
    "하 있 되 알리 주 보 말 싶 없 같 이 그 저 것 수 때 좀 뭐 무엇 어떻 어떡 어디 언제 누구 "
    "얼마 관련 대하 대해 경우 내용 정도 가능 알 해주 부탁 궁금 몇 어느 무슨 어떤 "
    # words that name the documents, not what is in them ("플레이북에서", "in the guide")
    "문서 자료 가이드 플레이북 매뉴얼 메뉴얼 지침 pdf playbook playbooks guide guides "
    "guideline guidelines document documents doc docs manual handbook according say says "
    "a an the and or of to in on at for by with from is are was were be been being do does "
    "did what which who whom whose when where why how can could should would will shall may "
    "might must our we us you your i me my it its this that these those there here about "
    "tell show give please any some if then than as into over under per vs "
    "many much more most after before long often also just need needs get got make made "
    "take want know like use used using all each every other such only very so not no "
    "has have had having let lets go going"
)
STOP_TERMS = frozenset(_STOP_WORDS.split())

_KIWI: Kiwi | None = None
_KIWI_LOCK = threading.Lock()


def kiwi() -> Kiwi:
    """The process's Kiwi, loaded on first use (about a second)."""
    global _KIWI
    if _KIWI is None:
        with _KIWI_LOCK:
            if _KIWI is None:
                from kiwipiepy import Kiwi

                # The multi-word (~200 MB) and default user (~60 MB) dictionaries add
                # nothing here: they list proper nouns from Wikipedia, not shop talk.
                instance = Kiwi(load_multi_dict=False, load_default_dict=False)
                instance.tokenize("매출")  # the first call loads the language model
                _KIWI = instance
    return _KIWI


def has_hangul(text: str) -> bool:
    return bool(_HANGUL.search(text or ""))


def terms(text: str, *, keep_stop_terms: bool = True) -> list[str]:
    """The text's search terms in order (Korean morphemes, English words)."""
    if not text:
        return []
    lowered = text.lower()
    # Latin words and numbers come from the text itself: Kiwi cuts "payment.html" into
    # "pa" + "yment.html" and "P1" into "p" + "1". Korean morphemes come from Kiwi.
    placed = [(m.start(), m.group()) for m in _LATIN_WORD.finditer(lowered)]
    if has_hangul(text):
        placed += [
            (token.start, token.form)
            for token in kiwi().tokenize(text)
            if token.tag in _CONTENT_TAGS and has_hangul(token.form)
        ]
        placed.sort(key=lambda item: item[0])
    found = [term for _, term in placed]
    if keep_stop_terms:
        return found
    return [term for term in found if term not in STOP_TERMS]


def query_terms(text: str) -> list[str]:
    """A question's distinct terms without the words every question has."""
    seen: dict[str, None] = {}
    for term in terms(text, keep_stop_terms=False):
        seen.setdefault(term, None)
    return list(seen)
