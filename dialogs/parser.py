"""The offline bilingual parser: a Korean or English chat message -> a route and a MetricQuery.

No LLM, no network, no settings: `parse(text, as_of=..., previous=...)` is a pure function of
its arguments. It decides what a message is for (numbers, documents, reasons, a command,
help, a greeting) and, for numbers, which metrics, dimensions, filters, period and top-N it
names, using the metric catalog (`kpi.metrics.catalog`) for every word it knows and
`kpi.metrics.periods` for every period.

How a message is read:

1. Normalised: NFKC, HTML tags and control characters dropped, spaces collapsed, cut to
   500 characters; English is matched in lower case.
2. Commands, greetings and help are messages made *only* of their own words ("알림 꺼줘",
   "summary at 8:30", "what can you do?"), so "어제 매출 요약해줘" stays a question.
3. A comparison ("전주 대비", "vs last month") and the period (`extract_period`) are read
   and blanked, then catalog words are matched on the raw text, longest first, so
   "장바구니 이탈률" wins over "이탈률" and "평균 주문 금액" over "주문". Korean words match
   with or without spaces inside them ("세션수" = "세션 수").
4. Korean morphology (kiwipiepy) checks the matches: particles and endings may follow a
   word ("매출은", "모바일에서"), but another content word glued to it means the match is
   part of a word the catalog does not know ("재구매율" is not "구매율", "검색량" is not
   the Organic Search channel). The same morphemes give the nouns left unmatched (for
   "did you mean" suggestions) and the verbs that make a question a "how do we" question
   ("높이려면", "늘리는 방법").
5. The route: documents -> "rag"; why / what to do -> "reasoning" (carrying the query it
   names, so the reasoning dialog can compute first); words the data has no numbers for
   -> "unknown"; a typo of a known word -> "unknown" with the corrected question as a
   button; an ambiguous word or an unusable period -> "clarify" with buttons; otherwise
   "sql", reusing `previous` for follow-ups ("그럼 모바일은?", "what about last month?").

Words the catalog lacks are kept in small local tables below, each marked LOCAL; they are
proposals for `kpi/metrics/catalog.py`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from kpi.metrics.catalog import DIMENSIONS, METRICS, CatalogError
from kpi.metrics.periods import (
    Period,
    PeriodError,
    comparison_period,
    default_period,
    explicit_period,
    extract_period,
)
from kpi.metrics.query import MetricQuery
from language.particles import swap_particle
from language.terms import kiwi

if TYPE_CHECKING:
    from kiwipiepy import Kiwi

Lang = Literal["ko", "en"]
Route = Literal[
    "sql", "rag", "reasoning", "news", "help", "greeting", "command", "unknown", "clarify"
]


@dataclass(frozen=True)
class Choice:
    """A button: its label, and the message it sends back (a question the parser reads)."""

    label: str
    text: str


@dataclass(frozen=True)
class Heard:
    """What the message itself names, read before any route or follow-up logic: the
    ground truth a model's draft of the same message is checked against."""

    period: Period | None = None  # a period named in words ("지난주"), not a default
    metrics: tuple[str, ...] = ()
    dimensions: tuple[str, ...] = ()
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (dimension, values)
    limit: int | None = None  # "top 5", "상위 10개"


@dataclass(frozen=True)
class Parsed:
    """What a message asks for. `query` is set for "sql" (and for "reasoning" when the
    message names a metric); `prompt` and `choices` for "clarify" and "unknown" (and the
    examples of "help" and "greeting"); `command`/`argument` for "command"; for "news",
    `period` (None: today) and `argument`, the topic it names (None: all news)."""

    route: Route
    lang: Lang
    query: MetricQuery | None = None
    period: Period | None = None
    period_is_default: bool = False
    follow_up: bool = False
    prompt: str | None = None
    choices: tuple[Choice, ...] = ()
    command: str | None = None
    argument: str | None = None
    corrections: tuple[tuple[str, str], ...] = ()  # (as typed, read as): typos fixed
    # (word as typed, metric it was read as) for a word with a second meaning; `choices`
    # then holds the question with the other meaning, as a button under the answer.
    read_as: tuple[tuple[str, str], ...] = ()
    # Content words nothing in the grammar explains (a why question's cue words aside).
    unknown_words: tuple[str, ...] = ()
    heard: Heard = Heard()
    # Why a "clarify" asks: "reference" (nothing said before to point at), "period" (one
    # it cannot use), "product" (a catalog limit), "ambiguous" (a word with two meanings)
    # or "metric" (none named).
    because: str | None = None
    several: bool = False  # clauses that ask different things: a number, then a why

    @property
    def confident(self) -> bool:
        """The parser placed the message with nothing left over, so its answer is the
        answer and a model has nothing to add: a command, help, a news question; a
        complete metric query or a why question with its metric and period, every word
        read; a documents question that asks for no number. A clarification, an unknown
        word or a documents question that also names a metric (two questions in one) is
        not; those are what a model is for. Nor is a clarification about a word's meaning
        or a missing metric; one about an earlier question that does not exist, a period
        it cannot use or a catalog limit is the parser's to ask."""
        if self.route in ("help", "greeting", "command", "news"):
            return True
        if self.several:
            return False
        if self.route == "clarify":  # a fact makes it ask; no model knows better
            return self.because in ("reference", "period", "product")
        if self.route == "rag":  # naming a metric, a segment or a period asks a number too
            heard = self.heard
            return not (heard.metrics or heard.filters or heard.period)
        if self.route in ("sql", "reasoning"):
            return self.query is not None and not [w for w in self.unknown_words if not _idle(w)]
        return False


# --- Normalising ---------------------------------------------------------------------

MAX_CHARS = 500  # longer messages are cut: nobody asks a metric question in 500 characters
_RAW_CAP = 4 * MAX_CHARS  # cut before NFKC too, so a 10 MB paste costs nothing
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_HTML_TAG = re.compile(r"<[^<>]{0,200}>")
_SPACES = re.compile(r"\s+")
_BLANK = "\x00"  # replaces read parts (period, comparison); control chars never survive
# normalize(), so it cannot occur in a message and no word pattern matches across it.


def normalize(text: str) -> str:
    """NFKC, no HTML tags or control/format characters, single spaces, at most 500 chars."""
    if not isinstance(text, str):
        return ""
    text = unicodedata.normalize("NFKC", text[:_RAW_CAP])
    text = _HTML_TAG.sub(" ", text)
    text = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in text)
    return _SPACES.sub(" ", text).strip()[:MAX_CHARS]


def _lower(text: str) -> str:
    """Lower case with the same length, so spans found in it index the original text."""
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def detect_language(text: str) -> Lang:
    """ "ko" when the text has any Hangul ("지난주 revenue" is Korean), else "en"."""
    return "ko" if _HANGUL.search(text or "") else "en"


# --- Korean morphology ----------------------------------------------------------------


def _kiwi() -> Kiwi:
    """The process's one Kiwi, shared with the document search (language/terms.py)."""
    return kiwi()


@dataclass(frozen=True)
class _Morph:
    form: str
    tag: str
    start: int
    end: int


def _morphemes(text: str) -> list[_Morph]:
    if not _HANGUL.search(text):
        return []
    return [_Morph(t.form, t.tag, t.start, t.start + t.len) for t in _kiwi().tokenize(text)]


# Morphemes that carry meaning. Particles (J*), endings (E*), suffixes such as 별/당/율
# (XSN), numbers and counters (SN, NNB) and punctuation may follow a catalog word.
_CONTENT_TAGS = frozenset({"NNG", "NNP", "SL", "SH", "XR", "XPN"})
# Nouns that may be glued to a catalog word without changing it ("세션수", "매출현황").
_FILLER_NOUNS = frozenset({
    "수", "건", "건수", "횟수", "수치", "값", "합", "합계", "총", "총합", "총액", "전체",
    "평균", "현황", "추이", "비교", "대비", "기준", "정도", "얼마", "데이터", "통계", "숫자",
    "결과", "지표", "리포트", "보고", "변화", "증감", "추세", "순위", "랭킹", "비중", "비율",
    "분포", "실적", "성과", "내역", "목록", "리스트", "사용", "금액", "기간", "요약", "분석",
    "확인", "조회", "부분", "쪽", "상위", "하위", "최고", "최저", "가장", "전", "후", "이번",
    "지난", "최근", "오늘", "어제", "그제", "동안", "간", "주", "달", "일", "월", "년", "개",
    "위", "등", "명", "만", "뿐", "거", "것", "뭐", "무엇", "필터", "조건",
})  # fmt: skip
# Verbs asking what to *do* about a metric: 높이려면, 늘리는 방법, 올릴, 줄이고, 낮추려면.
# Intransitive 늘다/줄다/오르다 ("늘었어?") ask about a change, not an action.
_ACTION_VERBS = frozenset({
    "높이", "늘리", "올리", "줄이", "낮추", "끌어올리", "개선하", "향상시키", "살리", "키우",
})  # fmt: skip


# --- Words --------------------------------------------------------------------------

TermKind = Literal["metric", "dimension", "value", "ambiguous", "unsupported"]


@dataclass(frozen=True)
class _Term:
    """A word people type, and what it means."""

    surface: str
    kind: TermKind
    target: str = ""  # metric or dimension name
    value: str = ""  # kind == "value": the stored value of `target`
    options: tuple[str, ...] = ()  # kind == "ambiguous": the metrics it could mean
    weak: bool = False  # a metric only when nothing stronger is named ("몇 명")
    capital: bool = False  # English words that are also common words ("US", "Display")
    pattern: re.Pattern[str] = field(default=re.compile(""), compare=False, repr=False)


