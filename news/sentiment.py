"""Headline sentiment in [-1, 1] for Korean and English business news, offline.

Method: a lexicon, not a model. The lexicon ships with the code (no download, no GPU, no
network at ingest time), gives the same number for the same text on every machine, and
can be explained to a marketer: "-0.33 because of 'recall'". A handful of words decides
the tone of a news headline far more often than it does in reviews or social posts, which
is where lexicons do badly.

1. The text is cut into words. English: lower-cased words, each matched as written or
   after a light stemming ("surged" -> "surge", "layoffs" -> "layoff", "stronger" ->
   "strong"). Korean: morphemes from the project's one Kiwi (rag_indexer.terms.kiwi), so
   "성장했다", "성장세" and "성장을" all contain the stem 성장; verbs and adjectives are
   matched by stem (늘다 -> 늘) only when Kiwi tags them as such.
2. Each lexicon word counts 1 toward the positive or negative side.
   - An intensifier ("sharply", "major", 대폭, 크게, 역대) makes the next sentiment word
     count 1.5; a softener ("slightly", "minor", 소폭) 0.5.
   - "record", 최대, 최고 are positive on their own ("record sales", 사상 최대 매출) but
     only intensify a sentiment word right after them ("record loss", 최대 적자).
   - Negation flips a word's side. English: "not", "no", "never", "without", "n't" flip
     the next 3 words (a comma or full stop ends that reach). Korean: 안 / 못 before the
     next word; 않다, 못하다, 없다, 아니다 after it ("성장하지 않았다", "부진하지 않았다",
     "차질 없이") flip the nearest word before them.
3. score = (pos - neg) / (pos + neg + K) with K = 2, which is always inside (-1, 1): one
   word gives ±0.33, two agreeing words ±0.5, four ±0.67, and mixed news stays near 0.
   Text without any sentiment word scores exactly 0.0.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

K = 2.0
INTENSIFY = 1.5
SOFTEN = 0.5
_NEGATION_REACH = 3  # English words after "not" that it flips
_KO_NEGATION_REACH = 2  # Korean content morphemes after 안/못
_BOOST_REACH = 3  # words an intensifier can reach
_AMPLIFIER_REACH = 2  # "record" intensifies a sentiment word at most this far ahead

# -- English -------------------------------------------------------------------------------

_EN_POSITIVE = frozenset(
    """
    growth grow grew grown surge soar rally rebound recover recovery record beat beats beaten
    strong robust solid healthy resilient upbeat optimistic bullish confident
    launch unveil debut win won winner award praise acclaim acclaimed popular favorite
    favourite hit profit profitable gain rise rose risen jump climb boost expand expansion
    improve improvement upgrade accelerate outperform exceed top best lead leader leading
    success successful milestone breakthrough innovative innovation boom thrive momentum
    sellout sold-out bestseller bestselling demand partnership positive good great excellent
    impressive efficient convenient faster easier smooth reliable welcome approve approval
    celebrate love loyal delight reward benefit opportunity upside tailwind double
    """.split()
)
_EN_NEGATIVE = frozenset(
    """
    decline drop fall fell fallen loss lose lost lawsuit sue fine penalty layoff lay-off
    recall outage breach weak weaken miss slump plunge slide slid sink sank sunk tumble cut
    shrink shrank slow slowdown slowing stall struggle fail failure crisis concern worry
    fear risk warn warning threat probe investigation antitrust scandal controversy
    complaint backlash boycott criticism criticize criticise delay disruption disrupt
    shortage glitch bug crash downturn recession bankruptcy bankrupt closure shutdown hack
    leak fraud scam theft counterfeit defect defective faulty worse worst bad poor negative
    bearish pessimistic uncertain uncertainty volatile volatility pressure headwind deficit
    downgrade underperform disappoint disappointing fallout strike halt suspend ban
    violation accuse allegation setback hurt damage problem error abandon abandonment
    churn lag squeeze slash dispute refund-delays overcharge overcharged
    """.split()
)
_EN_NEGATORS = frozenset("not no never without nor neither cannot nobody nothing none".split())
_EN_INTENSIFIERS = frozenset(
    """
    very extremely sharply significantly substantially strongly highly hugely massively
    major huge massive big biggest deeply severely dramatically steep steeply soaring
    """.split()
)
_EN_SOFTENERS = frozenset("slightly somewhat modestly marginally mildly minor small slight".split())
_EN_AMPLIFIERS = frozenset({"record"})
_EN_WORD = re.compile(r"[a-z0-9]+(?:[-'’][a-z]+)*|[.,;:!?]")

# -- Korean (Kiwi morphemes) ---------------------------------------------------------------

_KO_POSITIVE_NOUNS = frozenset(
    """
    성장 증가 급증 호조 흑자 최대 최고 인기 출시 상승 개선 확대 수상 돌파 호황 강세 반등
    회복 혁신 성공 호평 흥행 매진 순항 선전 약진 달성 증대 신장 활기 쾌거 제휴 협력 호응
    열풍 각광 급등 상향 만족 편리 간편 효율 기대 수혜 확장 선두 견조 환영 완판 성과
    상승세 증가세 돌풍 도약 특수 훈풍 청신호 폭주 인기몰이 수익성 활황
    """.split()
)
_KO_NEGATIVE_NOUNS = frozenset(
    """
    감소 하락 급락 부진 적자 손실 소송 과징금 벌금 해고 감원 리콜 장애 유출 위기 논란
    우려 둔화 침체 약세 악화 지연 차질 불만 반발 제재 결함 오류 중단 폐쇄 철수 파산
    불황 급감 축소 하향 취소 항의 피해 사기 해킹 먹통 불량 경고 위반 혐의 고소 실패
    타격 충격 악재 부담 압박 비판 불안 손해 폭락 마비 적발 감소세 하락세 역풍 적신호
    비상 파업 고전 정체 위축 미달 질타 울상 주춤 최악 불매 사고 품절대란 이탈
    """.split()
)
_KO_POSITIVE_VERBS = frozenset("늘 오르 뛰 치솟 좋 몰리 웃 넘어서 늘어나".split())
_KO_NEGATIVE_VERBS = frozenset(
    "줄 떨어지 나쁘 어렵 멈추 무너지 흔들리 꺾이 줄어들 빠지 밀리 잃".split()
)
_KO_INTENSIFIERS = frozenset("매우 아주 대폭 크 급격히 사상 역대 대거 무척 상당히 훨씬 큰폭".split())
_KO_SOFTENERS = frozenset("소폭 다소 약간 조금".split())
_KO_AMPLIFIERS = frozenset({"최대", "최고"})
_KO_NOUN_TAGS = frozenset({"NNG", "NNP", "XR", "MAG"})
_KO_VERB_TAGS = frozenset({"VV", "VA"})
# Morphemes that carry a word (not a particle, ending or suffix): negation and
# intensifiers reach across the others ("성장 / 하 / 지 / 않").
_KO_CONTENT_TAGS = frozenset(
    {"NNG", "NNP", "NNB", "NR", "NP", "VV", "VA", "XR", "MAG", "MM", "SL", "SN", "SH", "IC"}
)
_KO_BREAK_TAGS = frozenset({"SF", "SP"})  # . ? ! and , end a clause


@dataclass
class _Item:
    polarity: float = 0.0  # +1 / -1 for a lexicon word
    kind: str = "other"  # word, negate_next, negate_prev, intensify, soften, amplify, break
    content: bool = True
    flipped: bool = False


def score(text: str, lang: str) -> float:
    """Sentiment of a headline or summary in [-1.0, 1.0]; 0.0 when no word carries any.

    `lang` is "ko" (Korean morphology) or anything else (English words)."""
    if not text or not text.strip():
        return 0.0
    items = _korean_items(text) if lang.lower().startswith("ko") else _english_items(text)
    positive, negative = _tally(items)
    if positive == 0 and negative == 0:
        return 0.0
    value = (positive - negative) / (positive + negative + K)
    return round(max(-1.0, min(1.0, value)), 4)


def lexicon_size() -> dict[str, int]:
    """How many words each lexicon holds (for docs and tests)."""
    return {
        "en_positive": len(_EN_POSITIVE),
        "en_negative": len(_EN_NEGATIVE),
        "ko_positive": len(_KO_POSITIVE_NOUNS) + len(_KO_POSITIVE_VERBS),
        "ko_negative": len(_KO_NEGATIVE_NOUNS) + len(_KO_NEGATIVE_VERBS),
    }


# -- English items -------------------------------------------------------------------------


def _english_items(text: str) -> list[_Item]:
    items = []
    for token in _EN_WORD.findall(text.lower().replace("’", "'")):
        if token in ".,;:!?":
            items.append(_Item(kind="break", content=False))
        elif token in _EN_NEGATORS or token.endswith("n't"):
            items.append(_Item(kind="negate_next"))
        elif token in _EN_INTENSIFIERS:
            items.append(_Item(kind="intensify"))
        elif token in _EN_SOFTENERS:
            items.append(_Item(kind="soften"))
        else:
            polarity = _english_polarity(token)
            kind = "amplify" if polarity and token in _EN_AMPLIFIERS else "word"
            items.append(_Item(polarity=polarity, kind=kind))
    return items


def _english_polarity(token: str) -> float:
    for form in _stems(token):
        if form in _EN_POSITIVE:
            return 1.0
        if form in _EN_NEGATIVE:
            return -1.0
    return 0.0


def _stems(token: str) -> Iterable[str]:
    """The token, then what it may be an inflection of: surged -> surg, surge; dropped ->
    dropp, drop; layoffs -> layoff; stronger -> strong; companies -> company."""
    yield token
    for suffix, replacement in (("ies", "y"), ("ied", "y")):
        if token.endswith(suffix) and len(token) > 4:
            yield token[: -len(suffix)] + replacement
    for suffix in ("ing", "ed", "es", "s", "est", "er", "d"):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            base = token[: -len(suffix)]
            yield base
            if suffix != "d":
                yield base + "e"
            if len(base) > 3 and base[-1] == base[-2]:
                yield base[:-1]  # dropped -> drop, slimmer -> slim


# -- Korean items --------------------------------------------------------------------------


def _korean_items(text: str) -> list[_Item]:
    from rag_indexer.terms import kiwi  # the process's one Kiwi; loaded on first use

    items: list[_Item] = []
    previous = None
    for token in kiwi().tokenize(text):
        form, tag = token.form, token.tag.split("-")[0]  # "VA-I" (irregular) -> "VA"
        if tag in _KO_BREAK_TAGS:
            items.append(_Item(kind="break", content=False))
        elif tag == "MAG" and form in {"안", "못"}:
            # "성장하지 못했다": 못 after 지 negates what came before, like 않다.
            after_ji = previous is not None and previous.form == "지" and previous.tag == "EC"
            items.append(_Item(kind="negate_prev" if after_ji else "negate_next"))
        elif (form == "않" and tag == "VX") or (form == "못하" and tag == "VX"):
            items.append(_Item(kind="negate_prev", content=False))
        elif (form == "없" and tag == "VA") or (form == "없이" and tag == "MAG"):
            items.append(_Item(kind="negate_prev", content=False))
        elif form == "아니" and tag == "VCN":
            items.append(_Item(kind="negate_prev", content=False))
        elif form in _KO_INTENSIFIERS and tag in _KO_CONTENT_TAGS:
            items.append(_Item(kind="intensify"))
        elif form in _KO_SOFTENERS and tag in _KO_CONTENT_TAGS:
            items.append(_Item(kind="soften"))
        else:
            polarity = _korean_polarity(form, tag)
            kind = "amplify" if polarity and form in _KO_AMPLIFIERS else "word"
            items.append(_Item(polarity=polarity, kind=kind, content=tag in _KO_CONTENT_TAGS))
        previous = token
    return items


def _korean_polarity(form: str, tag: str) -> float:
    if tag in _KO_NOUN_TAGS:
        if form in _KO_POSITIVE_NOUNS:
            return 1.0
        if form in _KO_NEGATIVE_NOUNS:
            return -1.0
    elif tag in _KO_VERB_TAGS:
        if form in _KO_POSITIVE_VERBS:
            return 1.0
        if form in _KO_NEGATIVE_VERBS:
            return -1.0
    return 0.0


# -- scoring -------------------------------------------------------------------------------


def _tally(items: list[_Item]) -> tuple[float, float]:
    """(positive, negative) weights after negation and intensifiers."""
    _mark_negated_before(items)
    positive = negative = 0.0
    negate_left = boost_left = 0
    boost = 1.0
    for index, item in enumerate(items):
        if item.kind == "break":
            negate_left = boost_left = 0
            boost = 1.0
            continue
        if item.kind == "negate_next":
            negate_left = _NEGATION_REACH + 1  # +1: this item is counted down below
        elif item.kind == "intensify" or (item.kind == "amplify" and _sentiment_ahead(items, index)):
            boost, boost_left = INTENSIFY, _BOOST_REACH + 1
        elif item.kind == "soften":
            boost, boost_left = SOFTEN, _BOOST_REACH + 1
        elif item.polarity:
            weight = boost if boost_left > 0 else 1.0
            sign = item.polarity
            if (negate_left > 0) != item.flipped:
                sign = -sign
            if sign > 0:
                positive += weight
            else:
                negative += weight
            boost, boost_left = 1.0, 0
        if item.content:
            negate_left = max(0, negate_left - 1)
            boost_left = max(0, boost_left - 1)
    return positive, negative


def _mark_negated_before(items: list[_Item]) -> None:
    """A negation after a word (않다, 없다) flips the nearest word before it, when that
    word carries sentiment and no other word stands between them."""
    for index, item in enumerate(items):
        if item.kind != "negate_prev":
            continue
        for back in range(index - 1, max(-1, index - 5), -1):
            before = items[back]
            if before.kind == "break":
                break
            if before.content:
                if before.polarity:
                    before.flipped = not before.flipped
                break


def _sentiment_ahead(items: list[_Item], index: int) -> bool:
    seen = 0
    for item in items[index + 1 :]:
        if item.kind == "break":
            return False
        if item.polarity:
            return True
        if item.content:
            seen += 1
            if seen >= _AMPLIFIER_REACH:
                return False
    return False
