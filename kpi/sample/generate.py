"""A sample year of the Google Merchandise Store, calibrated to ../shared/ga-facts.md.

The generator draws whole sessions the way the store's visitors behave (kpi/sample/store_model.py
holds the numbers): how many sessions a day (month, weekday, holidays), who comes (channel,
source, device, country, returning visitors), when (the visitor's local hour seen in the
reporting time zone), whether they bounce, and how far they get down the funnel
list -> product detail -> cart -> checkout -> purchase, with the order's products and
revenue. Everything is vectorised with numpy and bulk-loaded as Arrow tables, a few weeks
at a time, so a full year (~900k sessions, ~4M hits) takes seconds, not minutes.

Deterministic: the same seed, period and scale give the same rows.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kpi.sample import store_model as model
from kpi.storage.schema import device_geo, hits, hits_product, sessions, totals, traffic
from kpi.storage.warehouse import Warehouse

CHUNK_DAYS = 28
MICROS = 1_000_000

# Kinds of hit, in the order they are laid out within a session's phases.
BROWSE, CLICK, DETAIL, ADD, BASKET, CHECKOUT, PURCHASE, AFTER = range(8)
ACTION_TYPE = {BROWSE: "0", CLICK: "1", DETAIL: "2", ADD: "3", BASKET: "0", CHECKOUT: "5",
               PURCHASE: "6", AFTER: "0"}  # fmt: skip
IS_EVENT = {CLICK, ADD}


@dataclass(frozen=True)
class GenerateReport:
    start: dt.date
    end: dt.date
    sessions: int
    hits: int
    products: int
    revenue_usd: float
    seconds: float

    def summary(self) -> str:
        return (
            f"generated {self.sessions:,} sessions, {self.hits:,} hits, "
            f"{self.products:,} product rows, revenue ${self.revenue_usd:,.2f} "
            f"for {self.start} .. {self.end} in {self.seconds:.1f} s"
        )


def generate(
    warehouse: Warehouse,
    *,
    days: int,
    end: dt.date,
    zone: ZoneInfo,
    scale: float = 1.0,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> GenerateReport:
    """Fill `warehouse` with `days` days of sessions ending on `end` (inclusive).

    `scale` multiplies the store's traffic (1.0 = the real store). `progress`, when
    given, is called with the number of days just written.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    if scale <= 0:
        raise ValueError("scale must be positive")
    started = time.perf_counter()
    start = end - dt.timedelta(days=days - 1)
    dates = [start + dt.timedelta(days=i) for i in range(days)]
    counts = daily_session_counts(dates, scale, np.random.default_rng([seed, 0]))
    catalog = CatalogArrays.build()
    total = _Totals()
    for chunk_no, first in enumerate(range(0, days, CHUNK_DAYS), start=1):
        chunk_dates = dates[first : first + CHUNK_DAYS]
        rng = np.random.default_rng([seed, chunk_no])
        tables = draw_sessions(chunk_dates, counts[first : first + CHUNK_DAYS], rng, zone, catalog)
        for table, rows in tables.items():
            warehouse.append(table, rows)
        total.add(tables)
        if progress:
            progress(len(chunk_dates))
    return GenerateReport(
        start=start,
        end=end,
        sessions=total.sessions,
        hits=total.hits,
        products=total.products,
        revenue_usd=total.revenue_micros / MICROS,
        seconds=time.perf_counter() - started,
    )


# -- how many sessions a day ------------------------------------------------------------


def daily_session_counts(
    dates: list[dt.date], scale: float, rng: np.random.Generator
) -> np.ndarray:
    """Sessions for each date: the real store's month, weekday and holiday pattern."""
    expected = np.array([expected_sessions(day) for day in dates]) * scale
    day_noise = rng.lognormal(mean=-0.5 * 0.05**2, sigma=0.05, size=len(dates))
    return rng.poisson(expected * day_noise)


def expected_sessions(day: dt.date) -> float:
    """The store's expected sessions on `day` at scale 1.0.

    The month's total is the real one for that calendar month; within the month, days
    are weighted by weekday (weekend = 70 % of a weekday) and holidays, and the weights
    are normalised over the whole calendar month so the month keeps its total.
    """
    per_day = model.MONTHLY_SESSIONS[day.month] / model.REAL_YEAR_DAYS[day.month]
    month_days = _days_of_month(day)
    norm = sum(_day_weight(d) for d in month_days) / len(month_days)
    return per_day * _day_weight(day) / norm


def _days_of_month(day: dt.date) -> list[dt.date]:
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return [first + dt.timedelta(days=i) for i in range((following - first).days)]


def _day_weight(day: dt.date) -> float:
    weekday = 1.0 if day.weekday() < 5 else model.WEEKEND_TRAFFIC
    return weekday * _holiday_factor(day)


def _holiday_factor(day: dt.date) -> float:
    """Black Friday to Cyber Monday peak; the quiet week between Christmas and New Year."""
    if day.month == 11:
        thanksgiving = _fourth_thursday(day.year)
        offset = (day - thanksgiving).days
        if offset == 0:
            return 0.9
        if 1 <= offset <= 4:
            return 1.2
    if day.month == 12:
        dip = {19: 0.85, 20: 0.8, 21: 0.8, 22: 0.65, 23: 0.6, 24: 0.45, 25: 0.42, 26: 0.45,
               27: 0.5, 28: 0.52, 29: 0.52, 30: 0.5, 31: 0.42}  # fmt: skip
        return dip.get(day.day, 1.0)
    if day.month == 1 and day.day <= 2:
        return 0.45 if day.day == 1 else 0.7
    return 1.0