# LOCAL (proposed for kpi/metrics/catalog.py): metric words the catalog lacks. 율/률 are often
# swapped in Korean ("이탈율", "전환률"); 거래액 is GMV, i.e. revenue, not a count.
_EXTRA_METRIC_SYNONYMS: dict[str, tuple[str, ...]] = {
    "revenue": ("거래액", "결제 금액", "결제금액", "결제액", "매출 금액",
                "판매", "gmv", "turnover", "revenues", "rev"),
    "conversion_rate": ("전환", "전환률", "구매율", "구매 전환률", "purchase rate", "convert",
                        "converted", "converting", "conversion rates"),
    "bounce_rate": ("이탈율", "bounce rates"),
    "cart_abandonment_rate": ("장바구니 이탈율", "장바구니 이탈", "장바구니 포기", "카트 이탈",
                              "체크아웃 이탈", "결제 이탈", "abandoned carts", "abandoned cart",
                              "checkout abandonment"),
    "transactions": ("전환 수", "전환수", "전환 건수", "구매", "결제 건수", "결제 수",
                     "order count", "number of orders"),
    "aov": ("평균 구매 금액", "평균 결제 금액", "건당 매출", "주문 단가", "basket size"),
    "avg_session_duration": ("평균 체류", "세션 길이", "session length", "dwell time",
                             "avg time on site", "average time on site"),
    "users": ("uv", "순 방문자", "순방문자"),
    "pageviews": ("페이지 조회", "page view"),
    "pages_per_session": ("세션당 pv", "세션당 페이지뷰 수", "세션당 조회수", "pv per session",
                          "pvs per session", "pv/session", "pv/세션"),
    "cart_sessions": ("장바구니 담은 세션", "장바구니에 담은 세션", "장바구니 담긴 세션",
                      "장바구니에 담긴 세션", "장바구니 넣은 세션", "장바구니에 넣은 세션",
                      "sessions with add to cart"),
}  # fmt: skip
# LOCAL: vague words that name a metric only when nothing more exact is named:
# "어제 몇 명 왔어?" is users, but "신규 사용자 몇 명" is new users.
_WEAK_METRIC_SYNONYMS: dict[str, tuple[str, ...]] = {
    "users": ("몇 명", "몇명", "how many people"),
    "revenue": ("얼마 벌", "얼마나 벌", "얼마 팔", "얼마나 팔", "팔린", "how much money",
                "how much did we make", "how much did we sell", "selling"),
    "transactions": ("몇 건", "몇건"),
}  # fmt: skip
# LOCAL: breakdown words the catalog lacks: "어디서 들어왔어?" asks for the channel.
_EXTRA_DIMENSION_SYNONYMS: dict[str, tuple[str, ...]] = {
    "channel": ("어디서", "어디에서", "유입처", "where from"),
}
# LOCAL: a catalog synonym dropped because it hides a breakdown: "상품별 매출" is product
# revenue *by product*, read as 상품별 (dimension) + 매출.
_DROPPED_SYNONYMS = frozenset({"상품별 매출"})
# LOCAL: bare English period words are periods or plain English ("last week", "a day"),
# not breakdowns; "by day", "daily", "per week" still are.
_DROPPED_DIMENSION_WORDS = frozenset({"day", "week", "month"})
# LOCAL: values the catalog lacks: product categories (the second segment of the GA
# category path), a few traffic sources, channel phrases that include the word "traffic"/
# "유입" (so it does not also count as the sessions metric), more device words.
_EXTRA_VALUES: dict[str, dict[str, str]] = {
    "product_category": {
        "의류": "Apparel", "옷": "Apparel", "apparel": "Apparel", "가방": "Bags", "bags": "Bags",
        "드링크웨어": "Drinkware", "텀블러": "Drinkware", "drinkware": "Drinkware",
        "사무용품": "Office", "문구": "Office", "office": "Office", "전자제품": "Electronics",
        "electronics": "Electronics", "액세서리": "Accessories", "악세사리": "Accessories",
        "accessories": "Accessories", "라이프스타일": "Lifestyle", "lifestyle": "Lifestyle",
        "네스트": "Nest", "nest": "Nest",
    },
    "source": {
        "구글": "google", "google": "google", "유튜브": "youtube.com", "youtube": "youtube.com",
        "페이스북": "facebook.com", "facebook": "facebook.com", "bing": "bing",
        "reddit": "reddit.com",
    },
    "channel": {
        "direct traffic": "Direct", "organic traffic": "Organic Search",
        "paid traffic": "Paid Search", "social traffic": "Social",
        "referral traffic": "Referral", "display ads": "Display", "기타 채널": "(Other)",
        "cpc traffic": "Paid Search", "cpc 유입": "Paid Search",
    },
    "device": {
        "핸드폰": "mobile", "휴대전화": "mobile", "아이패드": "tablet", "노트북": "desktop",
        "laptop": "desktop", "computer": "desktop", "phones": "mobile",
    },
    "country": {"america": "United States", "britain": "United Kingdom",
                "england": "United Kingdom"},
}  # fmt: skip
# English values that are also everyday words: read only when written with a capital
# ("US" not "us", "Display" not "display the revenue", "IE", "Edge").
_CAPITAL_VALUES = frozenset({"us", "display", "ie", "edge"})
# LOCAL: words that could mean two metrics; the parser asks instead of guessing.
_AMBIGUOUS: dict[str, tuple[str, ...]] = {
    "이탈": ("bounce_rate", "cart_abandonment_rate"),
    "drop-off": ("bounce_rate", "cart_abandonment_rate"),
    "drop off": ("bounce_rate", "cart_abandonment_rate"),
    "dropoff": ("bounce_rate", "cart_abandonment_rate"),
    "drop-off rate": ("bounce_rate", "cart_abandonment_rate"),
    "주문 금액": ("revenue", "aov"),
    "주문금액": ("revenue", "aov"),
    "구매 금액": ("revenue", "aov"),
    "order amount": ("revenue", "aov"),
    "order total": ("revenue", "aov"),
}
# LOCAL: words with a usual meaning and a second one. Five blind writers of five read 객단가
# as AOV; 전환 alone is the rate in the tuned cases, and one writer wanted to be asked. The
# answer uses the usual reading, says so, and offers the other as its first button: it
# serves both, where asking first would have stopped the five.
_LEANING: dict[str, tuple[str, str]] = {
    "객단가": ("aov", "revenue_per_session"),
    "전환": ("conversion_rate", "transactions"),
}
# LOCAL: things marketers ask for that the warehouse has no numbers for (no cost, click,
# refund or retention data): answered with what *can* be asked instead of a wrong metric.
# "CPC" alone is cost per click to a marketer; the catalog's cpc -> Paid Search stays
# reachable as "cpc traffic" / "cpc 유입".
_UNSUPPORTED = (
    "roas", "광고비", "광고 비용", "마케팅 비용", "광고 예산", "예산", "비용", "ad spend", "spend",
    "cost", "costs", "cpa", "cac", "ctr", "클릭률", "클릭수", "클릭", "clicks",
    "click-through", "impressions", "노출", "노출수", "ltv", "생애 가치", "lifetime value", "마진",
    "margin", "이익", "순이익", "영업이익", "profit", "환불", "refund", "refunds", "반품",
    "returns", "return rate", "재구매", "재구매율", "repeat purchase", "재방문", "재방문율",
    "returning users", "returning visitors", "리텐션", "retention", "churn", "재고",
    "inventory", "검색량", "search volume", "nps", "리뷰", "reviews", "평점", "쿠폰", "coupon",
    "coupons", "할인", "discount", "앱 설치", "installs", "구독", "subscriptions", "dau", "mau",
    "weather", "날씨", "cpc",
)  # fmt: skip
# Korean words that are catalog words as nouns but not in verb or compound use:
# "추천해줘" (recommend) is not the Referral channel, "직접 계산해" is not Direct,
# "검색 결과" is not Organic Search, "한국어" is not South Korea.
_GUARDS: dict[str, str] = {
    "추천": r"(?!\s*(?:해|하|좀|부탁|드리|받|할|한))",
    "직접": r"(?!\s*(?:해|하|계산|보|봐|알려|확인|만들|뽑))",
    "검색": r"(?!\s*(?:량|어|해|하|결과|엔진|창|키워드))",
    "한국": r"(?!어)",
    "맥": r"(?!주)",
    "전환": r"(?!\s*(?:하|해|되|시키))",
    "판매": r"(?!\s*(?:량|수량|개수))",
    "구매": r"(?!\s*(?:자|하|해|할|한|했))",
}
# English plurals the singular of which is another word ("in order to" is not orders).
_NO_SINGULAR = frozenset({"orders", "ios", "bounces", "sales"})


def _word_pattern(surface: str, plural: bool, guard: str) -> re.Pattern[str]:
    """The regex of one word: Korean with optional spaces between syllables ("세션 수" =
    "세션수"); English with whole-word edges (not inside "ga_data.sessions") and, when
    `plural`, singular/plural forms."""
    if _HANGUL.search(surface):
        squeezed = surface.replace(" ", "")
        body = r"\s*".join(re.escape(c) for c in squeezed)
    else:
        words = surface.split()
        last = words[-1]
        if plural and last.endswith("ies"):
            words[-1] = re.escape(last[:-3]) + "(?:y|ies)"
        elif plural and last.endswith("s") and len(last) > 3 and last not in _NO_SINGULAR:
            words[-1] = re.escape(last[:-1]) + "s?"
        elif plural and last[-1].isalpha() and not last.endswith("s"):
            words[-1] = re.escape(last) + "(?:s|es)?"
        else:
            words[-1] = re.escape(last)
        body = r"[\s-]*".join([*(re.escape(w) for w in words[:-1]), words[-1]])
    left = r"(?<![a-z0-9_.])" if surface[0].isascii() and surface[0].isalnum() else ""
    right = r"(?![a-z0-9_])" if surface[-1].isascii() and surface[-1].isalnum() else ""
    return re.compile(left + body + right + guard)


def _term(surface: str, kind: TermKind, *, plural: bool = False, **fields: Any) -> _Term:
    surface = surface.strip().lower()
    return _Term(surface, kind, pattern=_word_pattern(surface, plural, _GUARDS.get(surface, "")),
                 **fields)  # fmt: skip


@cache
def _terms() -> tuple[_Term, ...]:
    """Every word the parser knows, catalog first, each surface once (first kind wins:
    unsupported, ambiguous, metric, dimension, value)."""
    found: dict[str, _Term] = {}

    def add(term: _Term) -> None:
        if term.surface and term.surface not in found:
            found[term.surface] = term

    for word in _UNSUPPORTED:
        add(_term(word, "unsupported"))
    for word, options in _AMBIGUOUS.items():
        add(_term(word, "ambiguous", options=options))
    for name, m in METRICS.items():
        words = (name, name.replace("_", " "), m.label_ko, m.label_en, *m.synonyms,
                 *_EXTRA_METRIC_SYNONYMS.get(name, ()))  # fmt: skip
        for word in words:
            if word.lower() not in _DROPPED_SYNONYMS:
                add(_term(word, "metric", target=name, plural=True))
    for name, words in _WEAK_METRIC_SYNONYMS.items():
        for word in words:
            add(_term(word, "metric", target=name, weak=True))
    for name, d in DIMENSIONS.items():
        words = (name, name.replace("_", " "), d.label_ko, d.label_en, *d.synonyms,
                 *_EXTRA_DIMENSION_SYNONYMS.get(name, ()))  # fmt: skip
        for word in words:
            if word.lower() not in _DROPPED_DIMENSION_WORDS:
                add(_term(word, "dimension", target=name, plural=True))
    for name, d in DIMENSIONS.items():
        values = {**d.values, **{v.lower(): v for v in d.values.values()}}
        values.update(_EXTRA_VALUES.get(name, {}))
        values.update({v.lower(): v for v in _EXTRA_VALUES.get(name, {}).values()})
        for word, value in values.items():
            add(_term(word, "value", target=name, value=value, plural=name == "device",
                      capital=word.lower() in _CAPITAL_VALUES))  # fmt: skip
    return tuple(found.values())


@dataclass(frozen=True)
class _Match:
    term: _Term
    start: int
    end: int


# Particles kiwipiepy sometimes leaves inside a proper noun ("캐나다로" as one NNP).
_PARTICLES = frozenset({
    "은", "는", "이", "가", "을", "를", "도", "만", "의", "에", "에서", "으로", "로", "와", "과",
    "랑", "이랑", "하고", "별", "별로", "로는", "으로는", "에서는", "에는", "까지", "부터", "보다",
    "이나", "나", "요", "이요", "은요", "는요", "에서의",
})  # fmt: skip


# What may follow a catalog word inside one morpheme: a particle, or 수 ("장바구니 세션|수").
_TAILS = _PARTICLES | {"수"}


