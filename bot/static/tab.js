// The Commercy dashboard tab: reads its view from the URL, asks /api/tab/{tab}, draws.
// No framework and no build step: the page is one request for the numbers and a few
// small SVGs. Inside Teams it initialises the Teams JavaScript SDK and follows the
// theme (default, dark, contrast); in a plain browser it works on its own.
"use strict";

const TABS = ["summary", "sales", "traffic", "news"];
// The page's own words; metric names are the catalog's (LABELS below).
const TEXT = {
  ko: {
    summary: "요약", sales: "매출", traffic: "유입·이탈", news: "뉴스",
    period: "기간", country: "국가", visitor_type: "방문자", device: "기기", channel: "채널",
    all: "전체", new: "신규", returning: "재방문", topic: "주제",
    vsPrevious: "직전 기간 대비", daily: "일별", categories: "카테고리별 전환",
    products: "상품별 전환", viewed: "조회 세션", bought: "구매 세션", funnel: "구매 퍼널",
    drop_off: "이탈", landing: "방문 시작 페이지", exits: "종료 페이지", entrances: "진입",
    exit_rate: "종료율", page: "페이지", channels: "채널별", step: "단계",
    product_view: "상품 조회", add_to_cart: "장바구니", checkout: "결제 시작", purchase: "구매",
    exitsCount: "종료", desktop: "데스크톱", mobile: "모바일", tablet: "태블릿",
    loading: "불러오는 중…", failed: "숫자를 불러오지 못했어요", noData: "이 기간에는 데이터가 없어요.",
    category: "카테고리", product: "상품", sentiment: "분위기", articles: "기사",
    parent_company: "모회사(구글)", ecommerce: "이커머스", fashion: "패션", mean: "평균 감성",
    positive: "긍정", neutral: "중립", negative: "부정", topics: "주제", date: "날짜", title: "제목",
    noNews: "이 기간에 수집된 기사가 없어요.",
  },
  en: {
    summary: "Summary", sales: "Sales", traffic: "Traffic & drop-off", news: "News",
    period: "Period", country: "Country", visitor_type: "Visitors", device: "Device",
    channel: "Channel", all: "All", new: "New", returning: "Returning", topic: "Topic",
    vsPrevious: "vs previous period", daily: "Daily", categories: "Conversion by category",
    products: "Conversion by product", viewed: "Viewed", bought: "Bought",
    funnel: "Purchase funnel",
    drop_off: "Drop-off", landing: "Landing pages", exits: "Exit pages", entrances: "Entrances",
    exit_rate: "Exit rate", page: "Page", channels: "By channel", step: "Step",
    product_view: "Product view", add_to_cart: "Add to cart", checkout: "Checkout",
    purchase: "Purchase", exitsCount: "Exits", desktop: "Desktop", mobile: "Mobile",
    tablet: "Tablet", loading: "Loading…", failed: "The numbers could not be loaded",
    noData: "No data for this period.", category: "Category", product: "Product",
    sentiment: "Sentiment", articles: "Articles",
    parent_company: "Parent company (Google)", ecommerce: "E-commerce", fashion: "Fashion",
    mean: "Mean sentiment", positive: "Positive", neutral: "Neutral", negative: "Negative",
    topics: "Topics", date: "Date", title: "Title", noNews: "No articles for this period.",
  },
};
// Until /api/tab/choices answers (after the first draw) the lists the sample store has.
const FILTER_CHOICES = {
  period: ["7d", "14d", "28d", "30d", "90d"],
  visitor_type: ["", "new", "returning"],
  device: ["", "desktop", "mobile", "tablet"],
  channel: ["", "Organic Search", "Direct", "Referral", "Paid Search", "Display", "Affiliates", "Social"],
  topic: ["", "parent_company", "ecommerce", "fashion"],
  country: [],
};

const params = new URLSearchParams(location.search);
// Korean first: English when the URL or the Teams client asks for it (joinTeams).
let lang = (params.get("lang") || "ko").startsWith("en") ? "en" : "ko";
// Metric names come with the numbers, from the catalog (kpi/catalog.py), as in chat.
const LABELS = {};
const t = (key) => LABELS[key]?.[lang] || TEXT[lang][key] || key;

