"""Korean <-> English marketing vocabulary, so a question in one language finds a
playbook written in the other without embeddings (offline there are none).

The words are the trade's everyday ones (channels, funnel, promotion, brand, alerting),
not a list fitted to any question set. Each pair is reduced to search terms the same way
passages are (language/terms.py); a question's term then matches a passage that holds
the term or any of its translations. With embeddings configured, meaning does this
better and for every word; this covers the vocabulary a marketer uses daily.
"""

from __future__ import annotations

from functools import cache

from language.terms import terms

PAIRS: tuple[tuple[str, str], ...] = (
    # store, funnel, checkout
    ("매출", "revenue"), ("매출", "sales"), ("주문", "order"), ("주문", "orders"),
    ("거래", "transaction"), ("구매", "purchase"), ("결제", "payment"), ("결제", "checkout"),
    ("장바구니", "cart"), ("장바구니", "basket"), ("이탈", "abandonment"), ("이탈", "exit"),
    ("이탈률", "bounce rate"), ("전환", "conversion"), ("전환율", "conversion rate"),
    ("객단가", "average order value"), ("평균 주문 금액", "average order value"),
    ("세션", "session"), ("세션", "sessions"), ("방문", "visit"), ("방문자", "visitor"),
    ("사용자", "user"), ("고객", "customer"), ("신규", "new"), ("재방문", "returning"),
    ("계정", "account"), ("회원가입", "sign up"), ("가입", "registration"),
    ("필수", "mandatory"), ("필수", "required"), ("생성", "creation"),
    ("배송", "shipping"), ("배송비", "shipping cost"), ("무료 배송", "free shipping"),
    ("환불", "refund"), ("반품", "return"), ("재고", "inventory"), ("재고", "stock"),
    ("상품", "product"), ("제품", "product"), ("카테고리", "category"), ("가격", "price"),
    ("페이지", "page"), ("로딩", "loading"), ("속도", "speed"), ("오류", "error"),
    ("장애", "outage"), ("장애", "incident"), ("게이트웨이", "gateway"),
    # promotion
    ("할인", "discount"), ("할인율", "discount rate"), ("쿠폰", "coupon"), ("중복", "stacking"),
    ("프로모션", "promotion"), ("행사", "event"), ("캠페인", "campaign"), ("최대", "maximum"),
    ("최대", "max"), ("최소", "minimum"), ("한도", "limit"), ("상한", "cap"),
    ("승인", "approval"), ("결재", "approval"), ("예외", "exception"),
    ("블랙프라이데이", "black friday"), ("사이버먼데이", "cyber monday"), ("연말", "holiday"),
    ("시즌", "season"), ("성수기", "peak season"), ("비수기", "off season"),
    ("주말", "weekend"), ("평일", "weekday"), ("올해", "this year"), ("연간", "annual"),
    ("분기", "quarter"), ("월간", "monthly"), ("주간", "weekly"), ("일간", "daily"),
    ("의류", "apparel"), ("사무용품", "office"), ("오피스", "office"), ("음료", "drinkware"),
    ("가방", "bags"), ("기념품", "merchandise"), ("상승", "lift"), ("증가", "increase"),
    ("감소", "decrease"), ("하락", "decline"), ("급감", "sharp drop"), ("급감", "drop"),
    ("급증", "spike"), ("떨어지", "drop"), ("오르", "rise"), ("늘", "grow"),
    # channels and marketing
    ("채널", "channel"), ("마케팅", "marketing"), ("예산", "budget"), ("총예산", "total budget"),
    ("광고", "ads"), ("광고", "advertising"), ("검색", "search"), ("자연 검색", "organic search"),
    ("유료 검색", "paid search"), ("직접 유입", "direct"), ("추천", "referral"),
    ("소셜", "social"), ("제휴", "affiliates"), ("디스플레이", "display"), ("유입", "traffic"),
    ("트래픽", "traffic"), ("검색 엔진 최적화", "seo"), ("키워드", "keyword"),
    ("입찰", "bid"), ("클릭", "click"), ("노출", "impression"), ("성과", "performance"),
    ("목표", "target"), ("지표", "metric"), ("핵심 지표", "kpi"), ("보고서", "report"),
    ("리뷰", "review"), ("회의", "meeting"), ("담당", "owner"), ("담당자", "owner"),
    ("책임", "responsible"), ("역할", "role"), ("비중", "share"), ("배분", "split"),
    ("태그", "tag"), ("추적", "tracking"), ("측정", "measurement"), ("기여", "attribution"),
    # brand and messages
    ("브랜드", "brand"), ("톤", "tone"), ("보이스", "voice"), ("문구", "copy"),
    ("이메일", "email"), ("제목", "subject line"), ("제목", "subject"), ("푸시", "push"),
    ("알림", "notification"), ("글자", "characters"), ("자", "characters"),
    ("길이", "length"), ("한국어", "korean"), ("영어", "english"), ("번역", "translation"),
    ("현지화", "localization"), ("접근성", "accessibility"), ("대체 텍스트", "alt text"),
    ("금지", "avoid"), ("피하", "avoid"), ("사용", "use"), ("예시", "example"),
    # alerting and operations
    ("경보", "alert"), ("알림", "alert"), ("기준", "threshold"), ("기준선", "baseline"),
    ("임계값", "threshold"), ("심각도", "severity"), ("긴급", "urgent"), ("대응", "response"),
    ("에스컬레이션", "escalation"), ("연락", "contact"), ("온콜", "on call"),
    ("사후 검토", "postmortem"), ("원인", "cause"), ("점검", "check"), ("확인", "check"),
    ("분", "minutes"), ("시간", "hours"), ("일", "days"), ("주", "weeks"),
)  # fmt: skip


@cache
def _alternatives() -> dict[str, frozenset[tuple[str, ...]]]:
    """term -> the term sequences it may be written as in the other language."""
    table: dict[str, set[tuple[str, ...]]] = {}
    for korean, english in PAIRS:
        ko, en = tuple(terms(korean)), tuple(terms(english))
        if not ko or not en:
            continue
        for side, other in ((ko, en), (en, ko)):
            if len(side) == 1:  # a one-term word; phrases are matched whole, not looked up
                table.setdefault(side[0], set()).add(other)
    return {term: frozenset(options) for term, options in table.items()}


def translations(term: str) -> frozenset[tuple[str, ...]]:
    """How `term` (a search term) is said in the other language, as term sequences."""
    return _alternatives().get(term, frozenset())