def _bad_edges(morphs: list[_Morph], text: str) -> tuple[frozenset[int], frozenset[int]]:
    """Positions strictly inside a Korean content morpheme, where a catalog word may not
    start, or end ("총 매출" must not cut "매출액" in two) unless only a particle follows
    ("캐나다|로")."""
    starts: set[int] = set()
    ends: set[int] = set()
    for m in morphs:
        if m.tag not in _CONTENT_TAGS:
            continue
        for p in range(m.start + 1, m.end):
            starts.add(p)
            if text[p : m.end] not in _TAILS:
                ends.add(p)
    return frozenset(starts), frozenset(ends)


def _find_terms(lowered: str, original: str, morphs: list[_Morph]) -> list[_Match]:
    """Catalog words in `lowered`, longest first, none overlapping another."""
    present = set(lowered)
    bad_starts, bad_ends = _bad_edges(morphs, lowered)
    candidates: list[_Match] = []
    for term in _terms():
        if term.surface[0] not in present:
            continue
        for found in term.pattern.finditer(lowered):
            start, end = found.span()
            if end == start or start in bad_starts or end in bad_ends:
                continue
            if term.capital and not original[start].isupper():
                continue
            candidates.append(_Match(term, start, end))
    candidates.sort(key=lambda m: (-(m.end - m.start), m.start))
    taken: list[_Match] = []
    for match in candidates:
        if all(match.end <= t.start or match.start >= t.end for t in taken):
            taken.append(match)
    return sorted(taken, key=lambda m: m.start)


def _covered(start: int, end: int, spans: Iterable[tuple[int, int]]) -> bool:
    return any(s <= start and end <= e for s, e in spans)


def _particle_tail(morph: _Morph, spans: list[tuple[int, int]], text: str) -> bool:
    """Whether a morpheme is a catalog word plus a particle ("캐나다로" tagged as one)."""
    return any(s <= morph.start < e < morph.end and text[e : morph.end] in _TAILS for s, e in spans)


def _glued_to_unknown(
    matches: list[_Match], morphs: list[_Morph], text: str, read: list[tuple[int, int]]
) -> set[_Match]:
    """Matches that are part of a longer Korean word the catalog does not know: a content
    morpheme in the same space-separated word that nothing explains ("재" of 재구매율,
    "량" of 검색량). Particles, endings and filler nouns ("세션수", "매출현황") are fine."""
    spans = [(m.start, m.end) for m in matches] + read
    wrong: set[_Match] = set()
    for word in re.finditer(r"\S+", text):
        inside = [m for m in matches if m.start < word.end() and m.end > word.start()]
        if not inside:
            continue
        for morph in morphs:
            if not (word.start() <= morph.start and morph.end <= word.end()):
                continue
            if morph.tag not in _CONTENT_TAGS or morph.form.lower() in _FILLER_NOUNS:
                continue
            if not _covered(morph.start, morph.end, spans) and not _particle_tail(
                morph, spans, text
            ):
                wrong.update(inside)
                break
    return wrong


# --- Cues ---------------------------------------------------------------------------

# Questions about documents: playbooks, guidelines, policies, PDFs.
_RAG = re.compile(
    r"문서|가이드|플레이북|정책|매뉴얼|메뉴얼|지침|규정|백서|pdf|사내\s*자료|교육\s*자료|자료에서"
    r"|(?<![a-z])(?:docs?|documents?|documentation|guides?|guidelines?|playbooks?|polic(?:y|ies)"
    r"|manuals?|handbooks?|whitepapers?|according\s+to|best\s+practices?|says?\s+about)(?![a-z])"
    r"|뭐라고\s*(?:나와|되어|돼|써|적혀)"
)
# The news the dashboard's 뉴스 tab shows: "오늘 뉴스 분위기 어때?", "fashion news this week".
_NEWS = re.compile(
    r"뉴스|기사|언론|보도|헤드라인|(?<![a-z])(?:news|headlines?|press|articles?)(?![a-z])"
)
# LOCAL (the default topics of news/topics.py): words naming a news topic.
_NEWS_TOPICS = (
    ("fashion", re.compile(r"패션|의류|어패럴|(?<![a-z])(?:fashion|apparel|clothing)(?![a-z])")),
    ("ecommerce", re.compile(r"이커머스|전자\s*상거래|온라인\s*쇼핑|유통|쇼핑몰"
                             r"|(?<![a-z])(?:e-?commerce|retail|online\s+shopping)(?![a-z])")),
    ("parent_company", re.compile(r"구글|모회사|알파벳|(?<![a-z])(?:google|alphabet|parent"
                                  r"\s+company)(?![a-z])")),
)  # fmt: skip
# Why / what should we do: answered by computing first, then reasoning (issue "Reasoning").
_REASONING = re.compile(
    r"왜|이유|원인|어떻게\s*(?:하면|해야|하나|할까|개선|높|늘|올|줄|낮)|개선|전략|방안|대책|해결책"
    r"|조언|인사이트|제안|팁|방법|문제|무슨\s*일|뭘\s*해야|뭐\s*해야|해야\s*(?:할까|하나|돼|될까|해)"
    r"|추천\s*(?:해|좀|부탁)"
    r"|(?<![a-z])(?:why|reasons?|caused?|causes|explain\w*|how\s+(?:can|could|do|should|would)"
    r"\s+(?:we|i)|how\s+to|what\s+(?:should|can|could)\s+(?:we|i)|should\s+we|strateg\w*"
    r"|recommend\w*|suggest\w*|advice|tips?|insights?|what\s+happened|improv\w*|boost\w*"
    r"|what'?s\s+wrong|problems?|issues?|what'?s\s+driving|driving\s+(?:the|this|that)"
    r"|what'?s\s+going\s+on|going\s+on|tank(?:s|ed|ing)?|wtf|what'?s\s+behind|behind\s+(?:it|this|that)"
    r"|what'?s\s+up\s+with|y\s+(?:is|are|did|do|does|was|were)"
    r"|ways?\s+to)(?![a-z])"
)
# A change asked about ("매출 떨어졌어?", "did sessions go up?") compares with the period
# before, unless a basis is named.
_CHANGE = re.compile(
    r"늘었|늘어|줄었|줄어|올랐|떨어|증가|감소|변화|변동|상승|하락|급증|급감|증감"
    r"|(?<![a-z])(?:go(?:ne)?\s+up|went\s+up|go(?:ne)?\s+down|went\s+down|increas\w*|decreas\w*"
    r"|drop(?:ped)?|chang\w*|grow\w*|growth|declin\w*|ris(?:e|en)|rose|fell|fall(?:en)?)(?![a-z])"
)
# "전주 대비", "작년과 비교", "vs last month", "YoY": the comparison basis. Read (and
# blanked) before the period, so "지난주 대비 이번 주" is this week compared with last.
_COMPARE_KO = re.compile(
    r"(?P<basis>(?:전주|지난\s*주|저번\s*주|전월|지난\s*달|저번\s*달|전년|작년|지난\s*해)"
    r"(?:\s*(?:동기|같은\s*기간|동일\s*기간|이맘때|같은\s*날|같은\s*요일))?"
    r"|전일|직전\s*기간|이전\s*기간|전\s*기간)\s*(?:와|과|랑|이랑|하고)?\s*"
    r"(?:대비|비교|에\s*비해|보다)"
)
_COMPARE_EN = re.compile(
    r"(?<![a-z])(?:vs\.?|versus|compared\s+(?:to|with)|against|relative\s+to)\s+(?:the\s+)?"
    r"(?P<basis>(?:last|previous|prior)\s+(?:week|month|year|period)|same\s+(?:period|time|days?)"
    r"\s+last\s+(?:week|year)|(?:week|month|day)\s+before|period\s+before|yesterday)(?![a-z])"
    r"|(?<![a-z])(?P<abbr>wow|mom|yoy|week[\s-]over[\s-]week|month[\s-]over[\s-]month"
    r"|year[\s-]over[\s-]year)(?![a-z])"
)
# Top-N: "상위 10개", "top 5", "하위 3곳", "bottom 5"; a bare "5개" counts only with a
# breakdown ("국가 5개").
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "한": 1, "두": 2, "세": 3, "네": 4, "다섯": 5,
                 "열": 10}  # fmt: skip