// The same formats as kpi/units.py, so the tab reads like the chat: $1,234.56, 1.27%.
function format(value, unit) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  const grouped = (v, digits) => v.toLocaleString("en-US",
    { minimumFractionDigits: digits, maximumFractionDigits: digits });
  if (unit === "usd") return (value < 0 ? "-$" : "$") + grouped(Math.abs(value), 2);
  if (unit === "ratio") return (value * 100).toFixed(2) + "%";
  if (unit === "decimal") return grouped(value, 2);
  if (unit === "seconds") {
    const total = Math.round(value), m = Math.floor(total / 60), s = total % 60;
    if (lang === "ko") return m ? `${m}분 ${s}초` : `${s}초`;
    return m ? `${m}m ${s}s` : `${s}s`;
  }
  return grouped(value, 0);
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// `range` fixes the scale (sentiment: [-1, 1], with its zero line); otherwise the
// values' own min and max. The height is in pixels whatever the width.
function svgLine(values, { width = 320, height = 60, axis = false, range = null } = {}) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("height", height);
  const numbers = values.filter((v) => v !== null && v !== undefined);
  if (numbers.length < 2) return svg;
  const [min, max] = range || [Math.min(...numbers), Math.max(...numbers)];
  const span = max - min || 1;
  const x = (i) => (i / (values.length - 1)) * (width - 4) + 2;
  const y = (v) => height - 4 - ((v - min) / span) * (height - 8);
  const points = values.map((v, i) => (v === null ? null : `${x(i)},${y(v)}`)).filter(Boolean);
  const rule = (at) => {
    const line = document.createElementNS(ns, "line");
    Object.entries({ x1: 0, x2: width, y1: at, y2: at, class: "axis" })
      .forEach(([k, v]) => line.setAttribute(k, v));
    svg.append(line);
  };
  if (axis) rule(range && min < 0 && max > 0 ? y(0) : height - 1);
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", points.join(" "));
  line.setAttribute("class", "line");
  svg.append(line);
  return svg;
}

function changeLine(kpi) {
  if (kpi.change === null || kpi.change === undefined) return el("div", { class: "change muted" }, "—");
  const text = kpi.unit === "ratio"
    ? `${kpi.change >= 0 ? "+" : ""}${(kpi.change * 100).toFixed(2)}%p`
    : `${kpi.change >= 0 ? "+" : ""}${(kpi.change * 100).toFixed(1)}%`;
  const good = (kpi.change >= 0) === kpi.higher_is_better;
  const arrow = kpi.change > 0 ? "▲" : kpi.change < 0 ? "▼" : "";
  return el("div", { class: `change ${kpi.change === 0 ? "muted" : good ? "good" : "bad"}` },
    `${arrow} ${text} ${t("vsPrevious")}`);
}

function table(columns, rows) {
  const head = el("tr", {}, columns.map((c) => el("th", { class: c.unit ? "num" : "" },
    t(c.title || c.key))));
  const body = rows.map((row) => el("tr", {}, columns.map((c) => el("td",
    { class: c.unit ? "num" : "", "data-field": c.key },
    c.unit ? format(row[c.key], c.unit) : (c.label ? c.label(row[c.key]) : row[c.key] ?? "—")))));
  return el("table", {}, el("thead", {}, head), el("tbody", {}, body));
}

// A daily line; under it the last day's value, named by its date (11/23), not "today".
function chartCard(title, dates, values, unit) {
  const last = values.length ? values[values.length - 1] : null;
  const [, month, date] = dates.length ? dates[dates.length - 1].split("-") : [];
  const day = month ? `${Number(month)}/${Number(date)}` : "";
  return el("div", { class: "card", "data-chart": title }, el("h3", {}, `${t(title)} · ${t("daily")}`),
    svgLine(values, { height: 90, axis: true }),
    el("div", { class: "muted" }, `${day} ${t(title)}: ${format(last, unit)}`));
}

