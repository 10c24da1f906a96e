"""Headline sentiment in [-1, 1] for Korean and English business news, offline.

Method: a lexicon, not a model. The lexicon ships with the code (no download, no GPU, no
network at ingest time), gives the same number for the same text on every machine, and
can be explained to a marketer: "-0.33 because of 'recall'". A handful of words decides
the tone of a news headline far more often than it does in reviews or social posts, which
is where lexicons do badly.

1. The text is cut into words. English: lower-cased words, each matched as written or
   after a light stemming ("surged" -> "surge", "layoffs" -> "layoff", "stronger" ->
   "strong"). Korean: morphemes from the project's one Kiwi (language.terms.kiwi), so
   "성장했다", "성장세" and "성장을" all contain the stem 성장; verbs and adjectives are
   matched by stem (늘다 -> 늘) only when Kiwi tags them as such.
2. Each lexicon word counts 1 toward the positive or negative side.
   - An intensifier ("sharply", "major", 대폭, 크게, 역대) makes the next sentiment word
     count 1.5; a softener ("slightly", "minor", 소폭) 0.5.
   - "record", 최대, 최고 are positive on their own ("record sales", 사상 최대 매출) but
     only intensify a sentiment word right after them ("record loss", 최대 적자).
   - Words of movement (growth, fall, 증가, 감소, 확대, 둔화, 늘다, 줄다) take their sign
     from a sentiment word just before them: "손실 확대" / "losses widen" is bad,
     "적자 감소" / "complaints fall" is good, "성장 둔화" is bad. The pair counts once.
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
_EN_NEGATION_REACH = 3  # English words after "not" that it flips
_KO_NEGATION_REACH = 1  # the Korean word right after 안 / 못
_BOOST_REACH = 3  # words an intensifier can reach
_AMPLIFIER_REACH = 2  # "record" intensifies a sentiment word at most this far ahead
_SUBJECT_REACH = 2  # words a movement word looks back for what moved ("적자 폭이 줄었다")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# -- English -------------------------------------------------------------------------------

_EN_POSITIVE = _words("""
    growth grow grew grown surge soar rally rebound recover recovery record record-breaking
    beat beats beaten surpass strong strength robust solid healthy resilient upbeat
    optimistic bullish confident launch unveil debut win won winner award praise acclaim
    acclaimed popular popularity favorite favourite profit profitable gain rise rose risen
    jump climb boost expand expansion improve improvement upgrade accelerate outperform
    exceed top best better lead leader leading success successful milestone breakthrough
    innovative innovation boom thrive momentum sellout sold-out bestseller best-selling
    partnership positive good great excellent impressive efficient convenient faster easier
    smooth reliable welcome approve approval celebrate love loyal delight reward benefit
    opportunity upside tailwind double widen
    """)
_EN_NEGATIVE = _words("""
    decline drop fall fell fallen loss lose lost lawsuit sue fine penalty layoff lay-off
    recall outage breach weak weaken weakness miss slump plunge slide slid sink sank sunk
    tumble cut shrink shrank slow slowdown stall struggle fail failure crisis concern worry
    fear risk warn warning threat probe investigation antitrust scandal controversy
    complaint backlash boycott criticism criticize criticise delay disruption disrupt
    shortage glitch bug crash downturn recession bankruptcy bankrupt closure shutdown hack
    leak fraud scam theft counterfeit defect defective faulty worse worst bad poor negative
    bearish pessimistic uncertain uncertainty volatile volatility pressure headwind deficit
    downgrade underperform disappoint disappointing fallout strike halt suspend ban
    violation accuse allegation setback hurt damage problem error abandon abandonment churn
    lag squeeze slash dispute overcharge narrow
    """)
# Movement words: their sign follows the sentiment word they move ("losses grow" is bad).
_EN_UP = _words(
    "growth grow grew grown surge soar rally rebound jump climb rise rose risen boost expand "
    "expansion accelerate double widen"
)
_EN_DOWN = _words(
    "decline drop fall fell fallen slump plunge slide slid sink sank sunk tumble cut shrink "
    "shrank slowdown slow slash narrow"
)
_EN_NEGATORS = _words("not no never without nor neither cannot nobody nothing none")
_EN_INTENSIFIERS = _words("""
    very extremely sharply significantly substantially strongly highly hugely massively
    major huge massive big biggest deeply severely dramatically steep steeply
    """)
_EN_SOFTENERS = _words("slightly somewhat modestly marginally mildly minor small slight")
_EN_AMPLIFIERS = frozenset({"record"})
_EN_TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z]+)*|[.,;:!?]")

# -- Korean (Kiwi morphemes) ---------------------------------------------------------------

_KO_POSITIVE_NOUNS = _words("""
    성장 증가 급증 호조 흑자 최대 최고 인기 출시 상승 개선 확대 수상 돌파 호황 강세 반등
    회복 혁신 성공 호평 흥행 매진 순항 선전 약진 달성 증대 신장 활기 쾌거 제휴 협력 호응
    열풍 각광 급등 상향 만족 편리 간편 효율 수혜 확장 선두 견조 환영 완판 성과 상승세
    증가세 돌풍 도약 특수 훈풍 청신호 활황 흑자전환 대박
    """)
_KO_NEGATIVE_NOUNS = _words("""
    감소 하락 급락 부진 적자 손실 소송 과징금 벌금 해고 감원 리콜 장애 유출 위기 논란
    우려 둔화 침체 약세 악화 지연 차질 불만 반발 제재 결함 오류 중단 폐쇄 철수 파산
    불황 급감 축소 하향 취소 항의 피해 사기 해킹 먹통 불량 경고 위반 혐의 고소 실패
    타격 충격 악재 부담 압박 비판 불안 손해 폭락 마비 적발 감소세 하락세 역풍 적신호
    비상 파업 고전 정체 위축 미달 질타 울상 주춤 최악 불매 사고 이탈
    """)
_KO_POSITIVE_VERBS = _words("늘 늘어나 오르 뛰 치솟 좋 몰리 웃 넘어서")
_KO_NEGATIVE_VERBS = _words("줄 줄어들 떨어지 나쁘 어렵 멈추 무너지 흔들리 꺾이 빠지 밀리 잃")
_KO_UP = _words(
    "성장 증가 급증 상승 확대 증대 신장 급등 상승세 증가세 상향 확장 늘 늘어나 오르 뛰 치솟"
)
_KO_DOWN = _words("감소 하락 급락 급감 축소 하향 감소세 하락세 둔화 폭락 줄 줄어들 떨어지 꺾이")
_KO_INTENSIFIERS = _words("매우 아주 대폭 크 급격히 사상 역대 대거 무척 상당히 훨씬")
_KO_SOFTENERS = _words("소폭 다소 약간 조금")
_KO_AMPLIFIERS = frozenset({"최대", "최고"})
# 최고 in a job title (최고경영자, 최고기술책임자) says nothing about how things went.
_KO_TITLE_WORDS = _words("경영자 책임자 경영 재무 기술 운영 마케팅 전략 정보 인사 디지털")
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
    kind: str = "other"  # word, negate_next, negate_prev, intensify, soften, amplify, break
    polarity: float = 0.0  # +1 / -1 for a lexicon word
    movement: int = 0  # +1 up, -1 down for words of movement
    content: bool = True  # a word, not a particle or ending
    reach: int = 0  # for negate_next: how many words it flips
    flipped: bool = False  # negated by a word after it (않다, 없다)


def score(text: str, lang: str) -> float:
    """Sentiment of a headline or summary in [-1.0, 1.0]; 0.0 when no word carries any.

    `lang` is "ko" (Korean morphology) or anything else (English words)."""
    if not text or not text.strip():
        return 0.0
    korean = (lang or "").lower().startswith("ko")
    items = _korean_items(text) if korean else _english_items(text)
    positive, negative = _tally(items)
    if positive == 0 and negative == 0:
        return 0.0
    value = (positive - negative) / (positive + negative + K)
    return round(max(-1.0, min(1.0, value)), 4)


def lexicon_sizes() -> dict[str, int]:
    """How many words each lexicon holds."""
    return {
        "en_positive": len(_EN_POSITIVE),
        "en_negative": len(_EN_NEGATIVE),
        "ko_positive": len(_KO_POSITIVE_NOUNS | _KO_POSITIVE_VERBS),
        "ko_negative": len(_KO_NEGATIVE_NOUNS | _KO_NEGATIVE_VERBS),
    }


# -- English items -------------------------------------------------------------------------


def _english_items(text: str) -> list[_Item]:
    items = []
    for token in _EN_TOKEN.findall(text.lower().replace("’", "'")):
        if token in ".,;:!?":
            items.append(_Item("break", content=False))
        elif token in _EN_NEGATORS or token.endswith("n't"):
            items.append(_Item("negate_next", reach=_EN_NEGATION_REACH))
        elif token in _EN_INTENSIFIERS:
            items.append(_Item("intensify"))
        elif token in _EN_SOFTENERS:
            items.append(_Item("soften"))
        else:
            items.append(_english_word(token))
    return items


def _english_word(token: str) -> _Item:
    for form in _stems(token):
        if form in _EN_POSITIVE or form in _EN_NEGATIVE:
            polarity = 1.0 if form in _EN_POSITIVE else -1.0
            movement = 1 if form in _EN_UP else -1 if form in _EN_DOWN else 0
            kind = "amplify" if form in _EN_AMPLIFIERS else "word"
            return _Item(kind, polarity=polarity, movement=movement)
    return _Item("word")


def _stems(token: str) -> Iterable[str]:
    """The token, then what it may be an inflection of: surged -> surg, surge; dropped ->
    dropp, drop; layoffs -> layoff; stronger -> strong; companies -> company."""
    yield token
    for suffix in ("ies", "ied"):
        if token.endswith(suffix) and len(token) > 4:
            yield token[:-3] + "y"
    for suffix in ("ing", "ed", "es", "s", "est", "er", "d"):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            base = token[: -len(suffix)]
            yield base
            if suffix != "d":
                yield base + "e"
            # Doubled consonant only before -ing/-ed: dropped -> drop, but banner is not ban.
            if suffix in ("ing", "ed") and len(base) > 3 and base[-1] == base[-2]:
                yield base[:-1]


# -- Korean items --------------------------------------------------------------------------


def _korean_items(text: str) -> list[_Item]:
    from language.terms import kiwi  # the process's one Kiwi, loaded on first use

    tokens = kiwi().tokenize(text)
    items: list[_Item] = []
    for index, token in enumerate(tokens):
        form, tag = token.form, token.tag.split("-")[0]  # "VA-I" (irregular) -> "VA"
        previous = tokens[index - 1] if index else None
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if tag in _KO_BREAK_TAGS:
            items.append(_Item("break", content=False))
        elif tag == "MAG" and form in ("안", "못"):
            # "성장하지 못했다": 못 after 지 negates what came before it, like 않다.
            after_ji = previous is not None and (previous.form, previous.tag) == ("지", "EC")
            if after_ji:
                items.append(_Item("negate_prev", content=False))
            else:
                items.append(_Item("negate_next", reach=_KO_NEGATION_REACH))
        elif (form, tag) in {("않", "VX"), ("못하", "VX"), ("없", "VA"), ("없이", "MAG"),
                             ("아니", "VCN")}:  # fmt: skip
            items.append(_Item("negate_prev", content=False))
        elif form in _KO_INTENSIFIERS and tag in _KO_CONTENT_TAGS:
            items.append(_Item("intensify"))
        elif form in _KO_SOFTENERS and tag in _KO_CONTENT_TAGS:
            items.append(_Item("soften"))
        elif form == "최고" and following is not None and following.form in _KO_TITLE_WORDS:
            items.append(_Item("word"))
        else:
            items.append(_korean_word(form, tag))
    return items


def _korean_word(form: str, tag: str) -> _Item:
    if tag in _KO_NOUN_TAGS:
        positive, negative = _KO_POSITIVE_NOUNS, _KO_NEGATIVE_NOUNS
    elif tag in _KO_VERB_TAGS:
        positive, negative = _KO_POSITIVE_VERBS, _KO_NEGATIVE_VERBS
    else:
        return _Item("word", content=tag in _KO_CONTENT_TAGS)
    if form not in positive and form not in negative:
        return _Item("word")
    return _Item(
        "amplify" if form in _KO_AMPLIFIERS else "word",
        polarity=1.0 if form in positive else -1.0,
        movement=1 if form in _KO_UP else -1 if form in _KO_DOWN else 0,
    )


# -- scoring -------------------------------------------------------------------------------


def _tally(items: list[_Item]) -> tuple[float, float]:
    """(positive, negative) weights after negation, intensifiers and movement."""
    _mark_negated_before(items)
    counted: list[float] = [0.0] * len(items)  # signed weight each item contributed
    negate_left = boost_left = 0
    boost = 1.0
    for index, item in enumerate(items):
        if item.kind == "break":
            negate_left = boost_left = 0
            boost = 1.0
            continue
        if item.kind == "negate_next":
            negate_left = item.reach + 1  # +1: this item itself is counted down below
        elif item.kind == "intensify" or (
            item.kind == "amplify" and _sentiment_ahead(items, index)
        ):
            boost, boost_left = INTENSIFY, _BOOST_REACH + 1
        elif item.kind == "soften":
            boost, boost_left = SOFTEN, _BOOST_REACH + 1
        elif item.polarity:
            weight = boost if boost_left > 0 else 1.0
            negated = (negate_left > 0) != item.flipped
            sign = item.polarity
            subject = _subject(items, counted, index) if item.movement else None
            if subject is not None:
                # "손실 확대": what moved decides the sign; the pair counts once.
                sign = (1.0 if counted[subject] > 0 else -1.0) * item.movement
                weight = max(weight, abs(counted[subject]))
                counted[subject] = 0.0
            if negated:
                sign = -sign
            counted[index] = sign * weight
            boost, boost_left = 1.0, 0
        if item.content:
            negate_left = max(0, negate_left - 1)
            boost_left = max(0, boost_left - 1)
    positive = sum(c for c in counted if c > 0)
    negative = -sum(c for c in counted if c < 0)
    return positive, negative


def _subject(items: list[_Item], counted: list[float], index: int) -> int | None:
    """The sentiment word a movement word is about: the nearest counted word at most
    _SUBJECT_REACH words before it, in the same clause."""
    seen = 0
    for back in range(index - 1, -1, -1):
        before = items[back]
        if before.kind in ("break", "negate_next", "negate_prev"):
            return None
        if counted[back]:
            return back
        if before.content:
            seen += 1
            if seen >= _SUBJECT_REACH:
                return None
    return None


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