_TOP_N = re.compile(
    # 탑 ends 데스크탑 and 세 starts 세션: "데스크탑 세션당" is no top 3.
    r"(?P<dir>상위|(?<![가-힣])탑|top|베스트|best|하위|최하위|bottom|worst|highest|lowest|biggest"
    r"|largest)\s*-?\s*(?P<n>[0-9]{1,3}|one|two|three|four|five|six|seven|eight|nine|ten"
    r"|(?:한|두|세|네|다섯|열)(?![가-힣](?<![개곳위등가명])))"
    r"(?![0-9])\s*(?:개국|개|곳|위|등|가지|명)?"
    r"|(?<![0-9])(?P<bare>[0-9]{1,3})\s*(?:개국|개|곳|위)(?![가-힣])"
)
_ASCENDING = re.compile(
    r"하위|최하위|최저|가장\s*(?:낮|적)|제일\s*(?:낮|적)|낮은\s*순|적은\s*순|오름차순"
    r"|(?<![a-z])(?:bottom|worst|lowest|least|ascending|fewest)(?![a-z])"
)
_RANKED = re.compile(
    r"상위|하위|순위|랭킹|가장|제일|최고|최저|많은\s*순|높은\s*순|정렬"
    r"|(?<![a-z])(?:top|bottom|best|worst|highest|lowest|most|least|biggest|largest|rank\w*"
    r"|sorted)(?![a-z])"
)
# Values asked for as one total: "데스크톱이랑 태블릿 합쳐서", "desktop and tablet combined".
_COMBINED = re.compile(
    r"합쳐|합친|합해|합산|더해|묶어|통틀어|(?<![a-z])(?:combined|together|in\s+total|altogether)(?![a-z])"
)
# Words for visits inside a value or breakdown phrase ("organic traffic", "유입 채널").
_SESSIONS_INSIDE = re.compile(r"traffic|트래픽|유입|visits")
# "which 3 sources ...": a count of the breakdown asked for, like "top 3".
_WHICH_N = re.compile(r"(?<![a-z])which\s+(?P<n>[0-9]{1,3}|two|three|four|five|ten)\s+[a-z]")
# A word that groups by the dimension it precedes or follows: "by device", "기기별".
_BY_BEFORE = re.compile(r"(?:by|per|each|across|split\s+by|broken\s+down\s+by)\s+$")
_BY_AFTER = re.compile(r"\s*(?:별|마다|로\s*나눠|기준)")
# "그럼 모바일은?", "what about last month?": a message continuing the last one.
_FOLLOW_UP_KO = re.compile(
    r"^(?:그럼|그러면|그렇다면|그리고|근데|그건|이번엔|이번에는|대신|또|아니면|그\s*중)(?![가-힣])"
    r"|(?:은|는|도|만|로는|으로는|라면|이라면|이면|면)\s*[?？]?\s*$"
)
# "the week before that", "그 전주는?": the last question's period, moved back.
_BEFORE_THAT = re.compile(
    r"(?<![a-z])(?:the\s+)?(?P<unit>week|month|day|year|period)\s+before\s+(?:that|it|then)"
    r"(?![a-z])|그\s*(?:전|이전|앞)\s*(?P<ko>주|달|날|해|기간)"
)
_SHIFT_UNITS = {"주": "week", "달": "month", "날": "day", "해": "year", "기간": "period"}
_FOLLOW_UP_EN = re.compile(
    r"^(?:and|also|what\s+about|how\s+about|what\s+of|same\s+for|same\s+but|now|ok(?:ay)?|then"
    r"|only)(?![a-z])|(?<![a-z])(?:instead|only|too)\W*$"
)
_FOLLOW_UP_EN_SHORT = re.compile(r"^(?:for|on|in|by|per|from|with)(?![a-z])")  # "by country?"
# "전체는?", "overall?": drop the last question's filters and breakdown.
_CLEAR = re.compile(
    r"전체|모든|다\s*합쳐|(?<![a-z])(?:overall|total|in\s+total|all\s+(?:devices|channels"
    r"|countries)|everything|altogether)(?![a-z])"
)
# Comparing segments, not periods: "모바일이랑 데스크톱 비교", "mobile vs desktop".
_SEGMENT_COMPARE = re.compile(r"비교|견주|(?<![a-z])(?:vs\.?|versus|compared?|comparison)(?![a-z])")
# Trend words ask for a daily breakdown, unless another time breakdown is named.
_TREND = frozenset({"추이", "trend", "trends"})
# Looks like SQL or code; never read as a question.
_CODE = re.compile(
    r";\s*--|/\*|\b(?:drop|delete|insert|update|alter|truncate|exec|union)\s+(?:table|from|into"
    r"|all|select|database|\w+\s+set)\b|\bselect\s+.+\s+from\s",
    re.IGNORECASE,
)
_ENGLISH_WORD = re.compile(r"[a-z][a-z'-]*")
_ENGLISH_STOP = frozenset({
    "a", "about", "after", "all", "also", "am", "among", "an", "and", "any", "are", "as", "at",
    "be",
    "been", "before", "both", "but", "by", "can", "could", "day", "days", "did", "do", "does",
    "doing", "done", "each", "for", "from", "get", "got", "had", "has", "have", "how", "i",
    "if", "in", "into", "is", "it", "its", "just", "last", "let", "like", "made", "make", "me",
    "month", "months", "more", "most", "my", "no", "not", "now", "of", "on", "only", "or",
    "our", "out", "over", "past", "per", "please", "previous", "same", "see", "should", "show",
    "so", "some", "tell", "than", "that", "the", "their", "them", "then", "there", "these",
    "this", "those", "to", "today", "total", "up", "us", "was", "we", "week", "weeks", "were",
    "what", "whats", "what's", "when", "where", "which", "who", "why", "will", "with", "would",
    "year", "years", "yesterday", "you", "your", "data", "give", "number", "numbers", "much",
    "many", "value", "values", "metric", "metrics", "report", "kpi", "kpis", "stats", "compare",
    "compared", "versus", "vs", "top", "bottom", "best", "worst", "highest", "lowest",
    "biggest", "largest", "least", "overall", "again", "thanks", "thank", "ok", "okay", "hey",
    "hi", "hello",
})  # fmt: skip


# --- Commands, greetings, help --------------------------------------------------------

# Each is a message made only of its own words: the patterns below are removed and nothing
# but punctuation and polite filler may remain.
_POLITE = (
    r"좀|부탁(?:해요|합니다|해)?|주세요|줘|줄래|해줘|해\s*주세요|해\s*줄래|해|요|please|pls|"
    r"thanks|thank\s+you|can\s+you|could\s+you|would\s+you|will\s+you|i\s+want\s+to|i'd\s+like\s+to|"
    r"how\s+(?:do|can)\s+i|how\s+to|can\s+i|let\s+me|어떻게|하는\s*법|하는\s*방법|하려면"
)
_TIME = re.compile(
    r"(?P<ampm_before>오전|오후|아침|저녁|밤)?\s*(?P<h>[0-9]{1,2})\s*(?::\s*(?P<m>[0-9]{2})"
    r"|시\s*(?:(?P<km>[0-9]{1,2})\s*분|(?P<half>반))?)?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)?(?![0-9])"
)
_ALERT_WORD = r"알림|알람|경고|리스크\s*알림|alerts?|notifications?|risk\s+alerts?"
_ALERTS_OFF = re.compile(
    rf"(?:(?:{_ALERT_WORD})\s*(?:을|를|은|좀)?\s*(?:끄기|꺼|끄|끔|끌래|off|중지|중단|해제|그만|멈춰)"
    rf"|(?:turn|switch)\s+off\s+(?:the\s+|my\s+)?(?:{_ALERT_WORD})"
    rf"|(?:stop|disable|mute|pause)\s+(?:the\s+|my\s+)?(?:{_ALERT_WORD})"
    rf"|(?:turn|switch)\s+(?:the\s+|my\s+)?(?:{_ALERT_WORD})\s+off"
    rf"|(?:{_ALERT_WORD})\s+(?:off|disabled|stop))"
)
_ALERTS_ON = re.compile(
    rf"(?:(?:{_ALERT_WORD})\s*(?:을|를|은|좀)?\s*(?:다시\s*)?(?:켜기|켜|켬|켤래|on|재개|활성화|시작)"
    rf"|(?:turn|switch)\s+on\s+(?:the\s+|my\s+)?(?:{_ALERT_WORD})"
    rf"|(?:start|enable|resume|unmute)\s+(?:the\s+|my\s+)?(?:{_ALERT_WORD})"
    rf"|(?:turn|switch)\s+(?:the\s+|my\s+)?(?:{_ALERT_WORD})\s+(?:back\s+)?on"
    rf"|(?:{_ALERT_WORD})\s+(?:on|enabled|back\s+on))"
)
_SUMMARY_WORD = r"요약|리포트|브리핑|summary|summaries|report|briefing|digest"
_SUMMARY_FILLER = (
    r"매일|일일|데일리|오늘의?|지금|바로|당장|시간|시각|을|를|은|는|이|가|에|로|으로|에서|도|"
    r"보내\s*(?:줘|주세요|줄래|기)?|보여\s*(?:줘|주세요)?|받기|받을래|바꿔|변경|설정|해|하기|"
    r"send|show|give|get|me|the|a|my|daily|now|right|time|at|to|set|change|move|every|day|"
    r"morning|evening|each|it|of|please|schedule|daily's|알림|알람|notification|alert"
)
_GREETING = re.compile(
    r"안녕(?:하세요|하십니까|하신가요)?|하이|헬로|반가워요?|반갑습니다|좋은\s*(?:아침|하루)|굿모닝"
    r"|(?<![a-z])(?:hi|hello|hey|hiya|yo|greetings|good\s+(?:morning|afternoon|evening|day))"
    r"(?![a-z])"
)
_GREETING_FILLER = r"커머시|commercy|봇|bot|there|team|all|everyone|folks|여러분|님|요|입니다|!|~"
_HELP = re.compile(
    r"도움말|도움|도와\s*줘|도와\s*주세요|사용법|사용\s*방법|쓰는\s*법|기능|명령어|예시|예제"
    r"|(?:뭘|뭐|무엇을?|어떤\s*걸|어떤\s*것을?)\s*(?:할|물어볼|질문할|알려줄)\s*수\s*있(?:어요|어|나요|니|을까)?"
    r"|뭐\s*(?:해|하는\s*거야|물어봐야)|어떻게\s*(?:써|쓰|사용)"
    r"|(?:무슨|어떤|어느)\s*(?:지표|데이터|숫자)|지표\s*(?:목록|리스트|종류)"
    r"|(?<![a-z])(?:what|which)\s+(?:metrics|kpis|data|numbers|dimensions)(?![a-z])"
    r"|(?<![a-z])(?:help|usage|commands?|features|examples?|what\s+can\s+(?:you|i)\s+(?:do|ask)"
    r"|how\s+do\s+i\s+use|how\s+does\s+this\s+work|what\s+do\s+you\s+do)(?![a-z])"
    r"|^[?？]+$"
)
_HELP_FILLER = (
    r"너는?|넌|당신은?|봇|커머시|이거|이\s*봇|은|는|을|를|이|가|있어|있나요|있니|있어요|알려|"
    r"you|i|me|this|bot|commercy|the|a|with|me|show|list|of|it|can|do|please|what|are|your|menu|"
    r"know|have|support|supported|available|there|does|볼|수|있|어|나요|니|가|지원|돼|되|알아"
)
_EMPTY_REST = re.compile(r"^[\s\W_]*$")


def _edged(pattern: str) -> str:
    """`pattern` as whole English words (Korean has no such edges: particles attach)."""
    return rf"(?<![a-z])(?:{pattern})(?![a-z])"


def _only(text: str, required: str, *allowed: str) -> bool:
    """Whether `text` names `required` and is otherwise made only of `allowed`, polite
    filler and punctuation ("알림 꺼 주세요" is a command; "📈" is not)."""
    if not re.search(_edged(required), text):
        return False
    rest = text
    for pattern in (required, *allowed, _POLITE):
        rest = re.sub(_edged(pattern), " ", rest)
    return bool(_EMPTY_REST.match(rest))


def _clock(found: re.Match[str]) -> str | None:
    """ "08:30" from a time match, or None when it is not a time of day."""
    hour = int(found.group("h"))
    minute = int(found.group("m") or found.group("km") or (30 if found.group("half") else 0))
    ampm = (found.group("ampm") or "").replace(".", "")
    before = found.group("ampm_before") or ""
    if (ampm == "pm" or before in ("오후", "저녁", "밤")) and hour < 12:
        hour += 12
    if (ampm == "am" or before in ("오전", "아침")) and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02}:{minute:02}"


def _command(lowered: str) -> tuple[str, str | None] | None:
    """(command, argument) when the message is a command; ("summary_time", None) for a
    summary time that is not a time of day."""
    if _only(lowered, _ALERTS_OFF.pattern):
        return "alerts_off", None
    if _only(lowered, _ALERTS_ON.pattern):
        return "alerts_on", None
    if not re.search(_SUMMARY_WORD, lowered):
        return None
    time = _TIME.search(lowered)
    has_clock = time is not None and (
        time.group("m") or "시" in time.group(0) or time.group("ampm") or "at " in lowered
    )
    if time is not None and has_clock:
        rest = lowered[: time.start()] + " " + lowered[time.end() :]
        if _only(rest, _SUMMARY_WORD, _SUMMARY_FILLER, r"아침|오전|오후|저녁|반|분|시"):
            return "summary_time", _clock(time)
        return None
    if _only(lowered, _SUMMARY_WORD, _SUMMARY_FILLER):
        return "summary_now", None
    return None


# --- Reading a question ---------------------------------------------------------------