def _fourth_thursday(year: int) -> dt.date:
    first = dt.date(year, 11, 1)
    return first + dt.timedelta(days=(3 - first.weekday()) % 7 + 21)


# -- the catalog, as arrays ------------------------------------------------------------


@dataclass(frozen=True)
class CatalogArrays:
    """The store's products and pages as NumPy arrays, ready for vectorised draws (built
    once per run; the live replay builds its own)."""

    names: list[str]
    categories: list[str]
    skus: list[str]
    price_micros: np.ndarray  # sorted ascending
    popularity: np.ndarray
    cumulative_choice: np.ndarray  # popularity x price, cumulated in price order
    page_paths: list[str]
    page_titles: list[str]
    browse_weights: np.ndarray
    detail_page: np.ndarray  # product -> index into the page lists
    special_page: dict[str, int]

    @classmethod
    def build(cls) -> CatalogArrays:
        products = sorted(model.PRODUCTS, key=lambda p: p[2])
        price_micros = np.array([round(p[2] * MICROS) for p in products], dtype=np.int64)
        popularity = np.array([p[4] for p in products])
        paths = [p[0] for p in model.BROWSE_PAGES]
        titles = [p[1] for p in model.BROWSE_PAGES]
        browse_weights = np.array([p[2] for p in model.BROWSE_PAGES])
        detail_page = []
        for name, category, *_ in products:
            detail_page.append(len(paths))
            paths.append(_product_path(name, category))
            titles.append(name)
        special = {}
        pages = [("basket", model.BASKET_PAGE), ("completed", model.ORDER_COMPLETED_PAGE),
                 ("after", model.AFTER_PURCHASE_PAGE)]  # fmt: skip
        pages += [(f"checkout{i}", page) for i, page in enumerate(model.CHECKOUT_PAGES)]
        for key, (path, title) in pages:
            special[key] = len(paths)
            paths.append(path)
            titles.append(title)
        return cls(
            names=[p[0] for p in products],
            categories=[p[1] for p in products],
            skus=[p[3] for p in products],
            price_micros=price_micros,
            popularity=popularity,
            cumulative_choice=np.cumsum(popularity * price_micros / MICROS),
            page_paths=paths,
            page_titles=titles,
            browse_weights=browse_weights / browse_weights.sum(),
            detail_page=np.array(detail_page),
            special_page=special,
        )

    def popular(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Products as shoppers look at them: by popularity alone."""
        return rng.choice(len(self.names), size=n, p=self.popularity / self.popularity.sum())

    def for_line_value(self, rng: np.random.Generator, value_micros: np.ndarray) -> np.ndarray:
        """A product for each order line worth about `value_micros`.

        Only products the line can afford (price up to 1.2x the value) qualify, weighted
        by popularity x price: big orders buy Nest devices, small ones socks and pens.
        """
        affordable = np.searchsorted(self.price_micros, value_micros * 1.2, side="right")
        affordable = np.maximum(affordable, 1)
        ceiling = self.cumulative_choice[affordable - 1]
        picked = np.searchsorted(self.cumulative_choice, rng.random(len(value_micros)) * ceiling)
        return np.minimum(picked, affordable - 1)


def _product_path(name: str, category: str) -> str:
    section = category.removeprefix("Home/").strip("/").lower()
    slug = "".join(c if c.isalnum() else "+" for c in name.lower()).strip("+")
    return f"/google+redesign/{section.replace(' ', '+').replace('/', '/')}/{slug}.axd"


# -- one chunk of days -----------------------------------------------------------------


@dataclass
class _Totals:
    sessions: int = 0
    hits: int = 0
    products: int = 0
    revenue_micros: int = 0

    def add(self, tables: dict) -> None:
        self.sessions += tables[sessions].num_rows
        self.hits += tables[hits].num_rows
        self.products += tables[hits_product].num_rows
        revenue = pc.sum(tables[totals]["totalTransactionRevenue"]).as_py()
        self.revenue_micros += revenue or 0


def _categorical(rng: np.random.Generator, n: int, weights: list[float] | np.ndarray) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def _dictionary(indices: np.ndarray, values: list[str], mask: np.ndarray | None = None) -> pa.Array:
    """A string column as indices into `values` (cheap to build, DuckDB reads it as VARCHAR)."""
    idx = pa.array(indices.astype(np.int32), mask=mask)
    return pa.DictionaryArray.from_arrays(idx, pa.array(values, pa.string()))


def _within(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows repeated `counts` times per session: (session of each row, index within)."""
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return owner, np.arange(len(owner)) - starts[owner]


def _country_weights() -> np.ndarray:
    """Each country's share: its own where given, else a Zipf share of its continent's rest."""
    weights = np.zeros(len(model.COUNTRIES))
    for continent, share in model.CONTINENT_SHARE.items():
        members = [i for i, c in enumerate(model.COUNTRIES) if c[1] == continent]
        fixed = [i for i in members if model.COUNTRIES[i][4] is not None]
        tail = [i for i in members if model.COUNTRIES[i][4] is None]
        for i in fixed:
            weights[i] = model.COUNTRIES[i][4]
        rest = share - weights[fixed].sum()
        if tail:
            zipf = 1.0 / np.arange(1, len(tail) + 1) ** 0.9
            weights[tail] = rest * zipf / zipf.sum()
    return weights / weights.sum()


COUNTRY_WEIGHTS = _country_weights()


def draw_sessions(
    dates: list[dt.date],
    counts: np.ndarray,
    rng: np.random.Generator,
    zone: ZoneInfo,
    catalog: CatalogArrays,
) -> dict:
    """`counts[i]` whole sessions on `dates[i]` as Arrow tables keyed by their `ga_data`
    table (the generator writes them; the live replay pools them for its minutes)."""
    n = int(counts.sum())
    day = np.repeat(np.arange(len(dates)), counts)

    # Who: country (and with it continent and local time), device, OS, browser.
    country = _categorical(rng, n, COUNTRY_WEIGHTS)
    device_names = list(model.DEVICE_SHARE)
    device = _categorical(rng, n, list(model.DEVICE_SHARE.values()))

    # When: the visitor's local hour, seen in the reporting time zone on the chosen date.
    midnight = np.array(
        [dt.datetime.combine(d, dt.time(), tzinfo=zone).timestamp() for d in dates], dtype=np.int64
    )
    zone_offset = np.array(
        [
            dt.datetime.combine(d, dt.time(12), tzinfo=zone).utcoffset().total_seconds()
            for d in dates
        ]
    )
    country_offset = np.array([c[3] for c in model.COUNTRIES]) * 3600
    local_second = _categorical(rng, n, model.LOCAL_HOUR_PROFILE) * 3600 + rng.integers(0, 3600, n)
    second_of_day = (local_second + zone_offset[day] - country_offset[country]) % 86400
    start_time = midnight[day] + second_of_day.astype(np.int64)

    # Returning visitors: chains of sessions within the same country and device.
    order = np.lexsort((start_time, device, country))
    day, country, device, start_time = day[order], country[order], device[order], start_time[order]
    visitor, visit_number = _visitors(rng, country, device)
    os_idx, browser_idx, os_names, browser_names = _os_and_browser(rng, device, device_names)
    os_idx, browser_idx = os_idx[visitor], browser_idx[visitor]
    by_time = np.argsort(start_time, kind="stable")
    day, country, device, start_time = (
        day[by_time],
        country[by_time],
        device[by_time],
        start_time[by_time],
    )
    visit_number, os_idx, browser_idx = visit_number[by_time], os_idx[by_time], browser_idx[by_time]
    visitor = visitor[by_time]
    start_time = _distinct_per_visitor(start_time, visitor)
    visitor_ids = rng.integers(10**18, 9 * 10**18, size=n, dtype=np.int64)[visitor]

    # How they came: channel, source, medium.
    channels = list(model.CHANNEL_SHARE)
    channel = _categorical(rng, n, list(model.CHANNEL_SHARE.values()))
    sources: list[tuple[str, str, float, float]] = []
    source = np.zeros(n, dtype=np.int64)
    for c, name in enumerate(channels):
        options = model.CHANNEL_SOURCES[name]
        members = np.flatnonzero(channel == c)
        source[members] = len(sources) + _categorical(rng, len(members), [o[2] for o in options])
        sources.extend(options)
    bounce_p = np.array([s[3] for s in sources])[source]

    # What they did: bounce, or a way down the funnel.
    weekend = np.array([d.weekday() >= 5 for d in dates])[day]
    continent = np.array([c[1] for c in model.COUNTRIES])[country]
    conversion = (
        np.array([model.CHANNEL_CONVERSION[c] for c in channels])[channel]
        * np.array([model.DEVICE_CONVERSION_FACTOR[d] for d in device_names])[device]
        * np.where(continent == "Americas", model.AMERICAS_CONVERSION_FACTOR,
                   model.ELSEWHERE_CONVERSION_FACTOR)
        * np.where(weekend, model.WEEKEND_CONVERSION_FACTOR, model.WEEKDAY_CONVERSION_FACTOR)
    )  # fmt: skip
    bounced = rng.random(n) < bounce_p
    buy_p = np.clip(conversion / (1 - bounce_p), 0, 0.45)
    u = rng.random(n)
    stage = np.zeros(n, dtype=np.int8)  # 0 browse, 1 product, 2 cart, 3 checkout, 4 purchase
    stage[u < 2 * buy_p] = 3
    stage[u < buy_p] = 4
    rest = (u - 2 * buy_p) / (1 - 2 * buy_p)  # uniform again among the remaining sessions
    stage[(stage == 0) & (rest < 0.059)] = 2
    stage[(stage == 0) & (rest >= 0.059) & (rest < 0.059 + 0.123 * (1 - 0.059))] = 1
    stage[bounced] = 0
    bounce_on_product = bounced & (rng.random(n) < 0.08)

    # The order: how much, which products, how many of each.
    buyer = stage == 4
    n_items = np.where(buyer, 1 + rng.poisson(1.8, n), 0)
    n_items = np.where((stage == 2) | (stage == 3), 1 + rng.poisson(1.0, n), n_items)
    basket_session, _ = _within(n_items)
    channel_aov = _channel_order_value_factor(channels)
    mu = np.log(model.ORDER_VALUE_MEAN_USD * MICROS) - model.ORDER_VALUE_SIGMA**2 / 2
    order_value = rng.lognormal(mu, model.ORDER_VALUE_SIGMA, n) * channel_aov[channel]
    share = rng.gamma(1.0, size=len(basket_session))
    share /= np.bincount(basket_session, weights=share, minlength=n)[basket_session]
    line_value = order_value[basket_session] * share
    bought = buyer[basket_session]
    basket_product = np.where(
        bought,
        catalog.for_line_value(rng, line_value),
        catalog.popular(rng, len(basket_session)),
    )
    price = catalog.price_micros[basket_product]
    quantity = np.where(bought, np.maximum(1, np.rint(line_value / price)), 1).astype(np.int64)
    line_revenue = np.where(bought, quantity * price, 0)
    revenue = np.bincount(basket_session, weights=line_revenue, minlength=n).astype(np.int64)
    basket_start = np.cumsum(n_items) - n_items

    # How many hits of each kind.
    extra_adds = np.where(buyer, rng.poisson(0.3, n), 0)
    adds = n_items + extra_adds
    details = np.where(stage >= 2, adds + rng.poisson(1.5, n), 0)
    details = np.where(stage == 1, 1 + rng.poisson(1.0, n), details)
    details = np.where(bounce_on_product, 1, details)
    clicks = np.where(bounced, 0, rng.binomial(details, 0.3))
    baskets = np.where(stage >= 2, 1 + rng.poisson(0.5, n), 0)
    checkouts = np.where(stage == 4, 3, np.where(stage == 3, 1 + rng.binomial(2, 0.6, n), 0))
    purchases = buyer.astype(np.int64)
    afters = (buyer & (rng.random(n) < 0.4)).astype(np.int64)
    browse = np.where(bounced, 1 - bounce_on_product, 1 + rng.negative_binomial(1.5, 1.5 / 6.1, n))
    browse = np.where(~bounced & (browse + details + baskets + checkouts == 1), 2, browse)

    counts_by_kind = {BROWSE: browse, CLICK: clicks, DETAIL: details, ADD: adds, BASKET: baskets,
                      CHECKOUT: checkouts, PURCHASE: purchases, AFTER: afters}  # fmt: skip
    hit = _lay_out_hits(rng, counts_by_kind, catalog, basket_product, basket_start, n_items, n)

    # Time: a dwell before every hit but the first; checkout pages take longer.
    dwell = rng.lognormal(np.log(26_000), 1.0, len(hit.session))
    dwell = np.where(np.isin(hit.kind, list(IS_EVENT)), dwell * 0.3, dwell)
    dwell = np.where(hit.kind == CHECKOUT, dwell * 2.0, dwell)
    dwell[hit.number == 1] = 0
    elapsed = np.cumsum(dwell)
    first_of_session = np.flatnonzero(hit.number == 1)
    hit_time = (elapsed - elapsed[first_of_session][hit.session]).astype(np.int64)
    last_hit = np.append(first_of_session[1:], len(hit.session)) - 1
    time_on_site = np.where(bounced, -1, hit_time[last_hit] // 1000)

    return _tables(
        rng=rng,
        dates=dates,
        zone_offset=zone_offset,
        day=day,
        start_time=start_time,
        visitor_ids=visitor_ids,
        visit_number=visit_number,
        channel=channel,
        channels=channels,
        source=source,
        sources=sources,
        device=device,
        device_names=device_names,
        os_idx=os_idx,
        os_names=os_names,
        browser_idx=browser_idx,
        browser_names=browser_names,
        country=country,
        bounced=bounced,
        buyer=buyer,
        revenue=revenue,
        time_on_site=time_on_site,
        hit=hit,
        hit_time=hit_time,
        catalog=catalog,
        basket=(basket_session, basket_product, quantity, line_revenue, basket_start, n_items),
    )


def _channel_order_value_factor(channels: list[str]) -> np.ndarray:
    """Each channel's order value relative to the store's, from its shares of revenue and
    of transactions (sessions x conversion rate), normalised to keep the store's mean."""
    transactions = np.array(
        [model.CHANNEL_SHARE[c] * model.CHANNEL_CONVERSION[c] for c in channels]
    )
    transactions /= transactions.sum()
    revenue = np.array([model.CHANNEL_REVENUE_SHARE[c] for c in channels])
    factor = np.divide(revenue, transactions, out=np.ones_like(revenue), where=transactions > 0)
    return factor / (factor * transactions).sum()


def _visitors(
    rng: np.random.Generator, country: np.ndarray, device: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Group sessions (sorted by country, device, time) into visitors.

    A session is a return visit with probability 1 - 1/1.27 and then belongs to the
    visitor of a recent earlier session of the same country and device; chains are
    resolved by pointer jumping. A few first-seen visitors have been before the sample
    starts, which brings new visits to the store's 77.8 %.
    """
    n = len(country)
    group_start = np.flatnonzero(
        np.r_[True, (country[1:] != country[:-1]) | (device[1:] != device[:-1])]
    )
    first_in_group = np.repeat(group_start, np.diff(np.r_[group_start, n]))
    position = np.arange(n)
    returning = rng.random(n) < 1 - 1 / model.SESSIONS_PER_VISITOR
    back = 1 + rng.geometric(1 / 40, n)
    parent = np.maximum(position - back, first_in_group)
    root = np.where(returning & (position > first_in_group), parent, position)
    while True:
        jumped = root[root]
        if np.array_equal(jumped, root):
            break
        root = jumped
    order = np.lexsort((position, root))
    rank = np.empty(n, dtype=np.int64)
    sorted_root = root[order]
    starts = np.flatnonzero(np.r_[True, sorted_root[1:] != sorted_root[:-1]])
    rank[order] = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    roots = root == position
    new_share_needed = model.NEW_VISIT_SHARE * model.SESSIONS_PER_VISITOR
    seen_before = roots & (rng.random(n) > new_share_needed)
    earlier_visits = np.where(seen_before, 1 + rng.geometric(0.4, n), 0)
    visit_number = 1 + rank + earlier_visits[root]
    return root, visit_number


def _distinct_per_visitor(start_time: np.ndarray, visitor: np.ndarray) -> np.ndarray:
    """Nudge a visitor's sessions that start in the same second one second apart, since
    `fullVisitorId-visitId` (visitId = start second) must be unique."""
    order = np.lexsort((start_time, visitor))
    t = start_time[order]
    group = np.cumsum(np.r_[True, visitor[order][1:] != visitor[order][:-1]])
    index = np.arange(len(t))
    # t'[k] = max(t[k], t'[k-1] + 1) within a visitor, as a running max of t - k.
    shifted = np.maximum.accumulate((t - index) + group * (1 << 40)) - group * (1 << 40) + index
    result = np.empty_like(start_time)
    result[order] = shifted
    return result


def _os_and_browser(
    rng: np.random.Generator, device: np.ndarray, device_names: list[str]
) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    os_names = sorted({name for options in model.DEVICE_OS.values() for name, _ in options})
    browser_names = sorted({b for options in model.OS_BROWSER.values() for b, _ in options})
    n = len(device)
    os_idx = np.zeros(n, dtype=np.int64)
    for d, name in enumerate(device_names):
        members = np.flatnonzero(device == d)
        options = model.DEVICE_OS[name]
        picked = _categorical(rng, len(members), [w for _, w in options])
        os_idx[members] = np.array([os_names.index(o) for o, _ in options])[picked]
    browser_idx = np.zeros(n, dtype=np.int64)
    for o, name in enumerate(os_names):
        members = np.flatnonzero(os_idx == o)
        options = model.OS_BROWSER[name]
        picked = _categorical(rng, len(members), [w for _, w in options])
        browser_idx[members] = np.array([browser_names.index(b) for b, _ in options])[picked]
    return os_idx, browser_idx, os_names, browser_names


@dataclass
class _Hits:
    session: np.ndarray
    kind: np.ndarray
    number: np.ndarray  # hitNumber, from 1
    product: np.ndarray  # -1 where the hit is not about one product
    page: np.ndarray
    slot: np.ndarray  # index of this hit among its session's hits of its kind


def _lay_out_hits(
    rng: np.random.Generator,
    counts_by_kind: dict[int, np.ndarray],
    catalog: CatalogArrays,
    basket_product: np.ndarray,
    basket_start: np.ndarray,
    n_items: np.ndarray,
    n: int,
) -> _Hits:
    """Every hit of every session, in the order a visitor makes them.

    Phases: the landing page; browsing mixed with product clicks and detail views; adds
    to cart then the basket; checkout steps; the confirmation; a last look at the account.
    """
    parts = []
    for kind, count in counts_by_kind.items():
        session, slot = _within(count)
        phase = {BROWSE: 1, CLICK: 1, DETAIL: 1, ADD: 2, BASKET: 2, CHECKOUT: 3,
                 PURCHASE: 4, AFTER: 5}[kind]  # fmt: skip
        key = rng.random(len(session))
        if kind == BROWSE:
            phase = np.where(slot == 0, 0, 1)
        elif kind == DETAIL:
            # A bounce on a product page lands there.
            phase = np.where(counts_by_kind[BROWSE][session] == 0, 0, 1)
        elif kind == BASKET:
            key = key + 1  # the basket page comes after the adds
        elif kind == CHECKOUT:
            key = slot.astype(float)
        parts.append(
            (session, np.full(len(session), kind), slot, np.broadcast_to(phase, len(session)), key)
        )
    session = np.concatenate([p[0] for p in parts])
    kind = np.concatenate([p[1] for p in parts]).astype(np.int8)
    slot = np.concatenate([p[2] for p in parts])
    phase = np.concatenate([p[3] for p in parts])
    key = np.concatenate([p[4] for p in parts])
    order = np.lexsort((key, phase, session))
    session, kind, slot = session[order], kind[order], slot[order]
    first = np.cumsum(np.bincount(session, minlength=n)) - np.bincount(session, minlength=n)
    number = np.arange(len(session)) - first[session] + 1

    # Products: the basket's items are the first details and adds; the rest are browsed.
    product = np.full(len(session), -1, dtype=np.int64)
    from_basket = np.isin(kind, [DETAIL, ADD]) & (slot < n_items[session])
    product[from_basket] = basket_product[(basket_start[session] + slot)[from_basket]]
    browsed = np.isin(kind, [CLICK, DETAIL, ADD]) & ~from_basket
    product[browsed] = catalog.popular(rng, int(browsed.sum()))

    page = np.zeros(len(session), dtype=np.int64)
    listing = np.isin(kind, [BROWSE, CLICK])
    page[listing] = _categorical(rng, int(listing.sum()), catalog.browse_weights)
    on_product = np.isin(kind, [DETAIL, ADD])
    page[on_product] = catalog.detail_page[product[on_product]]
    page[kind == BASKET] = catalog.special_page["basket"]
    checkout = kind == CHECKOUT
    page[checkout] = catalog.special_page["checkout0"] + slot[checkout]
    page[kind == PURCHASE] = catalog.special_page["completed"]
    page[kind == AFTER] = catalog.special_page["after"]
    return _Hits(session, kind, number, product, page, slot)


# -- rows ------------------------------------------------------------------------------


def _strings(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def _join(*parts: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "-")


def _nullable(values: np.ndarray, present: np.ndarray, arrow_type: pa.DataType) -> pa.Array:
    return pa.array(values, type=arrow_type, mask=~present)


def _tables(*, rng: np.random.Generator, dates, zone_offset, day, start_time, visitor_ids,
            visit_number, channel, channels, source, sources, device, device_names, os_idx,
            os_names, browser_idx, browser_names, country, bounced, buyer, revenue,
            time_on_site, hit: _Hits, hit_time, catalog: CatalogArrays,
            basket) -> dict:  # fmt: skip
    n = len(start_time)
    _, basket_product, quantity, line_revenue, basket_start, n_items = basket
    full_visitor_id = _strings(visitor_ids)
    session_key = _join(full_visitor_id, _strings(start_time))
    epoch_day = np.array([(d - dt.date(1970, 1, 1)).days for d in dates], dtype=np.int32)

    session_rows = pa.table({
        "session_key": session_key,
        "visitNumber": pa.array(visit_number, pa.int32()),
        "visitId": pa.array(start_time, pa.int64()),
        "visitStartTime": pa.array(start_time, pa.int64()),
        "date": pa.array(epoch_day[day], pa.int32()).cast(pa.date32()),
        "fullVisitorId": full_visitor_id,
        "channelGrouping": _dictionary(channel, channels),
        "socialEngagementType": _dictionary(np.zeros(n), ["Not Socially Engaged"]),
    })  # fmt: skip

    is_page = ~np.isin(hit.kind, list(IS_EVENT))
    hits_per_session = np.bincount(hit.session, minlength=n)
    pageviews = np.bincount(hit.session[is_page], minlength=n)
    visits_pages = np.maximum(pageviews, 1)
    quality = np.where(bounced, 1, np.minimum(100, 2 + visits_pages * 3 + buyer * 40))
    tax = np.rint(revenue * 0.08).astype(np.int64)
    shipping = np.where(buyer, 8 * MICROS, 0)
    totals_rows = pa.table({
        "session_key": session_key,
        "visits": pa.array(np.ones(n), pa.int32()),
        "hits": pa.array(hits_per_session, pa.int32()),
        "pageviews": pa.array(pageviews, pa.int32()),
        "timeOnSite": _nullable(time_on_site, ~bounced, pa.int32()),
        "bounces": _nullable(np.ones(n), bounced, pa.int32()),
        "transactions": _nullable(np.ones(n), buyer, pa.int32()),
        "newVisits": _nullable(np.ones(n), visit_number == 1, pa.int32()),
        "totalTransactionRevenue": _nullable(revenue, buyer, pa.int64()),
        "sessionQualityDim": pa.array(quality, pa.int32()),
        "grossTransactionRevenue": _nullable(revenue + tax + shipping, buyer, pa.int64()),
        "sessionStartTime": pa.array(start_time, pa.int64()),
    })  # fmt: skip

    traffic_rows = _traffic_rows(rng, session_key, channel, channels, source, sources)
    geo_rows = _device_geo_rows(rng, session_key, device, device_names, os_idx, os_names,
                                browser_idx, browser_names, country)  # fmt: skip

    # Hits.
    hit_key = _join(pc.take(session_key, pa.array(hit.session)), _strings(hit.number))
    clock = (
        start_time[hit.session] + hit_time // 1000 + zone_offset[day[hit.session]].astype(np.int64)
    )
    page_positions = np.flatnonzero(is_page)
    page_sessions = hit.session[page_positions]
    last_page = page_positions[np.r_[page_sessions[1:] != page_sessions[:-1], True]]
    is_exit = np.zeros(len(hit.session), dtype=bool)
    is_exit[last_page] = True
    purchase_hit = hit.kind == PURCHASE
    sequence = np.cumsum(buyer) - 1
    transaction_ids = [
        f"ORD{dates[day[s]]:%Y%m%d}{(visitor_ids[s] + sequence[s]) % 10_000:04d}"
        for s in hit.session[purchase_hit]
    ]
    transaction_id = np.full(len(hit.session), None, dtype=object)
    transaction_id[purchase_hit] = transaction_ids
    product_rows, product_hit, product_units = _product_rows(
        rng, hit, hit_key, catalog, basket_product, quantity, line_revenue, basket_start, n_items
    )
    # Units on a hit: the sum of its products' quantities, where any product has one.
    units = np.bincount(
        product_hit, weights=np.nan_to_num(product_units), minlength=len(hit.session)
    )
    has_units = (
        np.bincount(product_hit, weights=~np.isnan(product_units), minlength=len(hit.session)) > 0
    )
    event_action = {CLICK: "Product Click", ADD: "Add to Cart"}
    is_event = ~is_page
    action_index = np.where(hit.kind == ADD, 1, 0)
    event_label = np.where(is_event, hit.product, 0)
    hit_rows = pa.table({
        "hit_key": hit_key,
        "session_key": pc.take(session_key, pa.array(hit.session)),
        "hitNumber": pa.array(hit.number, pa.int32()),
        "time": pa.array(hit_time, pa.int32()),
        "hour": pa.array((clock // 3600) % 24, pa.int16()),
        "minute": pa.array((clock // 60) % 60, pa.int16()),
        "isInteraction": pa.array(np.ones(len(hit.session), dtype=bool)),
        "isEntrance": _nullable(np.ones(len(hit.session), dtype=bool), hit.number == 1, pa.bool_()),
        "isExit": _nullable(is_exit, is_exit, pa.bool_()),
        "pagePath": _dictionary(hit.page, catalog.page_paths),
        "hostname": _dictionary(np.zeros(len(hit.session)), [model.HOSTNAME]),
        "pageTitle": _dictionary(hit.page, catalog.page_titles),
        "transactionId": pa.array(transaction_id, pa.string()),
        "eventCategory": _dictionary(np.zeros(len(hit.session)), ["Enhanced Ecommerce"], ~is_event),
        "eventAction": _dictionary(action_index, list(event_action.values()), ~is_event),
        "eventLabel": _dictionary(event_label, catalog.names, ~is_event),
        "actionType": _dictionary(hit.kind, [ACTION_TYPE[k] for k in range(8)]),
        "hitType": _dictionary(is_event.astype(np.int8), ["PAGE", "EVENT"]),
        "product_productQuantity": _nullable(units, has_units, pa.int32()),
        "transactionRevenue": _nullable(revenue[hit.session], purchase_hit, pa.int64()),
        "sessionStartTime": pa.array(start_time[hit.session], pa.int64()),
    })  # fmt: skip

    return {
        sessions: session_rows,
        totals: totals_rows,
        traffic: traffic_rows,
        device_geo: geo_rows,
        hits: hit_rows,
        hits_product: product_rows,
    }


def _pick_strings(rng: np.random.Generator, n: int, options: list[tuple[str, float]]) -> np.ndarray:
    return np.array([o for o, _ in options], dtype=object)[
        _categorical(rng, n, [w for _, w in options])
    ]


def _traffic_rows(rng, session_key, channel, channels, source, sources) -> pa.Table:  # fmt: skip
    n = len(channel)
    name = np.array(channels, dtype=object)[channel]
    paid, organic = name == "Paid Search", name == "Organic Search"
    social, referral = name == "Social", name == "Referral"
    campaign = np.full(n, "(not set)", dtype=object)
    campaign[paid] = _pick_strings(rng, int(paid.sum()), model.PAID_CAMPAIGNS)
    campaign[name == "Affiliates"] = "Data Share Promo"
    keyword = np.full(n, None, dtype=object)
    keyword[organic] = _pick_strings(rng, int(organic.sum()), model.ORGANIC_KEYWORDS)
    keyword[paid] = _pick_strings(rng, int(paid.sum()), model.PAID_KEYWORDS)
    referral_path = np.full(n, None, dtype=object)
    referral_path[social] = rng.choice(model.SOCIAL_REFERRAL_PATHS, int(social.sum()))
    referral_path[referral] = rng.choice(model.REFERRAL_PATHS, int(referral.sum()))
    gcl_id = np.full(n, None, dtype=object)
    gcl_id[paid] = [f"Cj0KEQjw{token:016x}" for token in rng.integers(0, 2**62, int(paid.sum()))]
    network = np.full(n, None, dtype=object)
    network[paid] = "Google Search"
    network[name == "Display"] = "Content"
    slot = np.full(n, None, dtype=object)
    slot[paid] = rng.choice(["Top", "RHS"], int(paid.sum()), p=[0.9, 0.1])
    direct = name == "Direct"
    return pa.table({
        "session_key": session_key,
        "referralPath": pa.array(referral_path, pa.string()),
        "campaign": pa.array(campaign, pa.string()),
        "source": _dictionary(source, [s[0] for s in sources]),
        "medium": _dictionary(source, [s[1] for s in sources]),
        "keyword": pa.array(keyword, pa.string()),
        "adContent": pa.nulls(n, pa.string()),
        "adwordsPage": _nullable(np.ones(n), paid, pa.int32()),
        "adwordsSlot": pa.array(slot, pa.string()),
        "gclId": pa.array(gcl_id, pa.string()),
        "adNetworkType": pa.array(network, pa.string()),
        "isTrueDirect": _nullable(np.ones(n, dtype=bool), direct, pa.bool_()),
    })  # fmt: skip


def _device_geo_rows(rng, session_key, device, device_names, os_idx, os_names, browser_idx,
                     browser_names, country) -> pa.Table:  # fmt: skip
    n = len(device)
    city_idx = np.full(n, -1, dtype=np.int64)
    for name in {c[0] for c in model.CITIES}:
        options = [i for i, c in enumerate(model.CITIES) if c[0] == name]
        members = np.flatnonzero(country == [c[0] for c in model.COUNTRIES].index(name))
        shares = [model.CITIES[i][4] for i in options]
        picked = _categorical(rng, len(members), [*shares, 1 - sum(shares)])
        city_idx[members] = np.array([*options, -1])[picked]
    has_city = city_idx >= 0
    city_idx = np.maximum(city_idx, 0)
    return pa.table({
        "session_key": session_key,
        "browser": _dictionary(browser_idx, browser_names),
        "operatingSystem": _dictionary(os_idx, os_names),
        "deviceCategory": _dictionary(device, device_names),
        "continent": _dictionary(country, [c[1] for c in model.COUNTRIES]),
        "subContinent": _dictionary(country, [c[2] for c in model.COUNTRIES]),
        "country": _dictionary(country, [c[0] for c in model.COUNTRIES]),
        "region": _dictionary(city_idx, [c[1] for c in model.CITIES], ~has_city),
        "metro": _dictionary(city_idx, [c[2] for c in model.CITIES], ~has_city),
        "city": _dictionary(city_idx, [c[3] for c in model.CITIES], ~has_city),
    })  # fmt: skip


def _product_rows(rng, hit: _Hits, hit_key: pa.Array, catalog: CatalogArrays, basket_product,
                  quantity, line_revenue, basket_start, n_items) -> tuple:  # fmt: skip
    """One row per product on a hit: one for clicks, details and adds; the whole basket
    on every checkout step and on the purchase. Returns the rows, each row's hit and its
    units (NaN where a row has none)."""
    single = np.flatnonzero(hit.product >= 0)
    multi = np.flatnonzero(np.isin(hit.kind, [CHECKOUT, PURCHASE]))
    multi_hit, line = _within(n_items[hit.session[multi]])
    multi_hit = multi[multi_hit]
    basket_line = basket_start[hit.session[multi_hit]] + line

    row_hit = np.concatenate([single, multi_hit])
    position = np.concatenate([np.ones(len(single), dtype=np.int64), line + 1])
    product = np.concatenate([hit.product[single], basket_product[basket_line]])
    kind = hit.kind[row_hit]
    from_basket_add = (hit.kind[single] == ADD) & (hit.slot[single] < n_items[hit.session[single]])
    add_line = basket_start[hit.session[single]] + hit.slot[single]
    # A chunk can hold no basket at all (a minute of the live replay): then no add is one.
    basket_quantity = (
        quantity[np.minimum(add_line, len(quantity) - 1)]
        if len(quantity)
        else np.ones_like(add_line)
    )
    single_quantity = np.where(from_basket_add, basket_quantity, 1)
    units = np.concatenate([single_quantity, quantity[basket_line]])
    has_units = np.isin(kind, [ADD, CHECKOUT, PURCHASE])
    revenue = np.concatenate([np.zeros(len(single), dtype=np.int64), line_revenue[basket_line]])
    is_purchase = kind == PURCHASE
    is_click = kind == CLICK
    list_position = np.where(is_click, rng.integers(1, 13, len(row_hit)), 0)
    order = np.lexsort((position, row_hit))
    row_hit, position, product = row_hit[order], position[order], product[order]
    units, has_units, revenue = units[order], has_units[order], revenue[order]
    is_purchase, is_click, list_position = is_purchase[order], is_click[order], list_position[order]
    keys = pc.take(hit_key, pa.array(row_hit))
    count = len(row_hit)
    table = pa.table({
        "product_hit_key": _join(keys, _strings(position)),
        "hit_key": keys,
        "v2ProductName": _dictionary(product, catalog.names),
        "v2ProductCategory": _dictionary(product, catalog.categories),
        "productBrand": _dictionary(np.zeros(count), ["(not set)"]),
        "productPrice": pa.array(catalog.price_micros[product], pa.int64()),
        "productRevenue": _nullable(revenue, is_purchase, pa.int64()),
        "isImpression": pa.nulls(count, pa.bool_()),
        "isClick": _nullable(is_click, is_click, pa.bool_()),
        "productListName": _dictionary(is_click.astype(np.int8), ["(not set)", "Category"]),
        "productListPosition": pa.array(list_position, pa.int32()),
        "productSKU": _dictionary(product, catalog.skus),
        "productQuantity": _nullable(units, has_units, pa.int32()),
        "productVariant": _dictionary(np.zeros(count), ["(not set)"]),
    })  # fmt: skip
    return table, row_hit, np.where(has_units, units, np.nan)
