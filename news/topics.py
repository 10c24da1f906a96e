"""Topic tags for news articles: which of the shop's concerns a story touches.

A topic is a name and a set of keywords; an article gets every topic with at least one
keyword in its title or summary. Keywords, not a classifier, because a marketer can read
and extend the list (`load_topics` takes a JSON file) and see why a story was tagged.

Matching:
- Keywords in Latin script match whole words, case-insensitively, with an optional plural
  ("hoodie" matches "Hoodies", "cart" does not match "cartoon").
- Keywords with Hangul match anywhere in the text as written: Korean glues particles to
  words ("구글의", "장바구니에서"), so a substring is the word.

Topic names are stored comma-joined, so they are restricted to letters, digits, "_" and "-".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

Topics = Mapping[str, tuple[str, ...]]

DEFAULT_TOPICS: Topics = MappingProxyType(
    {
        "parent_company": (
            "Google", "구글", "Alphabet", "알파벳", "YouTube", "유튜브", "Android", "안드로이드",
            "Pixel", "픽셀", "Chrome", "크롬", "Gemini", "제미나이", "Google Merchandise Store",
            "Google Store", "구글 스토어", "구글 굿즈", "Sundar Pichai", "순다르 피차이",
        ),
        "ecommerce": (
            "e-commerce", "ecommerce", "online shopping", "online shoppers", "online store",
            "retail", "retailer", "checkout", "cart", "conversion", "Black Friday",
            "Cyber Monday", "holiday shopping", "shipping", "delivery", "returns", "payment",
            "marketplace", "이커머스", "전자상거래", "온라인 쇼핑", "온라인쇼핑", "쇼핑몰",
            "장바구니", "결제", "배송", "블랙프라이데이", "블랙 프라이데이", "사이버먼데이",
            "사이버 먼데이", "구매 전환", "전환율", "반품", "유통", "오픈마켓", "직구",
        ),
        "fashion": (
            "fashion", "apparel", "clothing", "hoodie", "sweatshirt", "t-shirt", "tee",
            "streetwear", "merch", "merchandise", "sneaker", "outerwear", "패션", "의류",
            "티셔츠", "후드", "맨투맨", "굿즈", "스트리트", "의상", "운동화", "아우터",
        ),
    }
)  # fmt: skip

_NAME = re.compile(r"^[\w-]+$")
_HANGUL = re.compile(r"[가-힣ㄱ-ㅎㅏ-ㅣ]")


def tag_topics(text: str, topics: Topics = DEFAULT_TOPICS) -> tuple[str, ...]:
    """The topics whose keywords occur in the text, in the order the topics are listed."""
    if not text:
        return ()
    folded = text.casefold()
    return tuple(
        name
        for name, latin, korean in _compiled(_key(topics))
        if (latin is not None and latin.search(text)) or any(k in folded for k in korean)
    )


def load_topics(path: str | Path) -> dict[str, tuple[str, ...]]:
    """Topics from a JSON file `{"topic": ["keyword", ...]}`. Raises ValueError (one line)."""
    where = f"topics file {path}"
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{where}: no such file") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{where}: not valid JSON (line {error.lineno}: {error.msg})") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{where}: cannot read ({error})") from None
    if not isinstance(raw, dict) or not raw:
        raise ValueError(f'{where}: expected an object like {{"topic": ["keyword", ...]}}')
    topics: dict[str, tuple[str, ...]] = {}
    for name, keywords in raw.items():
        if not _NAME.match(name):
            raise ValueError(f"{where}: topic name {name!r} may use only letters, digits, _ and -")
        if not isinstance(keywords, list) or not keywords:
            raise ValueError(f"{where}: topic {name!r} needs a non-empty list of keywords")
        if not all(isinstance(k, str) and k.strip() for k in keywords):
            raise ValueError(
                f"{where}: topic {name!r} has a keyword that is not a non-empty string"
            )
        topics[name] = tuple(k.strip() for k in keywords)
    return topics


def _key(topics: Topics) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((name, tuple(keywords)) for name, keywords in topics.items())


@lru_cache(maxsize=32)
def _compiled(
    key: tuple[tuple[str, tuple[str, ...]], ...],
) -> tuple[tuple[str, re.Pattern[str] | None, tuple[str, ...]], ...]:
    # Compiled once per topic set: an ingest tags thousands of articles with the same one.
    compiled = []
    for name, keywords in key:
        korean = tuple(k.casefold() for k in keywords if _HANGUL.search(k))
        latin = [k for k in keywords if not _HANGUL.search(k)]
        pattern = None
        if latin:
            # Boundaries are Latin letters and digits only, not \w: "YouTube에서" must match,
            # and \w counts Hangul as a word character.
            words = "|".join(r"\s+".join(map(re.escape, k.split())) for k in latin)
            pattern = re.compile(
                rf"(?<![A-Za-z0-9])(?:{words})(?:s|es|'s|’s)?(?![A-Za-z0-9])", re.IGNORECASE
            )
        compiled.append((name, pattern, korean))
    return tuple(compiled)