@dataclass
class _Reading:
    """Everything one message names, before deciding the route."""

    text: str
    lowered: str
    lang: Lang
    morphs: list[_Morph]
    period: Period | None = None
    period_span: tuple[int, int] | None = None
    period_error: PeriodError | None = None
    compare: str | None = None
    matches: list[_Match] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    weak_metrics: list[str] = field(default_factory=list)
    dimensions: list[str] = field(default_factory=list)
    filters: dict[str, list[str]] = field(default_factory=dict)
    value_words: dict[str, list[str]] = field(default_factory=dict)  # as typed, for buttons
    ambiguous: list[_Match] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    limit: int | None = None
    ranked: bool = False
    descending: bool = True
    unknown_words: list[str] = field(default_factory=list)
    replaces: bool = False  # "매출 말고 세션": a follow-up replacing the metric
    shift: str | None = None  # "the week before that": week, month, day, year or period
    segments: bool = False  # "데스크톱이랑 비교하면?": add a value to compare with
    read: list[tuple[int, int]] = field(default_factory=list)  # period, comparison, top N
    typos: list[tuple[str, list[str]]] | None = None  # _typo_candidates, once computed

    @property
    def names_something(self) -> bool:
        return bool(self.dimensions or self.filters or self.limit or self.period)


def _compare_kind(basis: str) -> str:
    basis = re.sub(r"\s+", "", basis)
    if any(w in basis for w in ("년", "해", "year", "yoy")):
        return "year"
    if any(w in basis for w in ("주", "week", "wow")):
        return "week"
    return "previous"


def _read_compare(text: str, lowered: str) -> tuple[str | None, tuple[int, int] | None]:
    found = _COMPARE_KO.search(text) or _COMPARE_EN.search(lowered)
    if found is None:
        return None, None
    basis = found.groupdict().get("basis") or found.groupdict().get("abbr") or ""
    if basis.startswith(("week before", "period before", "day before")):
        return "previous", found.span()
    return _compare_kind(basis.lower()), found.span()


def _blank(text: str, spans: Iterable[tuple[int, int] | None]) -> str:
    chars = list(text)
    for span in spans:
        if span is not None:
            chars[span[0] : span[1]] = _BLANK * (span[1] - span[0])
    return "".join(chars)


def _read_top_n(lowered: str, has_breakdown: bool) -> int | None:
    """The N of "상위 N개" / "top N" / "which N ..."; a bare "N개" only next to a breakdown."""
    which = _WHICH_N.search(lowered)
    if which and has_breakdown:
        word = which.group("n")
        return _NUMBER_WORDS.get(word) or int(word)
    for found in _TOP_N.finditer(lowered):
        if found.group("bare"):
            if has_breakdown and int(found.group("bare")) > 0:
                return int(found.group("bare"))
            continue
        word = found.group("n")
        number = _NUMBER_WORDS.get(word) or int(word)
        if number > 0:
            return number
    return None


# "the most", "가장 높은": a superlative. With one segment named in the singular ("which
# device had the highest CVR", "top product category", "매출 가장 높은 국가") the question
# asks for the one segment: three blind writers of three wrote limit 1 for it.
_SUPERLATIVE = re.compile(
    r"가장|제일|최고|최저|1위|(?<![a-z])(?:most|highest|lowest|best|worst|least|biggest"
    r"|largest|top)(?![a-z])"
)


def _asks_for_the_one(reading: _Reading, blanked: str) -> bool:
    if not _SUPERLATIVE.search(blanked):
        return False
    for match in reading.matches:
        if match.term.kind != "dimension" or DIMENSIONS[match.term.target].is_time:
            continue
        typed = reading.lowered[match.start : match.end]
        if _is_grouping(match, reading.lowered):
            return False  # "국가별 매출 가장 높은 순", "by device, highest first": all of them
        return bool(_HANGUL.search(typed)) or not typed.endswith("s")
    return False


def _is_grouping(match: _Match, lowered: str) -> bool:
    """Whether a dimension word asks for a breakdown ("기기별", "by device") rather than
    naming the dimension of a value next to it ("Direct 채널", "mobile devices")."""
    word = lowered[match.start : match.end]
    if word.endswith("별") or word.startswith(("by ", "per ")):
        return True
    return bool(_BY_BEFORE.search(lowered[: match.start]) or _BY_AFTER.match(lowered, match.end))


def _neighbours(match: _Match, matches: list[_Match]) -> tuple[_Match | None, _Match | None]:
    """The matches just before (skipping dimension words of a value: "Direct 채널") and
    just after `match`."""
    before = [m for m in matches if m.end <= match.start]
    while before and before[-1].term.kind == "dimension":
        before.pop()
    after = [m for m in matches if m.start >= match.end]
    return (before[-1] if before else None), (after[0] if after else None)


# "매출 말고 세션", "세션 대신", "instead of revenue": a metric the message replaces.
_NOT_AFTER = re.compile(r"\s*(?:은|는|을|를)?\s*(?:말고|대신|빼고|제외하고)")
_NOT_BEFORE = re.compile(r"(?<![a-z])(?:instead\s+of|rather\s+than|not)\s+(?:the\s+)?$")
_SEGMENT_GAP = re.compile(r"^\s*(?:의|'s|'|’s)?\s*$")  # "아이폰 사용자(의) 전환율", "iOS users' CR"
_POPULATION = frozenset({"users", "sessions"})
_FOR_SEGMENT = re.compile(r"^\s*(?:for|of|among|from)\s+(?:the\s+|our\s+)?$")


def _metric_role(match: _Match, matches: list[_Match], lowered: str) -> str:
    """ "strong", "weak" (counts only when nothing else is named) or "dropped".

    Weak: vague words ("몇 명"); traffic words after a channel or source ("추천 유입 매출",
    "direct traffic"); users or sessions between a value and another metric, which name
    a segment ("아이폰 사용자 전환율" is the conversion rate of iPhone users). Dropped: a
    metric the message replaces ("매출 말고 세션", "instead of revenue")."""
    term = match.term
    if _NOT_AFTER.match(lowered, match.end) or _NOT_BEFORE.search(lowered[: match.start]):
        return "dropped"
    if term.weak:
        return "weak"
    before, after = _neighbours(match, matches)
    after_value = (
        before is not None
        and before.term.kind == "value"
        and not lowered[before.end : match.start].strip()
    )
    if not after_value or term.target not in _POPULATION:
        return "strong"
    assert before is not None
    traffic = term.target == "sessions" and before.term.target in ("channel", "source")
    segment = (
        after is not None
        and after.term.kind == "metric"
        and bool(_SEGMENT_GAP.match(lowered[match.end : after.start]))
    )
    # "AOV for desktop users", "conversion rate among mobile visitors": the metric came first
    earlier, _ = _neighbours(before, matches)
    segment = segment or (
        earlier is not None
        and earlier.term.kind == "metric"
        and bool(_FOR_SEGMENT.match(lowered[earlier.end : before.start]))
    )
    return "weak" if traffic or segment else "strong"


def _read_words(reading: _Reading, blanked: str, read: list[tuple[int, int]]) -> None:
    """Metrics, dimensions, filters, ambiguous and unsupported words."""
    matches = _find_terms(blanked, reading.text, reading.morphs)
    glued = _glued_to_unknown(matches, reading.morphs, reading.text, read)
    matches = [m for m in matches if m not in glued]
    reading.matches = matches
    lowered = reading.lowered
    for match in matches:
        term = match.term
        # "organic traffic", "유입 채널별": the phrase names the sessions it splits
        inside = term.kind in ("value", "dimension") and _SESSIONS_INSIDE.search(term.surface)
        if inside and "sessions" not in reading.weak_metrics:
            reading.weak_metrics.append("sessions")
        if term.kind == "value":
            values = reading.filters.setdefault(term.target, [])
            if term.value not in values:
                values.append(term.value)
                typed = reading.text[match.start : match.end]
                reading.value_words.setdefault(term.target, []).append(typed)
    for match in matches:
        term, word = match.term, lowered[match.start : match.end]
        if term.kind == "unsupported":
            reading.unsupported.append(reading.text[match.start : match.end])
        elif term.kind == "ambiguous":
            reading.ambiguous.append(match)
        elif term.kind == "metric":
            role = _metric_role(match, matches, lowered)
            reading.replaces = reading.replaces or role == "dropped"
            target = {"strong": reading.metrics, "weak": reading.weak_metrics}.get(role)
            if target is not None and term.target not in target:
                target.append(term.target)
        elif term.kind == "dimension":
            if term.target in reading.filters and not _is_grouping(match, lowered):
                continue  # "Direct 채널": the channel of the filter, not a breakdown
            if word in _TREND:
                continue  # added below unless another time breakdown is named
            if term.target not in reading.dimensions:
                reading.dimensions.append(term.target)
    trend = any(lowered[m.start : m.end] in _TREND for m in matches if m.term.kind == "dimension")
    timed = any(DIMENSIONS[d].is_time or d in ("weekday", "hour") for d in reading.dimensions)
    if trend and not timed:
        reading.dimensions.append("date")
    for name, values in reading.filters.items():
        if len(values) > 1 and name not in reading.dimensions and not _COMBINED.search(blanked):
            reading.dimensions.append(name)  # "모바일이랑 데스크톱": one row each
    reading.unknown_words = _unknown_words(reading, read)


def _unknown_words(reading: _Reading, read: list[tuple[int, int]]) -> list[str]:
    """Content words nothing explains: nouns (Korean, by morphology) or English words."""
    spans = [(m.start, m.end) for m in reading.matches] + read
    words: list[str] = []
    if reading.morphs:
        for morph in reading.morphs:
            if morph.tag not in _CONTENT_TAGS or morph.tag == "XPN":
                continue
            form = morph.form.lower()
            if form in _FILLER_NOUNS or form in _ENGLISH_STOP:
                continue
            if _covered(morph.start, morph.end, spans) or _particle_tail(
                morph, spans, reading.lowered
            ):
                continue
            words.append(reading.text[morph.start : morph.end])
        # English inside Korean text is tagged SL and kept above; nothing else to add.
        return words
    for found in _ENGLISH_WORD.finditer(reading.lowered):
        word = found.group(0).strip("'-")
        if len(word) < 3 or word in _ENGLISH_STOP:
            continue
        if not any(s <= found.start() < e for s, e in spans):
            words.append(word)
    return words


def _read(text: str, as_of: dt.date) -> _Reading:
    lowered = _lower(text)
    reading = _Reading(text, lowered, detect_language(text), _morphemes(text))
    reading.compare, compare_span = _read_compare(text, lowered)
    try:
        found = extract_period(_blank(text, [compare_span]), as_of)
    except PeriodError as error:
        reading.period_error, found = error, None
    if found is not None:
        reading.period, reading.period_span = found
    read = [s for s in (compare_span, reading.period_span) if s is not None]
    before = _BEFORE_THAT.search(_blank(lowered, read))
    if before is not None and reading.period is None:
        reading.shift = before.group("unit") or _SHIFT_UNITS[before.group("ko")]
        read.append(before.span())
    blanked = _blank(lowered, read)
    read += [top.span() for top in _TOP_N.finditer(blanked)]
    reading.read = read
    _read_words(reading, blanked, read)
    has_breakdown = any(not DIMENSIONS[d].is_time for d in reading.dimensions)
    reading.limit = _read_top_n(blanked, has_breakdown)
    if reading.limit is None and has_breakdown and _asks_for_the_one(reading, blanked):
        reading.limit = 1
    reading.ranked = bool(_RANKED.search(blanked)) or reading.limit is not None
    reading.descending = not _ASCENDING.search(blanked)
    reading.segments = bool(_SEGMENT_COMPARE.search(blanked))
    if reading.compare is None and _CHANGE.search(blanked) and reading.metrics:
        reading.compare = "previous"
    return reading