const DRAW = {
  summary(data) {
    if (!data.dates.length) return [el("p", {}, t("noData"))];
    return [el("div", { class: "grid" }, data.kpis.map((kpi) => el("div",
      { class: "card", "data-metric": kpi.metric, "data-value": kpi.value ?? "" },
      el("h3", {}, lang === "ko" ? kpi.label_ko : kpi.label_en),
      el("div", { class: "value" }, format(kpi.value, kpi.unit)),
      changeLine(kpi), svgLine(kpi.series, { height: 36 }))))];
  },
  sales(data) {
    const d = data.daily;
    return [
      el("div", { class: "charts" },
        chartCard("revenue", d.dates, d.revenue, "usd"),
        chartCard("conversion_rate", d.dates, d.conversion_rate, "ratio"),
        chartCard("aov", d.dates, d.aov, "usd")),
      el("section", {}, el("h2", {}, t("categories")), table([
        { key: "product_category", title: "category", label: (v) => v }, { key: "viewed", unit: "count" },
        { key: "bought", unit: "count" }, { key: "conversion_rate", unit: "ratio" },
        { key: "product_revenue", unit: "usd" }], data.categories)),
      el("section", {}, el("h2", {}, t("products")), table([
        { key: "product_name", title: "product", label: (v) => v }, { key: "viewed", unit: "count" },
        { key: "bought", unit: "count" }, { key: "conversion_rate", unit: "ratio" },
        { key: "product_revenue", unit: "usd" }], data.products)),
    ];
  },
  traffic(data) {
    const d = data.daily;
    const top = data.funnel[0].sessions || 1;
    const funnel = el("table", { class: "funnel" }, data.funnel.map((step) => el("tr",
      { "data-step": step.step },
      el("td", {}, t(step.step)),
      el("td", {}, el("div", { class: "bar", style: `width:${(step.sessions / top) * 100}%` })),
      el("td", { class: "num" }, format(step.sessions, "count")),
      el("td", { class: "num muted" }, step.drop_off === undefined ? "" : `${t("drop_off")} ${format(step.drop_off, "ratio")}`))));
    return [
      el("div", { class: "charts" }, chartCard("sessions", d.dates, d.sessions, "count"),
        chartCard("bounce_rate", d.dates, d.bounce_rate, "ratio"),
        chartCard("pages_per_session", d.dates, d.pages_per_session, "decimal")),
      el("section", {}, el("h2", {}, t("funnel")), funnel),
      el("section", {}, el("h2", {}, t("channels")), table([
        { key: "channel", label: (v) => v }, { key: "sessions", unit: "count" },
        { key: "bounce_rate", unit: "ratio" }, { key: "conversion_rate", unit: "ratio" }], data.channels)),
      el("section", {}, el("h2", {}, t("landing")), table([
        { key: "page", label: (v) => v }, { key: "entrances", unit: "count" },
        { key: "bounce_rate", unit: "ratio" }], data.landing_pages)),
      el("section", {}, el("h2", {}, t("exits")), table([
        { key: "page", label: (v) => v }, { key: "exits", title: "exitsCount", unit: "count" },
        { key: "exit_rate", unit: "ratio" }], data.exit_pages)),
    ];
  },
  news(data) {
    const tone = (v) => (v > 0.1 ? "good" : v < -0.1 ? "bad" : "muted");
    const signed = (v) => (v === null || v === undefined ? "—" : (v >= 0 ? "+" : "") + v.toFixed(2));
    if (!data.mood || !data.mood.count) return [el("p", {}, t("noNews"))];
    const m = data.mood;
    return [
      el("div", { class: "grid" },
        el("div", { class: "card", "data-metric": "articles" }, el("h3", {}, t("articles")),
          el("div", { class: "value" }, format(m.count, "count"))),
        el("div", { class: "card", "data-metric": "mean" }, el("h3", {}, t("mean")),
          el("div", { class: `value ${tone(m.mean)}` }, signed(m.mean))),
        el("div", { class: "card", "data-metric": "split" },
          el("h3", {}, `${t("positive")} · ${t("neutral")} · ${t("negative")}`),
          el("div", { class: "value" }, `${m.positive} · ${m.neutral} · ${m.negative}`))),
      el("div", { class: "card" }, el("h3", {}, `${t("sentiment")} · ${t("daily")}`),
        svgLine(data.daily.map((d) => d.sentiment), { height: 90, axis: true, range: [-1, 1] })),
      el("section", {}, el("h2", {}, t("articles")), el("table", { class: "articles" },
        el("thead", {}, el("tr", {}, el("th", {}, t("date")), el("th", {}, t("title")),
          el("th", {}, t("topics")), el("th", { class: "num" }, t("sentiment")))),
        el("tbody", {}, data.articles.map((a) => el("tr", {},
          el("td", {}, a.published.slice(0, 10)),
          // Feeds are third-party: only a web link becomes a link.
          el("td", {}, /^https?:\/\//i.test(a.link)
            ? el("a", { href: a.link, target: "_blank", rel: "noopener" }, a.title)
            : el("span", {}, a.title),
            el("div", { class: "muted" }, a.source)),
          el("td", { class: "muted" }, a.topics.map(t).join(", ")),
          el("td", { class: `num ${tone(a.sentiment)}` }, signed(a.sentiment))))))),
    ];
  },
};

function periodLabel(value) {
  const days = /^(\d+)d$/.exec(value);
  if (!days) return null;
  return lang === "ko" ? `최근 ${days[1]}일` : `Last ${days[1]} days`;
}

function current() {
  return TABS.includes(params.get("tab")) ? params.get("tab") : "summary";
}

