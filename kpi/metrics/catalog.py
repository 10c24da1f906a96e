"""The metric catalog: ../shared/metrics.md as code, the one definition of every KPI.

The query compiler, the parser, cards, alerts, charts and the CLI all read this module:
canonical names, Korean and English labels, synonyms people type, units, which tables a
metric needs and how it is computed. A metric is a ratio of two aggregates or one
aggregate; aggregates live at a *grain* (session, hit or product row) and the compiler
builds one statement per grain, joining only the tables its metrics and dimensions need.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Literal

from kpi.metrics.units import Unit

Grain = Literal["session", "hit", "product"]


@dataclass(frozen=True)
class Aggregate:
    """A SQL aggregate at one grain; `kind` and `column` are read by the compiler."""

    name: str
    grain: Grain
    kind: Literal["count", "count_distinct", "sum", "sum_micros", "count_sessions_with"]
    table: str = "s"  # alias: s, t, tr, dg, h, hp
    column: str = ""
    action_type: str = ""  # for count_sessions_with


AGGREGATES: dict[str, Aggregate] = {
    a.name: a
    for a in [
        Aggregate("sessions", "session", "count"),
        Aggregate("users", "session", "count_distinct", "s", "fullVisitorId"),
        Aggregate("new_users", "session", "sum", "t", "newVisits"),
        Aggregate("pageviews", "session", "sum", "t", "pageviews"),
        Aggregate("bounces", "session", "sum", "t", "bounces"),
        Aggregate("time_on_site", "session", "sum", "t", "timeOnSite"),
        Aggregate("transactions", "session", "sum", "t", "transactions"),
        Aggregate("revenue", "session", "sum_micros", "t", "totalTransactionRevenue"),
        Aggregate("product_revenue", "product", "sum_micros", "hp", "productRevenue"),
        Aggregate("cart_sessions", "hit", "count_sessions_with", "h", action_type="3"),
        Aggregate("purchase_sessions", "hit", "count_sessions_with", "h", action_type="6"),
    ]
}


@dataclass(frozen=True)
class Metric:
    name: str
    label_ko: str
    label_en: str
    unit: Unit
    numerator: str  # an aggregate
    denominator: str | None = None  # a ratio when set
    complement: bool = False  # 1 - numerator / denominator
    synonyms: tuple[str, ...] = ()
    headline: bool = False
    higher_is_better: bool = True
    definition: str = ""

    @property
    def grain(self) -> Grain:
        return AGGREGATES[self.numerator].grain

    @property
    def aggregates(self) -> tuple[str, ...]:
        return (self.numerator,) if self.denominator is None else (self.numerator, self.denominator)

    @property
    def is_ratio(self) -> bool:
        return self.denominator is not None

    def label(self, lang: str) -> str:
        return self.label_ko if lang == "ko" else self.label_en


METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("sessions", "세션 수", "Sessions", "count", "sessions", headline=True,
               synonyms=("세션", "세션수", "방문", "방문 수", "방문수", "트래픽", "유입", "visits",
                         "sessions", "traffic"),
               definition="COUNT(*) of Sessions"),
        Metric("users", "사용자 수", "Users", "count", "users", headline=True,
               synonyms=("사용자", "사용자수", "유저", "방문자", "방문자 수", "방문자수", "users",
                         "visitors", "unique visitors"),
               definition="COUNT(DISTINCT Sessions.fullVisitorId)"),
        Metric("new_users", "신규 방문자 수", "New users", "count", "new_users",
               synonyms=("신규 방문자", "신규 사용자", "신규 유저", "신규", "새 방문자",
                         "new users", "new visitors", "new visits"),
               definition="SUM(Totals.newVisits)"),
        Metric("pageviews", "페이지뷰", "Pageviews", "count", "pageviews",
               synonyms=("페이지 뷰", "페이지뷰수", "조회수", "pv", "page views", "pageviews"),
               definition="SUM(Totals.pageviews)"),
        Metric("pages_per_session", "세션당 페이지뷰", "Pages per session", "decimal",
               "pageviews", "sessions", headline=True,
               synonyms=("세션당 페이지", "세션당 페이지 수", "pages per session",
                         "pages/session", "pageviews per session"),
               definition="pageviews / sessions"),
        Metric("bounce_rate", "이탈률", "Bounce rate", "ratio", "bounces", "sessions",
               headline=True, higher_is_better=False,
               synonyms=("바운스율", "반송률", "바운스", "bounce rate", "bounce", "bounces"),
               definition="SUM(Totals.bounces) / sessions"),
        Metric("avg_session_duration", "평균 세션 시간", "Avg. session duration", "seconds",
               "time_on_site", "sessions", headline=True,
               synonyms=("세션 시간", "체류 시간", "체류시간", "평균 체류 시간", "평균 체류시간",
                         "session duration", "avg session duration", "time on site",
                         "average session duration"),
               definition="SUM(Totals.timeOnSite) / sessions"),
        Metric("transactions", "거래 수", "Transactions", "count", "transactions", headline=True,
               synonyms=("거래", "거래수", "구매 건수", "구매건수", "구매 수", "주문 수", "주문수",
                         "주문", "transactions", "orders", "purchases"),
               definition="SUM(Totals.transactions)"),
        Metric("revenue", "매출", "Revenue", "usd", "revenue", headline=True,
               synonyms=("수익", "매출액", "판매액", "판매 금액", "revenue", "sales", "income"),
               definition="SUM(Totals.totalTransactionRevenue) / 1e6"),
        Metric("conversion_rate", "전환율", "Conversion rate", "ratio", "transactions",
               "sessions", headline=True,
               synonyms=("구매 전환율", "구매전환율", "cvr", "conversion rate", "conversion",
                         "conversions", "cr"),
               definition="transactions / sessions"),
        Metric("aov", "평균 주문 금액", "Average order value", "usd", "revenue", "transactions",
               headline=True,
               synonyms=("평균 주문금액", "객단가", "주문당 매출", "aov", "average order value",
                         "avg order value", "order value"),
               definition="revenue / transactions"),
        Metric("revenue_per_session", "세션당 매출", "Revenue per session", "usd", "revenue",
               "sessions",
               synonyms=("세션당 수익", "revenue per session", "rps", "revenue per visit"),
               definition="revenue / sessions"),
        Metric("product_revenue", "상품 매출", "Product revenue", "usd", "product_revenue",
               synonyms=("제품 매출", "상품매출", "상품별 매출", "product revenue",
                         "product sales"),
               definition="SUM(HitsProduct.productRevenue) / 1e6 over hits with actionType 6"),
        Metric("cart_sessions", "장바구니 세션", "Cart sessions", "count", "cart_sessions",
               synonyms=("장바구니 담기", "장바구니", "카트 세션", "cart sessions", "add to cart",
                         "carts"),
               definition="sessions with a hit with actionType 3"),
        Metric("purchase_sessions", "구매 세션", "Purchase sessions", "count",
               "purchase_sessions",
               synonyms=("구매세션", "구매한 세션", "purchase sessions", "buying sessions"),
               definition="sessions with a hit with actionType 6"),
        Metric("cart_abandonment_rate", "장바구니 이탈률", "Cart abandonment rate", "ratio",
               "purchase_sessions", "cart_sessions", complement=True, higher_is_better=False,
               synonyms=("장바구니 포기율", "장바구니이탈률", "카트 이탈률", "cart abandonment",
                         "cart abandonment rate", "abandonment rate"),
               definition="1 - purchase_sessions / cart_sessions"),
    ]
}  # fmt: skip


@dataclass(frozen=True)
class Dimension:
    name: str
    label_ko: str
    label_en: str
    table: str  # alias of the table holding the column
    column: str
    transform: Literal["", "week", "month", "weekday", "hour", "category", "visitor_type"] = ""
    synonyms: tuple[str, ...] = ()
    values: dict[str, str] = field(default_factory=dict)  # what people type -> stored value
    is_time: bool = False
    product_only: bool = False

    def label(self, lang: str) -> str:
        return self.label_ko if lang == "ko" else self.label_en


DEVICE_VALUES = {"모바일": "mobile", "휴대폰": "mobile", "스마트폰": "mobile", "폰": "mobile",
                 "데스크톱": "desktop", "데스크탑": "desktop", "pc": "desktop", "컴퓨터": "desktop",
                 "태블릿": "tablet", "패드": "tablet", "ipad": "tablet", "phone": "mobile"}  # fmt: skip
CHANNEL_VALUES = {
    "자연 검색": "Organic Search", "자연검색": "Organic Search", "오가닉": "Organic Search",
    "organic": "Organic Search", "검색": "Organic Search", "소셜": "Social", "sns": "Social",
    "직접": "Direct", "다이렉트": "Direct", "직접 유입": "Direct", "추천": "Referral",
    "레퍼럴": "Referral", "유료 검색": "Paid Search", "유료검색": "Paid Search",
    "검색 광고": "Paid Search", "검색광고": "Paid Search", "paid": "Paid Search", "cpc": "Paid Search",
    "제휴": "Affiliates", "어필리에이트": "Affiliates", "affiliate": "Affiliates",
    "디스플레이": "Display", "배너": "Display",
}  # fmt: skip
COUNTRY_VALUES = {
    "미국": "United States", "us": "United States", "usa": "United States", "u.s.": "United States",
    "인도": "India", "영국": "United Kingdom", "uk": "United Kingdom", "캐나다": "Canada",
    "베트남": "Vietnam", "터키": "Turkey", "튀르키예": "Turkey", "태국": "Thailand",
    "독일": "Germany", "브라질": "Brazil", "일본": "Japan", "한국": "South Korea",
    "대한민국": "South Korea", "korea": "South Korea", "중국": "China", "프랑스": "France",
    "호주": "Australia", "대만": "Taiwan", "스페인": "Spain", "이탈리아": "Italy",
    "멕시코": "Mexico", "싱가포르": "Singapore", "인도네시아": "Indonesia", "필리핀": "Philippines",
    "네덜란드": "Netherlands", "러시아": "Russia", "홍콩": "Hong Kong", "말레이시아": "Malaysia",
    "이스라엘": "Israel", "폴란드": "Poland", "아일랜드": "Ireland", "스웨덴": "Sweden",
}  # fmt: skip
CONTINENT_VALUES = {"아메리카": "Americas", "미주": "Americas", "아시아": "Asia", "유럽": "Europe",
                    "오세아니아": "Oceania", "아프리카": "Africa"}  # fmt: skip
BROWSER_VALUES = {"크롬": "Chrome", "사파리": "Safari", "파이어폭스": "Firefox", "엣지": "Edge",
                  "익스플로러": "Internet Explorer", "ie": "Internet Explorer"}  # fmt: skip
OS_VALUES = {"윈도우": "Windows", "윈도": "Windows", "맥": "Macintosh", "mac": "Macintosh",
             "macos": "Macintosh", "안드로이드": "Android", "아이폰": "iOS", "리눅스": "Linux",
             "크롬os": "Chrome OS"}  # fmt: skip

DIMENSIONS: dict[str, Dimension] = {
    d.name: d
    for d in [
        Dimension("date", "일별", "Daily", "s", "date", is_time=True,
                  synonyms=("일별", "날짜별", "일자별", "매일", "추이", "daily", "by day", "per day",
                            "trend", "day")),
        Dimension("week", "주별", "Weekly", "s", "date", "week", is_time=True,
                  synonyms=("주별", "주간별", "weekly", "by week", "per week", "week")),
        Dimension("month", "월별", "Monthly", "s", "date", "month", is_time=True,
                  synonyms=("월별", "달별", "monthly", "by month", "per month", "month")),
        Dimension("weekday", "요일별", "By weekday", "s", "date", "weekday",
                  synonyms=("요일별", "요일", "weekday", "day of week", "by weekday")),
        Dimension("hour", "시간대별", "By hour", "s", "visitStartTime", "hour",
                  synonyms=("시간대별", "시간별", "시간대", "hourly", "by hour", "hour of day")),
        Dimension("channel", "채널별", "By channel", "s", "channelGrouping",
                  synonyms=("채널별", "채널", "유입 채널", "유입경로", "channel", "channels",
                            "channel grouping"), values=CHANNEL_VALUES),
        Dimension("source", "소스별", "By source", "tr", "source",
                  synonyms=("소스별", "소스", "유입 소스", "source", "sources")),
        Dimension("medium", "매체별", "By medium", "tr", "medium",
                  synonyms=("매체별", "매체", "medium", "mediums")),
        Dimension("campaign", "캠페인별", "By campaign", "tr", "campaign",
                  synonyms=("캠페인별", "캠페인", "campaign", "campaigns")),
        # Extra (not in metrics.md): the original dashboard's customer segment, new or
        # returning, from Totals.newVisits (1 on a visitor's first session).
        Dimension("visitor_type", "방문자 유형별", "By visitor type", "t", "newVisits",
                  "visitor_type",
                  synonyms=("방문자 유형별", "방문자 유형", "신규/재방문", "visitor type",
                            "new vs returning", "segment"),
                  values={"신규": "new", "재방문": "returning", "new": "new",
                          "returning": "returning"}),
        Dimension("device", "기기별", "By device", "dg", "deviceCategory",
                  synonyms=("기기별", "기기", "디바이스", "디바이스별", "device", "devices",
                            "device category"), values=DEVICE_VALUES),
        Dimension("browser", "브라우저별", "By browser", "dg", "browser",
                  synonyms=("브라우저별", "브라우저", "browser", "browsers"), values=BROWSER_VALUES),
        Dimension("os", "OS별", "By OS", "dg", "operatingSystem",
                  synonyms=("os별", "운영체제", "운영체제별", "os", "operating system"),
                  values=OS_VALUES),
        Dimension("country", "국가별", "By country", "dg", "country",
                  synonyms=("국가별", "나라별", "국가", "나라", "country", "countries"),
                  values=COUNTRY_VALUES),
        Dimension("continent", "대륙별", "By continent", "dg", "continent",
                  synonyms=("대륙별", "대륙", "continent", "continents", "region"),
                  values=CONTINENT_VALUES),
        Dimension("city", "도시별", "By city", "dg", "city",
                  synonyms=("도시별", "도시", "city", "cities")),
        Dimension("product_name", "상품별", "By product", "hp", "v2ProductName",
                  product_only=True,
                  synonyms=("상품별", "제품별", "상품", "제품", "product", "products",
                            "by product")),
        Dimension("product_category", "카테고리별", "By category", "hp", "v2ProductCategory",
                  "category", product_only=True,
                  synonyms=("카테고리별", "상품 카테고리별", "카테고리", "분류별", "category",
                            "categories", "product category", "product categories",
                            "상품 카테고리")),
    ]
}  # fmt: skip


class CatalogError(ValueError):
    """An unknown metric, dimension or value; the message lists close matches."""


def _close(word: str, candidates: dict[str, str]) -> list[str]:
    """Canonical names whose name or synonym is close to `word`."""
    lowered = {k.lower(): v for k, v in candidates.items()}
    matches = difflib.get_close_matches(word.lower(), list(lowered), n=6, cutoff=0.5)
    seen: list[str] = []
    for match in matches:
        if lowered[match] not in seen:
            seen.append(lowered[match])
    return seen[:4]


def _index(items: dict[str, Metric] | dict[str, Dimension]) -> dict[str, str]:
    index: dict[str, str] = {}
    for name, item in items.items():
        index[name] = name
        for synonym in (item.label_ko, item.label_en, *item.synonyms):
            index.setdefault(synonym.lower(), name)
    return index


METRIC_INDEX = _index(METRICS)
DIMENSION_INDEX = _index(DIMENSIONS)


def _lookup(kind: str, word: str, index: dict[str, str], items: dict) -> Metric | Dimension:
    name = index.get(word.strip().lower())
    if name is None:
        close = _close(word, index)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise CatalogError(f"unknown {kind} {word!r}{hint} (known: {', '.join(items)})")
    return items[name]


def metric(word: str) -> Metric:
    """The metric named or meant by `word` (canonical name or synonym, any case)."""
    return _lookup("metric", word, METRIC_INDEX, METRICS)


def dimension(word: str) -> Dimension:
    """The dimension named or meant by `word` (canonical name or synonym, any case)."""
    return _lookup("dimension", word, DIMENSION_INDEX, DIMENSIONS)


def canonical_value(dim: Dimension, word: str, known: list[str] | None = None) -> str:
    """The stored value `word` means for `dim`: a synonym (모바일 -> mobile), a
    case-insensitive match among `known` values, or `word` itself when nothing is known.
    Raises CatalogError with close matches when `known` is given and nothing fits."""
    typed = word.strip()
    mapped = dim.values.get(typed.lower(), typed)
    if known is None:
        return mapped
    by_lower = {value.lower(): value for value in known}
    if mapped.lower() in by_lower:
        return by_lower[mapped.lower()]
    close = difflib.get_close_matches(mapped.lower(), list(by_lower), n=4, cutoff=0.6)
    hint = f"; did you mean {', '.join(by_lower[c] for c in close)}?" if close else ""
    raise CatalogError(f"no {dim.name} is called {word!r}{hint}")


HEADLINE_METRICS: tuple[str, ...] = tuple(m.name for m in METRICS.values() if m.headline)