# --- Building the answer ----------------------------------------------------------------

_POPULAR = ("revenue", "sessions", "conversion_rate", "aov")
_EXAMPLES = {
    "ko": ("어제 매출", "지난주 채널별 세션 수", "이번 달 모바일 전환율"),
    "en": (
        "revenue yesterday",
        "sessions by channel last week",
        "mobile conversion rate this month",
    ),
}
_PERIOD_CHOICES = {
    "ko": ("지난주", "최근 7일", "지난달", "오늘"),
    "en": ("last week", "last 7 days", "last month", "today"),
}


def _product_metrics(metrics: list[str], dims: Iterable[str]) -> list[str]:
    """Revenue by product or category is product revenue: the product grain is the only one
    that knows products ("이번 달 상품 카테고리별 매출")."""
    if not any(DIMENSIONS[d].product_only for d in dims):
        return metrics
    swapped = ["product_revenue" if m == "revenue" else m for m in metrics]
    return list(dict.fromkeys(swapped))


def _metric_label(name: str, lang: Lang) -> str:
    label = METRICS[name].label(lang)
    return label if lang == "ko" else label.lower()


def _question(reading: _Reading, metric: str, period_words: str | None = None) -> str:
    """A full question for a button, from what the message named plus `metric`."""
    lang = reading.lang
    if period_words is None and reading.period_span is not None:
        period_words = reading.text[reading.period_span[0] : reading.period_span[1]]
    values = [w for words in reading.value_words.values() for w in words]
    dims = [DIMENSIONS[d].label(lang) for d in reading.dimensions if d not in reading.filters]
    top = []
    if reading.limit:
        top = [f"상위 {reading.limit}개" if lang == "ko" else f"top {reading.limit}"]
    if lang == "ko":
        parts = [period_words or "", *values, *dims, *top, _metric_label(metric, lang)]
    else:
        parts = [*top, _metric_label(metric, lang), *(d.lower() for d in dims)]
        parts += [f"for {v}" for v in values] + [period_words or ""]
    return " ".join(p for p in parts if p)


def _metric_choices(reading: _Reading, metrics: Sequence[str]) -> tuple[Choice, ...]:
    return tuple(Choice(METRICS[m].label(reading.lang), _question(reading, m)) for m in metrics[:5])


def _example_choices(lang: Lang) -> tuple[Choice, ...]:
    return tuple(Choice(e, e) for e in _EXAMPLES[lang])


def _say(lang: Lang, ko: str, en: str) -> str:
    return ko if lang == "ko" else en


def _clarify_metric(reading: _Reading) -> Parsed:
    prompt = _say(reading.lang, "어떤 지표를 볼까요?", "Which metric would you like to see?")
    popular = _product_metrics(list(_POPULAR), reading.dimensions + list(reading.filters))
    choices = _metric_choices(reading, list(dict.fromkeys(popular)))
    return Parsed("clarify", reading.lang, prompt=prompt, choices=choices, because="metric")


# Words pointing back at something said before ("the thing we talked about", "그 캠페인",
# "지난번 거"): in a chat with no earlier question there is nothing to point at.
_BACK_REFERENCE = re.compile(
    r"(?<![a-z])(?:it|that|the\s+other\s+one|the\s+thing|we\s+(?:talked|discussed)"
    r"|you\s+(?:said|mentioned)|the\s+launch|earlier|last\s+time)(?![a-z])"
    r"|아까|지난번|저번에|그거|그걸|그것|얘기한|말한|말했던|(?<![가-힣])그\s+(?:캠페인|상품|채널|건|거)"
)


def _clarify_reference(reading: _Reading) -> Parsed:
    """A message about something said before, with nothing said before."""
    prompt = _say(
        reading.lang,
        "이 대화에서 앞서 물어보신 내용이 없어요. 어떤 지표를 어느 기간으로 볼까요? ",
        "There is no earlier question in this chat to go back to. Which metric and period "
        "would you like? ",
    )
    return Parsed("clarify", reading.lang, prompt=prompt + _can_answer(reading.lang),
                  choices=_example_choices(reading.lang), because="reference")  # fmt: skip


def _clarify_ambiguous(reading: _Reading) -> Parsed:
    match = reading.ambiguous[0]
    word = reading.text[match.start : match.end]
    options = match.term.options
    labels = [METRICS[m].label(reading.lang) for m in options]
    prompt = _say(
        reading.lang,
        f"'{word}'은(는) {' 또는 '.join(labels)} 중 무엇을 말씀하시나요?",
        f"By '{word}', do you mean {' or '.join(label.lower() for label in labels)}?",
    )
    return Parsed(
        "clarify",
        reading.lang,
        prompt=prompt,
        choices=_metric_choices(reading, options),
        because="ambiguous",
    )


# PeriodError messages (English, from kpi.metrics.periods) -> a short reason in Korean.
_PERIOD_REASONS_KO = (
    ("no complete day", "아직 다 지난 날이 없어요"),
    ("is not a date", "없는 날짜예요"),
    ("starts after", "아직 오지 않은 날짜예요"),
    ("no start", "시작 날짜가 없어요"),
    ("before start", "끝 날짜가 시작 날짜보다 앞서요"),
    ("has no days", "기간이 0일이에요"),
    ("reaches back", "너무 먼 과거예요"),
    ("has not started", "아직 시작되지 않았어요"),
)


def _clarify_period(reading: _Reading) -> Parsed:
    message = str(reading.period_error)
    reason = next((ko for key, ko in _PERIOD_REASONS_KO if key in message), "읽을 수 없어요")
    prompt = _say(
        reading.lang,
        f"말씀하신 기간은 {reason}. 어느 기간으로 볼까요?",
        f"I can't use that period ({message.split(';')[0]}). Which period should I use?",
    )
    metric = (reading.metrics or reading.weak_metrics or ["revenue"])[0]
    choices = tuple(
        Choice(words, _question(reading, metric, words)) for words in _PERIOD_CHOICES[reading.lang]
    )
    return Parsed("clarify", reading.lang, prompt=prompt, choices=choices, because="period")


def _clarify_product(reading: _Reading) -> Parsed:
    prompt = _say(
        reading.lang,
        "상품·카테고리별로는 상품 매출만 볼 수 있어요. 상품 매출로 볼까요?",
        "By product or category I can only show product revenue. Show that?",
    )
    choices = (
        _metric_choices(reading, ["product_revenue"])[0],
        *_example_choices(reading.lang)[:2],
    )
    return Parsed("clarify", reading.lang, prompt=prompt, choices=choices, because="product")


def _can_answer(lang: Lang) -> str:
    return _say(
        lang,
        "매출, 세션 수, 사용자 수, 전환율, 이탈률, 평균 주문 금액 같은 지표를 기간별로, 채널·기기·"
        "국가·상품별로 물어보실 수 있어요.",
        "You can ask for metrics such as revenue, sessions, users, conversion rate, bounce rate "
        "or average order value, for a period, by channel, device, country or product.",
    )


def _jamo(word: str) -> str:
    """Hangul syllables as letters, so "매츨" is one letter away from "매출"."""
    return unicodedata.normalize("NFD", word)


@cache
def _suggestion_words() -> dict[str, dict[str, str]]:
    """Per script, comparable form -> the word to suggest (metric and dimension words,
    and values)."""
    words: dict[str, dict[str, str]] = {"ko": {}, "en": {}}
    for term in _terms():
        if term.kind in ("unsupported", "ambiguous") or term.weak or len(term.surface) < 2:
            continue
        script = "ko" if _HANGUL.search(term.surface) else "en"
        key = _jamo(term.surface.replace(" ", "")) if script == "ko" else term.surface
        words[script].setdefault(key, term.surface)
    return words


def _close_words(word: str, cutoff: float) -> list[str]:
    script = "ko" if _HANGUL.search(word) else "en"
    if len(word) < (2 if script == "ko" else 4):
        return []
    table = _suggestion_words()[script]
    key = _jamo(word) if script == "ko" else word.lower()
    return [table[k] for k in difflib.get_close_matches(key, list(table), n=3, cutoff=cutoff)]


def _typos(reading: _Reading, cutoff: float = 0.8) -> list[tuple[str, str]]:
    """(word as typed, catalog word) for unknown words one edit from two catalog words
    (both offered), or a letter or so from one."""
    found = [(typed, word) for typed, words in _typo_candidates(reading) for word in words]
    if reading.metrics:
        return found  # a looser likeness must not stop an answer ("bring" is not "bing")
    for word in reading.unknown_words:
        close = _close_words(word, cutoff)
        if close and not any(word in typed or typed in word for typed, _ in found):
            found.append((word, close[0]))
    return found


def _corrected(reading: _Reading, fixes: Sequence[tuple[str, str]]) -> str:
    text = reading.text
    for typed, fixed in fixes:
        found = re.search(re.escape(typed), text, flags=re.IGNORECASE)
        if found:
            text = text[: found.start()] + fixed + text[found.end() :]
    return text


# --- Typos: one edit from exactly one word ----------------------------------------------