function drawControls() {
  const nav = document.getElementById("tabs");
  nav.replaceChildren(...TABS.map((name) => {
    const button = el("button", { type: "button", role: "tab", "data-tab": name,
      "aria-selected": String(name === current()) }, t(name));
    button.addEventListener("click", () => { params.set("tab", name); refresh(); });
    return button;
  }));
  // The news has its own filter (topic); the segment filters are the store's sessions'.
  const names = current() === "news" ? ["period", "topic"]
    : ["period", "visitor_type", "device", "channel", "country"];
  const form = document.getElementById("filters");
  form.replaceChildren(...names.map((name) => el("label", {}, t(name), control(name))));
}

function control(name) {
  const chosen = params.get(name) || (name === "period" ? "28d" : "");
  const set = (value) => {
    value ? params.set(name, value) : params.delete(name);
    refresh();
  };
  if (name === "country") {
    // Typed or picked from the countries the data has (a datalist, ~200 names).
    const input = el("input", { name, list: "countries", placeholder: t("all"), value: chosen });
    input.addEventListener("change", () => set(input.value.trim()));
    const list = el("datalist", { id: "countries" },
      FILTER_CHOICES.country.map((value) => el("option", { value })));
    return el("span", {}, input, list);
  }
  const choices = FILTER_CHOICES[name].includes(chosen) ? FILTER_CHOICES[name]
    : [...FILTER_CHOICES[name], chosen];  // a value from a shared link stays visible
  const select = el("select", { name }, choices.map((value) =>
    el("option", { value }, value === "" ? t("all") : periodLabel(value) || t(value))));
  select.value = chosen;
  select.addEventListener("change", () => set(select.value));
  return select;
}

async function loadChoices() {
  try {
    const response = await fetch("/api/tab/choices");
    if (!response.ok) return;
    const data = await response.json();
    FILTER_CHOICES.country = data.country;
    FILTER_CHOICES.channel = ["", ...data.channel];
    FILTER_CHOICES.topic = ["", ...data.topic];
    drawControls();
  } catch {
    // The filters keep the built-in lists and typed values.
  }
}

let generation = 0;
async function refresh() {
  history.replaceState(null, "", `${location.pathname}?${params}`);  // a view can be shared
  drawControls();
  const view = document.getElementById("view");
  const mine = ++generation;
  view.replaceChildren(el("p", { class: "loading" }, t("loading")));
  const query = new URLSearchParams(params);
  query.delete("tab");
  query.delete("lang");
  // The first view's numbers were asked for by the page (<link rel=preload>) while this
  // script loaded; fetching the same address takes that response.
  const preload = document.getElementById("first-view");
  const url = mine === 1 && preload ? preload.href : `/api/tab/${current()}?${query}`;
  try {
    const response = await fetch(url);
    const data = await response.json();
    if (mine !== generation) return;
    if (!response.ok) throw new Error(data.error || response.statusText);
    Object.assign(LABELS, data.labels);
    view.replaceChildren(...DRAW[current()](data));
    const drawn = current();
    // Once painted (the frame after this one): bench/bench_tab.py reads the mark, the
    // first view from navigation to numbers on screen, on the page's own clock.
    requestAnimationFrame(() => setTimeout(() => {
      if (mine !== generation) return;
      if (mine === 1) performance.mark("commercy:first-view");
      view.dataset.ready = drawn;
    }));
  } catch (error) {
    if (mine !== generation) return;
    view.replaceChildren(el("div", { class: "error", role: "alert" },
      el("strong", {}, t("failed")), el("div", {}, error.message)));
    view.dataset.ready = "error";
  }
}

function applyTheme(theme) {
  document.body.className = `theme-${["dark", "contrast"].includes(theme) ? theme : "default"}`;
}

async function joinTeams() {
  if (!window.microsoftTeams) return;
  try {
    await Promise.race([microsoftTeams.app.initialize(),
      new Promise((_, reject) => setTimeout(() => reject(new Error("not in Teams")), 1500))]);
    const context = await microsoftTeams.app.getContext();
    applyTheme(context.app.theme);
    const locale = (context.app.locale || "").toLowerCase();
    if (!params.get("lang") && locale.startsWith("en") && lang !== "en") {
      lang = "en";
      document.documentElement.lang = lang;
      refresh();
    }
    microsoftTeams.app.registerOnThemeChangeHandler(applyTheme);
    microsoftTeams.app.notifySuccess();
  } catch {
    // A plain browser: no Teams host to talk to; the page works on its own.
  }
}

if (window.matchMedia && matchMedia("(prefers-color-scheme: dark)").matches) applyTheme("dark");
document.documentElement.lang = lang;
// The SDK (200 KB) loads once the first numbers are drawn, so it never delays them.
refresh().finally(() => {
  loadChoices();
  const sdk = document.createElement("script");
  sdk.src = "/tab/teams.js";
  sdk.onload = joinTeams;
  document.head.append(sdk);
});