def one_edit_apart(a: str, b: str) -> bool:
    """Whether `b` is `a` with one letter inserted, dropped, changed, or two neighbours
    swapped (the optimal-string-alignment distance is exactly 1)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), len(a))
    if len(a) < len(b):
        return a[i:] == b[i + 1 :]
    swapped = a[i : i + 2] == b[i : i + 2][::-1]
    return a[i + 1 :] == b[i + 1 :] or (swapped and a[i + 2 :] == b[i + 2 :])


# Shorter English words are too often real words a letter from a catalog word ("came" of
# "name", "being" of "bing"): only longer ones, to longer ones, are guessed.
_MIN_TYPO_LETTERS = 5
_MIN_TYPO_SYLLABLES = 2  # one syllable is one jamo away from too many others


@cache
def _typo_vocabulary() -> dict[str, dict[str, tuple[str, str]]]:
    """Per script, comparable form (jamo for Hangul, no spaces) -> (the word to write,
    what it means). A whole catalog word or synonym means its metric, dimension or value;
    a part of a longer one ("abandonment" of "cart abandonment rate") means itself, so that
    the reading of the corrected message decides."""
    vocabulary: dict[str, dict[str, tuple[str, str]]] = {"ko": {}, "en": {}}
    parts: list[tuple[str, str]] = []
    for term in _terms():
        if term.kind == "unsupported" or term.weak:
            continue
        meaning = f"{term.kind}:{term.target}:{term.value}:{','.join(term.options)}"
        surface = term.surface
        if _HANGUL.search(surface):
            vocabulary["ko"].setdefault(_jamo(surface.replace(" ", "")), (surface, meaning))
            parts += [("ko", w) for w in surface.split() if len(w) >= _MIN_TYPO_SYLLABLES]
        else:
            if " " not in surface and len(surface) >= _MIN_TYPO_LETTERS:
                vocabulary["en"].setdefault(surface, (surface, meaning))
            parts += [("en", w) for w in surface.split() if len(w) >= _MIN_TYPO_LETTERS]
    for script, word in parts:
        key = _jamo(word) if script == "ko" else word
        vocabulary[script].setdefault(key, (word, f"part:{word.rstrip('s')}"))
    return vocabulary


def _one_edit_candidates(word: str) -> dict[str, str]:
    """What `word` could be a typo of: meaning -> the word to write. Empty when `word` is
    a known word itself or too short to guess from."""
    hangul = bool(_HANGUL.search(word))
    if len(word) < (_MIN_TYPO_SYLLABLES if hangul else _MIN_TYPO_LETTERS):
        return {}
    table = _typo_vocabulary()["ko" if hangul else "en"]
    key = _jamo(word) if hangul else word.lower()
    if key in table:
        return {}
    found: dict[str, str] = {}
    for other, (surface, meaning) in table.items():
        if one_edit_apart(key, other):
            found.setdefault(meaning, surface)
    whole = {m: w for m, w in found.items() if not m.startswith("part:")}
    return whole or found


def _korean_word_forms(reading: _Reading, morph: _Morph) -> list[str]:
    """The typed word a Korean morpheme nothing explains belongs to, longest first: its
    space-separated word without what was read (a period) or a trailing particle, then the
    run of letters around it that no catalog word explains ("세선" that kiwi cut in two,
    "매츨" of "지난주매츨")."""
    text, read = reading.text, reading.read
    explained = read + [(m.start, m.end) for m in reading.matches]
    forms = []
    for spans in (read, explained):
        free = [p for p in range(morph.start, morph.end) if not _covered(p, p + 1, spans)]
        if not free:
            continue
        start, end = free[0], free[0] + 1  # "지난주매츨", one morpheme: from 매
        while (
            start > 0 and _HANGUL.match(text[start - 1]) and not _covered(start - 1, start, spans)
        ):
            start -= 1
        while end < len(text) and _HANGUL.match(text[end]) and not _covered(end, end + 1, spans):
            end += 1
        word = text[start:end]
        particle = next((p for p in sorted(_PARTICLES, key=len, reverse=True)
                         if word.endswith(p) and len(word) > len(p) + 1), "")  # fmt: skip
        for form in (word, word[: len(word) - len(particle)]):
            if form and form not in forms:
                forms.append(form)
    # A known word glued in front or behind that kiwi did not split off ("모바일매츨").
    for form in list(forms):
        for cut in range(1, len(form) - _MIN_TYPO_SYLLABLES + 1):
            forms += [f for f in (form[cut:], form[:-cut]) if f not in forms]
    return forms


def _as_typed(text: str, word: str) -> str:
    found = re.search(re.escape(word), text, flags=re.IGNORECASE)
    return found.group(0) if found else word


def _typo_candidates(reading: _Reading) -> list[tuple[str, list[str]]]:
    """(word as typed, the catalog words it is one edit from) for each unknown word that is
    one edit from any, each meaning once. Kept on the reading: parse, the route and the
    "did you mean" buttons all ask."""
    if reading.typos is not None:
        return reading.typos
    if reading.morphs:
        unknown = [
            m for m in reading.morphs if reading.text[m.start : m.end] in reading.unknown_words
        ]
        typed_forms = [_korean_word_forms(reading, m) if _HANGUL.search(m.form)
                       else [m.form] for m in unknown]  # fmt: skip
    else:
        typed_forms = [[_as_typed(reading.text, word)] for word in reading.unknown_words]
    found: list[tuple[str, list[str]]] = []
    for forms in typed_forms:
        for form in forms:
            candidates = _one_edit_candidates(form)
            if candidates:
                if form not in (typed for typed, _ in found):
                    found.append((form, list(candidates.values())))
                break
    reading.typos = found
    return found


def _one_edit_fixes(reading: _Reading) -> list[tuple[str, str]]:
    """(word as typed, the catalog word) for every unknown word one edit from exactly one
    meaning; a word with two is left for the clarifying question."""
    return [(typed, words[0]) for typed, words in _typo_candidates(reading) if len(words) == 1]


def _unknown(reading: _Reading, fixes: Sequence[tuple[str, str]] = ()) -> Parsed:
    lang = reading.lang
    choices: list[Choice] = []
    if not fixes:
        fixes = [(t, w) for t, words in _typo_candidates(reading) for w in words] or [
            (w, c) for w in reading.unknown_words for c in _close_words(w, 0.75)[:2]
        ]
    for typed, fixed in fixes:
        text = _corrected(reading, [(typed, fixed)])
        if text not in (c.text for c in choices):
            choices.append(Choice(fixed, text))
    if reading.unsupported:
        named = ", ".join(dict.fromkeys(reading.unsupported))
        lead = _say(lang, f"'{named}' 데이터는 아직 없어요. ", f"I have no data on '{named}' yet. ")
        choices += _metric_choices(reading, list(_POPULAR[:3]))
    elif choices:
        lead = _say(lang, "혹시 이걸 찾으셨나요? ", "Did you mean one of these? ")
    else:
        lead = _say(lang, "무엇을 물어보셨는지 모르겠어요. ", "I couldn't match that to my data. ")
    for example in _example_choices(lang):
        if len(choices) >= 5:
            break
        if example.text not in (c.text for c in choices):
            choices.append(example)
    return Parsed("unknown", lang, prompt=lead + _can_answer(lang), choices=tuple(choices[:5]))


def _is_follow_up(reading: _Reading) -> bool:
    if reading.replaces:
        return True
    if reading.lang == "ko":
        return bool(_FOLLOW_UP_KO.search(reading.text))
    lowered = reading.lowered
    short = len(lowered.split()) <= 4 and _FOLLOW_UP_EN_SHORT.search(lowered)
    return bool(_FOLLOW_UP_EN.search(lowered) or short)


@dataclass(frozen=True)
class _Plan:
    """The parts of a MetricQuery, before MetricQuery.build checks them."""

    metrics: list[str]
    start: dt.date
    end: dt.date
    dimensions: list[str]
    filters: dict[str, list[str]]
    order_by: str | None
    descending: bool
    limit: int | None
    compare: str | None


def _fresh_plan(reading: _Reading, metrics: list[str], period: Period) -> _Plan:
    dims = list(reading.dimensions)
    metrics = _product_metrics(metrics, dims + list(reading.filters))
    breakdown = any(not DIMENSIONS[d].is_time for d in dims)
    if reading.limit and not breakdown and METRICS[metrics[0]].grain == "product":
        dims.append("product_name")  # "top 10 상품 매출": the products, ranked
    ordered = reading.ranked and any(not DIMENSIONS[d].is_time for d in dims)
    return _Plan(metrics, period.start, period.end, dims, dict(reading.filters),
                 metrics[0] if ordered else None, reading.descending, reading.limit,
                 reading.compare)  # fmt: skip


def _follow_up_plan(reading: _Reading, previous: MetricQuery, metrics: list[str]) -> _Plan:
    """`previous` with only what the message names replaced (spec: follow-ups)."""
    start, end = previous.start, previous.end
    if reading.period is not None:
        start, end = reading.period.start, reading.period.end
    elif reading.shift is not None:
        start, end = shifted_back(previous.start, previous.end, reading.shift)
    filters = {name: list(values) for name, values in previous.filters}
    dims = list(previous.dimensions)
    limit, order_by = previous.limit, previous.order_by
    clear = bool(_CLEAR.search(reading.lowered))
    if clear:
        filters, dims, limit, order_by = {}, [], None, None
    if reading.dimensions:
        dims = list(reading.dimensions)
        limit, order_by = None, None
        for name in dims:
            filters.pop(name, None)  # "기기별로는?" after "모바일 매출": every device
    for name, values in reading.filters.items():
        if reading.segments and name in filters:
            # "데스크톱이랑 비교하면?" after "모바일 이탈률": both, one row each
            filters[name] = list(dict.fromkeys([*filters[name], *values]))
            if name not in dims:
                dims.append(name)
            continue
        filters[name] = list(values)  # a new value of the same dimension replaces the old
        if name in dims and len(values) == 1:
            dims.remove(name)  # "모바일만" after "기기별 세션": mobile only
    metrics = metrics or list(previous.metrics)
    if reading.limit is not None:
        limit = reading.limit
    metrics = _product_metrics(metrics, dims + list(filters))
    if order_by not in metrics:
        order_by = None
    if (reading.ranked or limit) and any(not DIMENSIONS[d].is_time for d in dims):
        order_by = order_by or metrics[0]
    descending = reading.descending if reading.ranked else previous.descending
    return _Plan(metrics, start, end, dims, filters, order_by, descending, limit,
                 reading.compare)  # fmt: skip


def shifted_back(start: dt.date, end: dt.date, unit: str) -> tuple[dt.date, dt.date]:
    """The period before `start..end` by `unit`: a week or a day earlier; the calendar
    month before a whole month (else as many days before); the same dates a year earlier;
    for "period", as many days right before."""
    days = (end - start).days + 1
    if unit == "week":
        return start - dt.timedelta(days=7), end - dt.timedelta(days=7)
    if unit == "day":
        return start - dt.timedelta(days=1), end - dt.timedelta(days=1)
    whole_month = start.day == 1 and (end + dt.timedelta(days=1)).day == 1 and days <= 31
    if unit == "month" and whole_month:
        last = start - dt.timedelta(days=1)
        return last.replace(day=1), last
    if unit == "year":
        comparison = comparison_period(explicit_period(start, end), "year")
        return comparison.start, comparison.end
    return start - dt.timedelta(days=days), start - dt.timedelta(days=1)


def _build(plan: _Plan) -> MetricQuery:
    return MetricQuery.build(
        plan.metrics, plan.start, plan.end, plan.dimensions, plan.filters,
        order_by=plan.order_by, descending=plan.descending, limit=plan.limit,
        compare=plan.compare,
    )  # fmt: skip


def _answer(
    route: Route, reading: _Reading, plan: _Plan, as_of: dt.date, *, default: bool, follow_up: bool
) -> Parsed:
    query = _build(plan)
    if reading.period is not None:
        period = reading.period
    elif default:
        period = default_period(as_of)
    else:
        period = explicit_period(plan.start, plan.end, as_of=as_of)
    read_as, others = _leaning_readings(reading, query) if route == "sql" else ((), ())
    return Parsed(route, reading.lang, query=query, period=period, period_is_default=default,
                  follow_up=follow_up, read_as=read_as, choices=others)  # fmt: skip


def _leaning_readings(
    reading: _Reading, query: MetricQuery
) -> tuple[tuple[tuple[str, str], ...], tuple[Choice, ...]]:
    """For each word of _LEANING the query used in its usual meaning: (the word, that
    metric), and the question with the other meaning as a button."""
    read_as, others = [], []
    for match in reading.matches:
        usual, other = _LEANING.get(match.term.surface, (None, None))
        if usual is None or usual not in query.metrics or other in query.metrics:
            continue
        typed = reading.text[match.start : match.end]
        label = _metric_label(other, reading.lang)
        rest = reading.text[match.end :]
        if rest[:1] and rest[0] in "을를이가은는":  # "전환이" -> "거래 수가"
            rest = swap_particle(label, rest[0]) + rest[1:]
        text = reading.text[: match.start] + label + rest
        read_as.append((typed, usual))
        others.append(Choice(label, text))
    return tuple(read_as), tuple(others)


def _query_route(
    route: Route, reading: _Reading, as_of: dt.date, previous: MetricQuery | None
) -> Parsed | None:
    """A Parsed carrying a query for `route` ("sql" or "reasoning"), or None when the
    message names no metric and there is no previous query to continue."""
    metrics = reading.metrics or reading.weak_metrics
    follow_up = previous is not None and (not metrics or _is_follow_up(reading))
    if follow_up and previous is not None:
        changes = (metrics or reading.names_something or reading.shift
                   or _CLEAR.search(reading.lowered))  # fmt: skip
        if route == "sql" and not changes:
            return None  # "asdf" after a question is not a follow-up
        plan = _follow_up_plan(reading, previous, list(metrics))
        return _answer(route, reading, plan, as_of, default=False, follow_up=True)
    if not metrics:
        return None
    period = reading.period or default_period(as_of)
    plan = _fresh_plan(reading, list(metrics), period)
    return _answer(route, reading, plan, as_of, default=reading.period is None, follow_up=False)


def _route_words(reading: _Reading) -> tuple[bool, bool]:
    """(is about documents, asks why / what to do)."""
    rag = bool(_RAG.search(reading.lowered))
    reasoning = bool(_REASONING.search(reading.lowered))
    if not reasoning and reading.morphs:
        reasoning = any(m.tag == "VV" and m.form in _ACTION_VERBS for m in reading.morphs)
    return rag, reasoning


def _greeting_or_help(lowered: str) -> Route | None:
    if _only(lowered, _GREETING.pattern, _GREETING_FILLER):
        return "greeting"
    if _only(lowered, _HELP.pattern, _HELP_FILLER):
        return "help"
    if _only(lowered, _ALERT_WORD, r"설정|관리|settings?|setup|상태|status"):
        return "help"  # "알림 설정": what the alert commands are
    return None


def _greeting_help(route: Route, lang: Lang) -> Parsed:
    hello = _say(lang, "안녕하세요! Commercy예요. ", "Hi! I'm Commercy. ")
    commands = _say(
        lang,
        " 명령: '알림 끄기'/'알림 켜기', '요약 08:30'(매일 요약 시각), '지금 요약'.",
        " Commands: 'alerts off'/'alerts on', 'summary at 8:30', 'summary now'.",
    )
    prompt = (hello if route == "greeting" else "") + _can_answer(lang)
    if route == "help":
        prompt += commands
    return Parsed(route, lang, prompt=prompt, choices=_example_choices(lang))


def _command_parsed(command: str, argument: str | None, lang: Lang) -> Parsed:
    if command == "summary_time" and argument is None:
        prompt = _say(lang, "요약 시각은 00:00~23:59로 알려 주세요.",
                      "Give the summary time as 00:00-23:59.")  # fmt: skip
        times = ("08:30", "09:00", "18:00")
        words = "요약" if lang == "ko" else "summary at"
        choices = tuple(Choice(t, f"{words} {t}") for t in times)
        return Parsed("clarify", lang, prompt=prompt, choices=choices)
    return Parsed("command", lang, command=command, argument=argument)


def parse(text: str, *, as_of: dt.date, previous: MetricQuery | None = None) -> Parsed:
    """What `text` asks for, read against `as_of` (periods) and `previous` (the last query
    in this conversation, for follow-ups). Never raises on any input."""
    text = normalize(text)
    lang = detect_language(text)
    if not text or _CODE.search(text):
        return _unknown(_Reading(text, _lower(text), lang, []))
    lowered = _lower(text)
    command = _command(lowered)
    if command is not None:
        return _command_parsed(*command, lang)
    social = _greeting_or_help(lowered)
    if social is not None:
        return _greeting_help(social, lang)
    reading = _read(text, as_of)
    fixes = _one_edit_fixes(reading)
    if fixes:
        reading = _read(_corrected(reading, fixes), as_of)
    try:
        parsed = _route(reading, as_of, previous)
    except ValueError:  # CatalogError, PeriodError: a combination the metric layer refuses
        parsed = _unknown(reading)
    unknown = _unexplained(reading) if parsed.route == "reasoning" else reading.unknown_words
    heard = Heard(
        period=reading.period if reading.period_error is None else None,
        # A vague word ("몇 건") is the metric when the message names no other.
        metrics=tuple(reading.metrics or reading.weak_metrics),
        dimensions=tuple(reading.dimensions),
        filters=tuple((d, tuple(v)) for d, v in reading.filters.items()),
        limit=reading.limit,
    )
    return replace(parsed, corrections=tuple(fixes), unknown_words=tuple(unknown), heard=heard,
                   several=_several_questions(reading.lowered, as_of))  # fmt: skip


# Where one question ends and another begins: a question mark with more after it, a
# comma or "그리고 / also / and tell me", a Korean "…주고," ("알려주고", "뽑아주고").
_CLAUSE_BREAK = re.compile(
    r"\?\s+(?=\S)|[,;]\s*|\s(?:그리고|또한|그리고요|also|plus|and\s+(?:also|tell|what|how|why|where))\s"
    r"|(?:(?<=주고)|(?<=마고)|(?<=보고))\s"
)


def _several_questions(lowered: str, as_of: dt.date) -> bool:
    """Clauses asking different kinds of thing ("어제 매출 얼마야? 그리고 떨어진 이유도",
    "전환율 뽑아주고 개선하려면 뭐 해야 되는지도"): a number, a why, a document."""
    clauses = [c for c in _CLAUSE_BREAK.split(lowered) if c and c.strip()]
    if len(clauses) < 2:
        return False
    kinds = set()
    for clause in clauses:
        if _RAG.search(clause):
            kinds.add("rag")
        elif _REASONING.search(clause) or any(
            m.tag == "VV" and m.form in _ACTION_VERBS for m in _morphemes(clause)
        ):
            kinds.add("reasoning")
        elif _ASKS.search(clause) and _read(clause, as_of).metrics:
            kinds.add("sql")  # "지난주 매출, 왜 떨어졌어?" names its topic first: one question
    return len(kinds) >= 2


# A clause that asks for a number rather than naming a topic.
_ASKS = re.compile(
    r"얼마|몇|알려|보여|뽑|정리|조회|\?|(?<![a-z])(?:how\s+(?:much|many)|what\s+(?:was|is|were|are)"
    r"|show|give|pull|tell|list)(?![a-z])"
)


# Words that ask or name a direction but never change a query: a request ("pls", "ㄱㄱ",
# "정리 부탁"), a verb of bringing ("pull", "drove"), a move ("drop", "spike", "바닥");
# an unknown word among them leaves the parser's reading whole (Parsed.confident).
_IDLE_WORDS = frozenset(unicodedata.normalize("NFKC", w) for w in (
    "pls", "plz", "pleaseee", "thx", "thanks", "asap", "need", "needs", "want", "pull",
    "grab", "bring", "brought", "drove", "drive", "driven", "so", "far", "rank", "ranked",
    "drop", "drops", "dropped", "dip", "dipped", "fall", "fell", "spike", "spiked", "jump",
    "jumped", "surge", "surged", "growth", "grew", "increase", "increased", "decrease",
    "decreased", "decline", "declined", "rise", "rose", "down", "change", "changed", "move",
    "moved", "lately", "quick", "quickly",
    "ㄱㄱ", "ㅋㅋ", "ㅎㅎ", "ㅠㅠ", "정리", "부탁", "요청", "바닥", "하락", "상승", "급증",
    "급감", "감소", "증가", "폭락", "폭등", "누적",
))  # fmt: skip


def _idle(word: str) -> bool:
    return unicodedata.normalize("NFKC", word).lower() in _IDLE_WORDS


def _unexplained(reading: _Reading) -> list[str]:
    """A why question's unknown words without its cue words ("이유", "tanked")."""
    cues = " ".join(found.group(0) for found in _REASONING.finditer(reading.lowered))
    return [w for w in reading.unknown_words if w.lower() not in cues]


def _route(reading: _Reading, as_of: dt.date, previous: MetricQuery | None) -> Parsed:
    lang = reading.lang
    if _NEWS.search(reading.lowered) and not reading.metrics:
        return _news(reading)
    rag, reasoning = _route_words(reading)
    if rag:
        return Parsed("rag", lang)
    if reasoning:
        return _reasoning(reading, as_of, previous)
    if reading.unsupported:
        return _unknown(reading)
    named = reading.metrics or reading.dimensions or reading.filters or reading.period
    if previous is None and not named and _BACK_REFERENCE.search(reading.lowered):
        return _clarify_reference(reading)
    fixes = _typos(reading)
    if fixes:
        return _unknown(reading, fixes)
    if reading.period_error is not None:
        return _clarify_period(reading)
    if reading.ambiguous and not reading.metrics:
        return _clarify_ambiguous(reading)
    try:
        answered = _query_route("sql", reading, as_of, previous)
    except CatalogError:
        before = [*previous.dimensions, *previous.filter_map] if previous else []
        named = [*reading.dimensions, *reading.filters, *before]
        if any(DIMENSIONS[d].product_only for d in named):
            return _clarify_product(reading)  # "지난주 상품별 세션"
        raise
    if answered is not None:
        return answered
    if reading.dimensions or reading.filters or reading.limit:
        return _clarify_metric(reading)
    if reading.unknown_words:
        return _unknown(reading)
    if reading.period is not None or _is_follow_up(reading):
        return _clarify_metric(reading)
    return _unknown(reading)


def _news(reading: _Reading) -> Parsed:
    """The news' mood over the period named (none: today), for the topic named (none: all)."""
    topic = next((name for name, words in _NEWS_TOPICS if words.search(reading.lowered)), None)
    period = reading.period if reading.period_error is None else None
    return Parsed("news", reading.lang, period=period, argument=topic)


def _reasoning(reading: _Reading, as_of: dt.date, previous: MetricQuery | None) -> Parsed:
    """A why / what-to-do question, with the query it names (or continues) when it names
    one, so the reasoning dialog can compute before it explains. A period it cannot use
    is asked about, as for a number question, never replaced by another."""
    if reading.period_error is not None:
        return _clarify_period(reading)
    named = reading.metrics or reading.weak_metrics or reading.dimensions or reading.filters
    if _unexplained(reading) and not named and previous is None:
        # "오늘 점심 메뉴 추천 좀": a recommendation, but of nothing in the store; the router
        # still looks in the playbooks before saying what it can answer.
        return _unknown(reading)
    try:
        answered = _query_route("reasoning", reading, as_of, previous)
    except CatalogError:
        answered = None
    if answered is not None:
        return answered
    if reading.filters or reading.period is not None:
        # "what should we do to sell more in Canada?": no metric named, but a segment or
        # a period is; the reasoning dialog starts from revenue and keeps them.
        try:
            period = reading.period or default_period(as_of)
            plan = _fresh_plan(reading, ["revenue"], period)
            return _answer("reasoning", reading, plan, as_of, default=reading.period is None,
                           follow_up=False)  # fmt: skip
        except CatalogError:
            pass
    return Parsed("reasoning", reading.lang)
