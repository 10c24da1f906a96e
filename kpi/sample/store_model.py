"""The Google Merchandise Store as numbers: what the sample generator draws from.

Every share and rate here comes from ../shared/ga-facts.md (public analyses of the real
store's 2016-08..2017-08 GA export) or is derived from it as the comments say. The
generator and `commercy data stats` are calibrated against these, so change a figure
here and the stats test tells you whether the store still looks like the store.
"""

from __future__ import annotations

# -- volume --------------------------------------------------------------------------

# Sessions per calendar month of the real year (Aug 2016 .. Jul 2017), by month number.
MONTHLY_SESSIONS = {
    8: 74_759, 9: 71_032, 10: 97_506, 11: 113_972, 12: 79_124, 1: 64_694,
    2: 62_192, 3: 69_931, 4: 67_126, 5: 65_371, 6: 63_578, 7: 71_812,
}  # fmt: skip
REAL_YEAR_DAYS = {8: 31, 9: 30, 10: 31, 11: 30, 12: 31, 1: 31, 2: 28, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31}  # fmt: skip
WEEKEND_TRAFFIC = 0.70  # Sat/Sun sessions relative to a weekday
SESSIONS_PER_VISITOR = 1.27
NEW_VISIT_SHARE = 0.778

# -- channels ------------------------------------------------------------------------

CHANNEL_SHARE = {
    "Organic Search": 0.422, "Social": 0.250, "Direct": 0.158, "Referral": 0.116,
    "Paid Search": 0.028, "Affiliates": 0.018, "Display": 0.007, "(Other)": 0.001,
}  # fmt: skip
# Conversion rate by channel (July 2017). Weighted by the channel mix these give 1.29 %,
# the store's 1.27 % of sessions with a transaction.
CHANNEL_CONVERSION = {
    "Organic Search": 0.008, "Social": 0.0003, "Direct": 0.011, "Referral": 0.058,
    "Paid Search": 0.025, "Affiliates": 0.002, "Display": 0.030, "(Other)": 0.0,
}  # fmt: skip
# Share of revenue by channel; with the conversion rates above this fixes each
# channel's order value relative to the store's (Direct and Display orders are large).
CHANNEL_REVENUE_SHARE = {
    "Referral": 0.423, "Direct": 0.282, "Organic Search": 0.212, "Display": 0.051,
    "Paid Search": 0.028, "Social": 0.003, "Affiliates": 0.001, "(Other)": 0.0,
}  # fmt: skip

# Sources within each channel: (source, medium, share within the channel, bounce rate).
# Bounce rates reproduce the store's 49.9 % and its ordering by source (July 2017):
# youtube.com 66.7 % > google 51.6 % > (direct) 43.3 %.
CHANNEL_SOURCES: dict[str, list[tuple[str, str, float, float]]] = {
    "Organic Search": [
        ("google", "organic", 0.93, 0.523), ("bing", "organic", 0.03, 0.52),
        ("yahoo", "organic", 0.015, 0.52), ("baidu", "organic", 0.01, 0.55),
        ("duckduckgo", "organic", 0.008, 0.50), ("ask", "organic", 0.007, 0.55),
    ],
    "Social": [
        ("youtube.com", "referral", 0.70, 0.667), ("facebook.com", "referral", 0.08, 0.55),
        ("m.facebook.com", "referral", 0.05, 0.58), ("reddit.com", "referral", 0.05, 0.50),
        ("quora.com", "referral", 0.05, 0.52), ("t.co", "referral", 0.04, 0.56),
        ("plus.google.com", "referral", 0.02, 0.50), ("l.facebook.com", "referral", 0.01, 0.55),
    ],
    "Direct": [("(direct)", "(none)", 1.0, 0.433)],
    "Referral": [
        ("mall.googleplex.com", "referral", 0.55, 0.24), ("analytics.google.com", "referral", 0.12, 0.40),
        ("sites.google.com", "referral", 0.08, 0.28), ("google.com", "referral", 0.06, 0.30),
        ("groups.google.com", "referral", 0.05, 0.25), ("support.google.com", "referral", 0.05, 0.30),
        ("gdeals.googleplex.com", "referral", 0.04, 0.20), ("qiita.com", "referral", 0.05, 0.30),
    ],
    "Paid Search": [("google", "cpc", 0.97, 0.41), ("bing", "cpc", 0.03, 0.45)],
    "Affiliates": [("Partners", "affiliate", 1.0, 0.55)],
    "Display": [("dfa", "cpm", 0.6, 0.55), ("google", "cpm", 0.4, 0.55)],
    "(Other)": [("google", "(not set)", 1.0, 0.50)],
}  # fmt: skip

PAID_CAMPAIGNS = [
    ("AW - Dynamic Search Ads Whole Site", 0.40), ("AW - Accessories", 0.30),
    ("AW - Apparel", 0.15), ("AW - Electronics", 0.10), ("AW - Bags", 0.05),
]  # fmt: skip
ORGANIC_KEYWORDS = [
    ("(not provided)", 0.92), ("google merchandise store", 0.03), ("youtube merchandise", 0.015),
    ("google store", 0.015), ("google t shirt", 0.01), ("water bottle", 0.01),
]  # fmt: skip
PAID_KEYWORDS = [
    ("6qEhsCssdK0z36ri", 0.6), ("(Remarketing/Content targeting)", 0.25), ("google store", 0.15),
]  # fmt: skip
SOCIAL_REFERRAL_PATHS = ["/yt/about/", "/yt/about/tr/", "/", "/r/google/", "/yt/about/es-419/"]
REFERRAL_PATHS = ["/", "/analytics/web/", "/a/google.com/nest-vision/", "/mall/"]

# -- devices -------------------------------------------------------------------------

DEVICE_SHARE = {"desktop": 0.735, "mobile": 0.231, "tablet": 0.034}
# Operating systems within each device; marginals: Windows 38.7, Macintosh 28.1,
# Android 13.7, iOS 11.9, Linux 3.9, Chrome OS 2.9 (% of sessions).
DEVICE_OS = {
    "desktop": [("Windows", 0.525), ("Macintosh", 0.382), ("Linux", 0.053),
                ("Chrome OS", 0.039), ("(not set)", 0.001)],
    "mobile": [("Android", 0.522), ("iOS", 0.452), ("Windows Phone", 0.016),
               ("BlackBerry", 0.005), ("(not set)", 0.005)],
    "tablet": [("iOS", 0.44), ("Android", 0.53), ("Windows", 0.03)],
}  # fmt: skip
# Browsers within each operating system; marginals: Chrome 68.6, Safari 20.2,
# Firefox 4.1, Internet Explorer 2.1, Edge 1.1 (% of sessions).
OS_BROWSER = {
    "Windows": [("Chrome", 0.82), ("Firefox", 0.074), ("Internet Explorer", 0.054),
                ("Edge", 0.029), ("Opera", 0.018), ("YaBrowser", 0.005)],
    "Macintosh": [("Chrome", 0.59), ("Safari", 0.37), ("Firefox", 0.04)],
    "Linux": [("Chrome", 0.80), ("Firefox", 0.20)],
    "Chrome OS": [("Chrome", 1.0)],
    "Android": [("Chrome", 0.86), ("Samsung Internet", 0.06), ("Android Webview", 0.05),
                ("Opera Mini", 0.02), ("UC Browser", 0.01)],
    "iOS": [("Safari", 0.79), ("Chrome", 0.14), ("Safari (in-app)", 0.07)],
    "Windows Phone": [("Edge", 0.6), ("Internet Explorer", 0.4)],
    "BlackBerry": [("BlackBerry", 1.0)],
    "(not set)": [("Chrome", 0.5), ("Mozilla Compatible Agent", 0.5)],
}  # fmt: skip

# -- conversion ----------------------------------------------------------------------

# Multipliers on a session's chance to buy, each averaging 1 over the session mix so
# the channel rates above hold. Desktop earns 96 % of revenue, the Americas ~98 %,
# and a weekend day about a quarter of a weekday's revenue on 70 % of its traffic.
DEVICE_CONVERSION_FACTOR = {"desktop": 1.29, "mobile": 0.19, "tablet": 0.19}
AMERICAS_CONVERSION_FACTOR = 1.96
ELSEWHERE_CONVERSION_FACTOR = 0.05
WEEKDAY_CONVERSION_FACTOR = 1.1636
WEEKEND_CONVERSION_FACTOR = 0.4156

# Order value: lognormal, right-skewed, mean $133.7 per converting session.
ORDER_VALUE_MEAN_USD = 133.7
ORDER_VALUE_SIGMA = 1.1

# -- geography -----------------------------------------------------------------------

CONTINENT_SHARE = {
    "Americas": 0.498, "Asia": 0.248, "Europe": 0.219, "Oceania": 0.017, "Africa": 0.016,
    "(not set)": 0.002,
}  # fmt: skip

# (country, continent, subContinent, UTC offset in hours, share of sessions or None).
# Countries with a share take it; the rest of their continent's share is spread over
# the countries without one, falling off with their place in the list (Zipf), which
# gives the long tail of 200+ countries the real store has.
COUNTRIES: list[tuple[str, str, str, float, float | None]] = [
    ("United States", "Americas", "Northern America", -7, 0.400),
    ("Canada", "Americas", "Northern America", -5, 0.029),
    ("Brazil", "Americas", "South America", -3, 0.022),
    ("Mexico", "Americas", "Central America", -6, 0.015),
    ("Colombia", "Americas", "South America", -5, 0.0055),
    ("Argentina", "Americas", "South America", -3, 0.0045),
    ("Peru", "Americas", "South America", -5, 0.0035),
    ("Chile", "Americas", "South America", -4, 0.003),
    ("Venezuela", "Americas", "South America", -4, None),
    ("Ecuador", "Americas", "South America", -5, None),
    ("Puerto Rico", "Americas", "Caribbean", -4, None),
    ("Guatemala", "Americas", "Central America", -6, None),
    ("Dominican Republic", "Americas", "Caribbean", -4, None),
    ("Costa Rica", "Americas", "Central America", -6, None),
    ("Panama", "Americas", "Central America", -5, None),
    ("Uruguay", "Americas", "South America", -3, None),
    ("Bolivia", "Americas", "South America", -4, None),
    ("El Salvador", "Americas", "Central America", -6, None),
    ("Honduras", "Americas", "Central America", -6, None),
    ("Trinidad & Tobago", "Americas", "Caribbean", -4, None),
    ("Jamaica", "Americas", "Caribbean", -5, None),
    ("Paraguay", "Americas", "South America", -4, None),
    ("Nicaragua", "Americas", "Central America", -6, None),
    ("Cuba", "Americas", "Caribbean", -5, None),
    ("Bahamas", "Americas", "Caribbean", -5, None),
    ("Barbados", "Americas", "Caribbean", -4, None),
    ("Bermuda", "Americas", "Northern America", -4, None),
    ("Haiti", "Americas", "Caribbean", -5, None),
    ("Guyana", "Americas", "South America", -4, None),
    ("Suriname", "Americas", "South America", -3, None),
    ("Belize", "Americas", "Central America", -6, None),
    ("Cayman Islands", "Americas", "Caribbean", -5, None),
    ("Aruba", "Americas", "Caribbean", -4, None),
    ("Curaçao", "Americas", "Caribbean", -4, None),
    ("St. Lucia", "Americas", "Caribbean", -4, None),
    ("Antigua & Barbuda", "Americas", "Caribbean", -4, None),
    ("Grenada", "Americas", "Caribbean", -4, None),
    ("St. Kitts & Nevis", "Americas", "Caribbean", -4, None),
    ("Dominica", "Americas", "Caribbean", -4, None),
    ("St. Vincent & Grenadines", "Americas", "Caribbean", -4, None),
    ("U.S. Virgin Islands", "Americas", "Caribbean", -4, None),
    ("British Virgin Islands", "Americas", "Caribbean", -4, None),
    ("Turks & Caicos Islands", "Americas", "Caribbean", -5, None),
    ("Greenland", "Americas", "Northern America", -3, None),
    ("French Guiana", "Americas", "South America", -3, None),
    ("Guadeloupe", "Americas", "Caribbean", -4, None),
    ("Martinique", "Americas", "Caribbean", -4, None),
    ("Sint Maarten", "Americas", "Caribbean", -4, None),
    ("India", "Asia", "Southern Asia", 5.5, 0.057),
    ("Vietnam", "Asia", "Southeast Asia", 7, 0.027),
    ("Turkey", "Asia", "Western Asia", 3, 0.023),
    ("Thailand", "Asia", "Southeast Asia", 7, 0.022),
    ("Japan", "Asia", "Eastern Asia", 9, 0.022),
    ("Taiwan", "Asia", "Eastern Asia", 8, 0.015),
    ("Indonesia", "Asia", "Southeast Asia", 7, 0.012),
    ("Philippines", "Asia", "Southeast Asia", 8, 0.011),
    ("South Korea", "Asia", "Eastern Asia", 9, 0.0075),
    ("Singapore", "Asia", "Southeast Asia", 8, 0.0075),
    ("Hong Kong", "Asia", "Eastern Asia", 8, 0.0068),
    ("Malaysia", "Asia", "Southeast Asia", 8, 0.0065),
    ("Israel", "Asia", "Western Asia", 2, 0.0060),
    ("Pakistan", "Asia", "Southern Asia", 5, 0.0045),
    ("China", "Asia", "Eastern Asia", 8, 0.0035),
    ("Bangladesh", "Asia", "Southern Asia", 6, None),
    ("United Arab Emirates", "Asia", "Western Asia", 4, None),
    ("Saudi Arabia", "Asia", "Western Asia", 3, None),
    ("Sri Lanka", "Asia", "Southern Asia", 5.5, None),
    ("Iran", "Asia", "Southern Asia", 3.5, None),
    ("Kazakhstan", "Asia", "Central Asia", 6, None),
    ("Georgia", "Asia", "Western Asia", 4, None),
    ("Nepal", "Asia", "Southern Asia", 5.75, None),
    ("Jordan", "Asia", "Western Asia", 2, None),
    ("Armenia", "Asia", "Western Asia", 4, None),
    ("Azerbaijan", "Asia", "Western Asia", 4, None),
    ("Iraq", "Asia", "Western Asia", 3, None),
    ("Lebanon", "Asia", "Western Asia", 2, None),
    ("Kuwait", "Asia", "Western Asia", 3, None),
    ("Qatar", "Asia", "Western Asia", 3, None),
    ("Cambodia", "Asia", "Southeast Asia", 7, None),
    ("Myanmar (Burma)", "Asia", "Southeast Asia", 6.5, None),
    ("Mongolia", "Asia", "Eastern Asia", 8, None),
    ("Uzbekistan", "Asia", "Central Asia", 5, None),
    ("Oman", "Asia", "Western Asia", 4, None),
    ("Bahrain", "Asia", "Western Asia", 3, None),
    ("Cyprus", "Asia", "Western Asia", 2, None),
    ("Kyrgyzstan", "Asia", "Central Asia", 6, None),
    ("Palestine", "Asia", "Western Asia", 2, None),
    ("Macau", "Asia", "Eastern Asia", 8, None),
    ("Laos", "Asia", "Southeast Asia", 7, None),
    ("Afghanistan", "Asia", "Southern Asia", 4.5, None),
    ("Syria", "Asia", "Western Asia", 2, None),
    ("Brunei", "Asia", "Southeast Asia", 8, None),
    ("Maldives", "Asia", "Southern Asia", 5, None),
    ("Yemen", "Asia", "Western Asia", 3, None),
    ("Tajikistan", "Asia", "Central Asia", 5, None),
    ("Bhutan", "Asia", "Southern Asia", 6, None),
    ("Turkmenistan", "Asia", "Central Asia", 5, None),
    ("Timor-Leste", "Asia", "Southeast Asia", 9, None),
    ("United Kingdom", "Europe", "Northern Europe", 0, 0.041),
    ("Germany", "Europe", "Western Europe", 1, 0.022),
    ("France", "Europe", "Western Europe", 1, 0.017),
    ("Spain", "Europe", "Southern Europe", 1, 0.016),
    ("Italy", "Europe", "Southern Europe", 1, 0.014),
    ("Netherlands", "Europe", "Western Europe", 1, 0.014),
    ("Poland", "Europe", "Eastern Europe", 1, 0.011),
    ("Russia", "Europe", "Eastern Europe", 3, 0.011),
    ("Ukraine", "Europe", "Eastern Europe", 2, 0.008),
    ("Romania", "Europe", "Eastern Europe", 2, 0.006),
    ("Sweden", "Europe", "Northern Europe", 1, 0.0055),
    ("Belgium", "Europe", "Western Europe", 1, 0.005),
    ("Ireland", "Europe", "Northern Europe", 0, 0.0045),
    ("Portugal", "Europe", "Southern Europe", 0, 0.0045),
    ("Switzerland", "Europe", "Western Europe", 1, 0.0042),
    ("Greece", "Europe", "Southern Europe", 2, 0.0040),
    ("Czechia", "Europe", "Eastern Europe", 1, None),
    ("Hungary", "Europe", "Eastern Europe", 1, None),
    ("Denmark", "Europe", "Northern Europe", 1, None),
    ("Austria", "Europe", "Western Europe", 1, None),
    ("Bulgaria", "Europe", "Eastern Europe", 2, None),
    ("Finland", "Europe", "Northern Europe", 2, None),
    ("Norway", "Europe", "Northern Europe", 1, None),
    ("Serbia", "Europe", "Southern Europe", 1, None),
    ("Croatia", "Europe", "Southern Europe", 1, None),
    ("Slovakia", "Europe", "Eastern Europe", 1, None),
    ("Lithuania", "Europe", "Northern Europe", 2, None),
    ("Belarus", "Europe", "Eastern Europe", 3, None),
    ("Slovenia", "Europe", "Southern Europe", 1, None),
    ("Latvia", "Europe", "Northern Europe", 2, None),
    ("Bosnia & Herzegovina", "Europe", "Southern Europe", 1, None),
    ("Estonia", "Europe", "Northern Europe", 2, None),
    ("Macedonia (FYROM)", "Europe", "Southern Europe", 1, None),
    ("Moldova", "Europe", "Eastern Europe", 2, None),
    ("Albania", "Europe", "Southern Europe", 1, None),
    ("Luxembourg", "Europe", "Western Europe", 1, None),
    ("Malta", "Europe", "Southern Europe", 1, None),
    ("Iceland", "Europe", "Northern Europe", 0, None),
    ("Montenegro", "Europe", "Southern Europe", 1, None),
    ("Kosovo", "Europe", "Southern Europe", 1, None),
    ("Jersey", "Europe", "Northern Europe", 0, None),
    ("Guernsey", "Europe", "Northern Europe", 0, None),
    ("Isle of Man", "Europe", "Northern Europe", 0, None),
    ("Andorra", "Europe", "Southern Europe", 1, None),
    ("Monaco", "Europe", "Western Europe", 1, None),
    ("Liechtenstein", "Europe", "Western Europe", 1, None),
    ("Gibraltar", "Europe", "Southern Europe", 1, None),
    ("Faroe Islands", "Europe", "Northern Europe", 0, None),
    ("San Marino", "Europe", "Southern Europe", 1, None),
    ("Åland Islands", "Europe", "Northern Europe", 2, None),
    ("Australia", "Oceania", "Australasia", 10, 0.0140),
    ("New Zealand", "Oceania", "Australasia", 12, 0.0022),
    ("Fiji", "Oceania", "Melanesia", 12, None),
    ("Papua New Guinea", "Oceania", "Melanesia", 10, None),
    ("Guam", "Oceania", "Micronesian Region", 10, None),
    ("French Polynesia", "Oceania", "Polynesia", -10, None),
    ("New Caledonia", "Oceania", "Melanesia", 11, None),
    ("Samoa", "Oceania", "Polynesia", 13, None),
    ("Vanuatu", "Oceania", "Melanesia", 11, None),
    ("Northern Mariana Islands", "Oceania", "Micronesian Region", 10, None),
    ("Solomon Islands", "Oceania", "Melanesia", 11, None),
    ("Tonga", "Oceania", "Polynesia", 13, None),
    ("Micronesia", "Oceania", "Micronesian Region", 10, None),
    ("Marshall Islands", "Oceania", "Micronesian Region", 12, None),
    ("American Samoa", "Oceania", "Polynesia", -11, None),
    ("Palau", "Oceania", "Micronesian Region", 9, None),
    ("Egypt", "Africa", "Northern Africa", 2, 0.0035),
    ("Nigeria", "Africa", "Western Africa", 1, 0.0025),
    ("South Africa", "Africa", "Southern Africa", 2, 0.0022),
    ("Kenya", "Africa", "Eastern Africa", 3, 0.0018),
    ("Morocco", "Africa", "Northern Africa", 0, None),
    ("Algeria", "Africa", "Northern Africa", 1, None),
    ("Tunisia", "Africa", "Northern Africa", 1, None),
    ("Ghana", "Africa", "Western Africa", 0, None),
    ("Ethiopia", "Africa", "Eastern Africa", 3, None),
    ("Tanzania", "Africa", "Eastern Africa", 3, None),
    ("Uganda", "Africa", "Eastern Africa", 3, None),
    ("Côte d’Ivoire", "Africa", "Western Africa", 0, None),
    ("Cameroon", "Africa", "Middle Africa", 1, None),
    ("Senegal", "Africa", "Western Africa", 0, None),
    ("Zimbabwe", "Africa", "Eastern Africa", 2, None),
    ("Mauritius", "Africa", "Eastern Africa", 4, None),
    ("Libya", "Africa", "Northern Africa", 2, None),
    ("Sudan", "Africa", "Northern Africa", 2, None),
    ("Zambia", "Africa", "Eastern Africa", 2, None),
    ("Angola", "Africa", "Middle Africa", 1, None),
    ("Rwanda", "Africa", "Eastern Africa", 2, None),
    ("Mozambique", "Africa", "Eastern Africa", 2, None),
    ("Botswana", "Africa", "Southern Africa", 2, None),
    ("Namibia", "Africa", "Southern Africa", 2, None),
    ("Madagascar", "Africa", "Eastern Africa", 3, None),
    ("Benin", "Africa", "Western Africa", 1, None),
    ("Malawi", "Africa", "Eastern Africa", 2, None),
    ("Mali", "Africa", "Western Africa", 0, None),
    ("Burkina Faso", "Africa", "Western Africa", 0, None),
    ("Togo", "Africa", "Western Africa", 0, None),
    ("Somalia", "Africa", "Eastern Africa", 3, None),
    ("Congo - Kinshasa", "Africa", "Middle Africa", 1, None),
    ("Gabon", "Africa", "Middle Africa", 1, None),
    ("Réunion", "Africa", "Eastern Africa", 4, None),
    ("Sierra Leone", "Africa", "Western Africa", 0, None),
    ("Liberia", "Africa", "Western Africa", 0, None),
    ("Niger", "Africa", "Western Africa", 1, None),
    ("Guinea", "Africa", "Western Africa", 0, None),
    ("Lesotho", "Africa", "Southern Africa", 2, None),
    ("Swaziland", "Africa", "Southern Africa", 2, None),
    ("Gambia", "Africa", "Western Africa", 0, None),
    ("Djibouti", "Africa", "Eastern Africa", 3, None),
    ("Cape Verde", "Africa", "Western Africa", -1, None),
    ("Seychelles", "Africa", "Eastern Africa", 4, None),
    ("Eritrea", "Africa", "Eastern Africa", 3, None),
    ("(not set)", "(not set)", "(not set)", 0, 0.002),
]

# Cities the export names for the largest markets (most sessions have none: NULL).
# (country, region, metro, city, share of that country's sessions)
CITIES = [
    ("United States", "California", "San Francisco-Oakland-San Jose CA", "Mountain View", 0.090),
    ("United States", "New York", "New York NY", "New York", 0.055),
    ("United States", "California", "San Francisco-Oakland-San Jose CA", "San Francisco", 0.045),
    ("United States", "California", "San Francisco-Oakland-San Jose CA", "Sunnyvale", 0.040),
    ("United States", "California", "San Francisco-Oakland-San Jose CA", "San Jose", 0.020),
    ("United States", "California", "Los Angeles CA", "Los Angeles", 0.018),
    ("United States", "Washington", "Seattle-Tacoma WA", "Seattle", 0.015),
    ("United States", "Illinois", "Chicago IL", "Chicago", 0.015),
    ("United States", "Washington", "Seattle-Tacoma WA", "Kirkland", 0.010),
    ("United States", "Texas", "Austin TX", "Austin", 0.010),
    ("United States", "California", "San Francisco-Oakland-San Jose CA", "Palo Alto", 0.008),
    ("United States", "Massachusetts", "Boston MA-Manchester NH", "Cambridge", 0.007),
    ("Canada", "Ontario", "(not set)", "Toronto", 0.15),
    ("Canada", "British Columbia", "(not set)", "Vancouver", 0.08),
    ("India", "Karnataka", "(not set)", "Bengaluru", 0.12),
    ("India", "Maharashtra", "(not set)", "Mumbai", 0.08),
    ("India", "Telangana", "(not set)", "Hyderabad", 0.06),
    ("United Kingdom", "England", "London", "London", 0.30),
    ("Japan", "Tokyo", "(not set)", "Tokyo", 0.25),
    ("Taiwan", "Taipei City", "(not set)", "Taipei", 0.25),
    ("Vietnam", "Ho Chi Minh", "(not set)", "Ho Chi Minh City", 0.20),
    ("Thailand", "Bangkok", "(not set)", "Bangkok", 0.30),
    ("Turkey", "Istanbul", "(not set)", "Istanbul", 0.25),
    ("Germany", "Bavaria", "(not set)", "Munich", 0.08),
    ("Germany", "Berlin", "(not set)", "Berlin", 0.08),
    ("France", "Ile-de-France", "(not set)", "Paris", 0.25),
    ("Brazil", "State of Sao Paulo", "(not set)", "Sao Paulo", 0.22),
    ("Australia", "New South Wales", "(not set)", "Sydney", 0.30),
    ("Singapore", "(not set)", "(not set)", "Singapore", 0.50),
    ("Ireland", "County Dublin", "(not set)", "Dublin", 0.40),
    ("South Korea", "Seoul", "(not set)", "Seoul", 0.35),
    ("Israel", "Tel Aviv District", "(not set)", "Tel Aviv-Yafo", 0.30),
]

# -- catalog -------------------------------------------------------------------------

# (v2ProductName, v2ProductCategory, price USD, productSKU, popularity). Names, paths and
# prices follow the real catalog; popularity is how often a shopper picks it among
# products of a fitting price. Nest devices are few but lead revenue, as in the store.
PRODUCTS: list[tuple[str, str, float, str, float]] = [
    ("Google 22 oz Water Bottle", "Home/Drinkware/Water Bottles and Tumblers/", 2.99, "GGOEGAAX0074", 3.0),
    ("22 oz YouTube Bottle Infuser", "Home/Drinkware/Water Bottles and Tumblers/", 4.99, "GGOEYDHJ056099", 2.0),
    ("Google 17oz Stainless Steel Sport Bottle", "Home/Drinkware/Water Bottles and Tumblers/", 23.99, "GGOEGDHC074099", 1.5),
    ("26 oz Double Wall Insulated Bottle", "Home/Drinkware/Water Bottles and Tumblers/", 24.99, "GGOEGDHQ015399", 1.2),
    ("Google Insulated Stainless Steel Bottle", "Home/Drinkware/", 19.99, "GGOEGDHR018499", 1.0),
    ("YouTube Leatherette Notebook Combo", "Home/Office/", 5.99, "GGOEYOLR018699", 1.2),
    ("Google Ballpoint Pen Black", "Home/Office/Writing Instruments/", 0.99, "GGOEGOAQ012899", 3.5),
    ("Google Spiral Journal with Pen", "Home/Office/Notebooks & Journals/", 9.99, "GGOEGOCB017499", 1.5),
    ("Google Sticky Note Pad", "Home/Office/", 2.99, "GGOEGOAB021099", 2.0),
    ("Google Laptop and Cell Phone Stickers", "Home/Accessories/Stickers/", 1.99, "GGOEGFKQ020399", 3.0),
    ("Google Doodle Decal", "Home/Accessories/Stickers/", 2.99, "GGOEGFKQ020799", 2.0),
    ("Google Lunch Bag", "Home/Bags/", 15.99, "GGOEGBFC018799", 1.0),
    ("Google Laptop Backpack", "Home/Bags/Backpacks/", 99.99, "GGOEGBRJ037299", 0.8),
    ("Google Rucksack", "Home/Bags/Backpacks/", 69.99, "GGOEGBRA037499", 0.8),
    ("Google Tote Bag", "Home/Bags/Shopping and Totes/", 9.99, "GGOEGBJL013999", 1.5),
    ("Waze Dress Socks", "Home/Apparel/", 8.99, "GGOEWAEA083899", 1.5),
    ("Google Twill Cap", "Home/Apparel/Headgear/", 10.99, "GGOEGHPB071610", 2.0),
    ("Google Blackout Cap", "Home/Apparel/Headgear/", 18.99, "GGOEGHPJ080310", 1.2),
    ("Google Youth Baseball Raglan Heather/Black", "Home/Apparel/Kid's/Kids-Youth/", 24.99, "GGOEGAAX0680", 0.8),
    ("Google Baby Essentials Set", "Home/Apparel/Kid's/Kid's-Infant/", 33.99, "GGOEGAWQ062949", 0.7),
    ("Google Men's 100% Cotton Short Sleeve Hero Tee White", "Home/Apparel/Men's/Men's-T-Shirts/", 16.99, "GGOEGAAX0104", 2.5),
    ("Google Men's 100% Cotton Short Sleeve Hero Tee Navy", "Home/Apparel/Men's/Men's-T-Shirts/", 16.99, "GGOEGAAX0106", 2.0),
    ("Google Men's Performance Full Zip Jacket Black", "Home/Apparel/Men's/Men's-Outerwear/", 119.99, "GGOEGAAX0569", 0.5),
    ("Google Men's Lightweight Microfleece Jacket Black", "Home/Apparel/Men's/Men's-Outerwear/", 74.99, "GGOEGAAX0573", 0.6),
    ("Android Men's Outerstellar Short Sleeve Tee Black", "Home/Apparel/Men's/Men's-T-Shirts/", 19.99, "GGOEAXXX0810", 1.0),
    ("YouTube Men's Short Sleeve Hero Tee Black", "Home/Apparel/Men's/Men's-T-Shirts/", 16.99, "GGOEYAAJ033814", 1.5),
    ("Google Women's Short Sleeve Hero Tee White", "Home/Apparel/Women's/Women's-T-Shirts/", 16.99, "GGOEGAAX0279", 1.5),
    ("Google Women's Short Sleeve Performance Tee Charcoal", "Home/Apparel/Women's/Women's-T-Shirts/", 54.99, "GGOEGAAX0579", 0.5),
    ("Waze Women's Short Sleeve Tee", "Home/Apparel/Women's/Women's-T-Shirts/", 15.19, "GGOEWALJ082713", 1.0),
    ("YouTube Women's Short Sleeve Tri-blend Badge Tee Charcoal", "Home/Apparel/Women's/Women's-T-Shirts/", 18.99, "GGOEYAXR066128", 1.0),
    ("Google Men's Zip Hoodie", "Home/Apparel/Men's/Men's-Outerwear/", 44.99, "GGOEGAAX0355", 0.8),
    ("Google Women's Fleece Hoodie", "Home/Apparel/Women's/Women's-Outerwear/", 39.99, "GGOEGAAX0350", 0.7),
    ("Android Sticker Sheet Ultra Removable", "Home/Shop by Brand/Android/", 2.99, "GGOEAFKQ020499", 2.0),
    ("Android Wool Heather Cap Heather/Black", "Home/Shop by Brand/Android/", 19.99, "GGOEAHPJ074399", 0.8),
    ("YouTube Custom Decals", "Home/Shop by Brand/YouTube/", 1.99, "GGOEYFKQ020699", 2.0),
    ("YouTube Twill Cap", "Home/Shop by Brand/YouTube/", 10.99, "GGOEYHPB072210", 1.2),
    ("Waze Mobile Phone Vent Mount", "Home/Shop by Brand/Waze/", 9.99, "GGOEWEBB082699", 0.8),
    ("Google Power Bank", "Home/Electronics/", 29.99, "GGOEGETR014599", 0.8),
    ("Google Bluetooth Speaker", "Home/Electronics/Audio/", 49.99, "GGOEGEVA022399", 0.6),
    ("Google Car Charger", "Home/Electronics/Accessories/", 12.99, "GGOEGECJ021699", 0.8),
    ("Google Earbuds", "Home/Electronics/Audio/", 9.99, "GGOEGEVR014999", 1.0),
    ("Google 4400mAh Power Bank", "Home/Electronics/Power/", 39.99, "GGOEGETB023799", 0.6),
    ("Google Infant Short Sleeve Tee Red", "Home/Apparel/Kid's/Kid's-Infant/", 16.99, "GGOEGKAA019299", 0.6),
    ("Google Ceramic Mug", "Home/Drinkware/Mugs and Cups/", 11.99, "GGOEGDHJ082599", 1.5),
    ("Google Campfire Mug", "Home/Drinkware/Mugs and Cups/", 14.99, "GGOEGDWR015799", 1.0),
    ("Google Kick Ball", "Home/Lifestyle/Fun/", 1.59, "GGOEGFSR022099", 2.0),
    ("Google Umbrella", "Home/Lifestyle/", 24.99, "GGOEGAFB035817", 0.7),
    ("Google Picnic Blanket", "Home/Lifestyle/", 44.99, "GGOEGCBB074399", 0.5),
    ("Nest® Learning Thermostat 3rd Gen-USA - Stainless Steel", "Home/Nest/Nest-USA/", 249.00, "GGOENEBJ079499", 4.0),
    ("Nest® Cam Indoor Security Camera - USA", "Home/Nest/Nest-USA/", 199.00, "GGOENEBQ078999", 4.5),
    ("Nest® Cam Outdoor Security Camera - USA", "Home/Nest/Nest-USA/", 199.00, "GGOENEBB078899", 4.0),
    ("Nest® Protect Smoke + CO White Battery Alarm-USA", "Home/Nest/Nest-USA/", 119.00, "GGOENEBQ079099", 4.0),
    ("Nest® Protect Smoke + CO White Wired Alarm-USA", "Home/Nest/Nest-USA/", 119.00, "GGOENEBQ079199", 3.0),
    ("Nest® Thermostat E - USA", "Home/Nest/Nest-USA/", 169.00, "GGOENEBQ084799", 3.0),
    ("Nest® Cam IQ - USA", "Home/Nest/Nest-USA/", 299.00, "GGOENEBQ086499", 2.0),
    ("Nest® Learning Thermostat 3rd Gen-USA - Copper", "Home/Nest/Nest-USA/", 249.00, "GGOENEBJ079299", 2.0),
]  # fmt: skip

# Pages a visitor browses between the funnel steps: (pagePath, pageTitle, weight).
BROWSE_PAGES: list[tuple[str, str, float]] = [
    ("/home", "Home", 6.0),
    ("/google+redesign/apparel/men++s/men++s+t+shirts", "Men's T-Shirts | Apparel | Google Merchandise Store", 2.0),
    ("/google+redesign/apparel/womens/womens+t+shirts", "Women's T-Shirts | Apparel | Google Merchandise Store", 1.2),
    ("/google+redesign/apparel", "Apparel | Google Merchandise Store", 1.5),
    ("/google+redesign/apparel/headgear", "Headgear | Apparel | Google Merchandise Store", 0.8),
    ("/google+redesign/shop+by+brand/youtube", "YouTube | Shop by Brand | Google Merchandise Store", 2.5),
    ("/google+redesign/shop+by+brand/android", "Android | Shop by Brand | Google Merchandise Store", 0.8),
    ("/google+redesign/bags/water+bottles+and+tumblers", "Water Bottles & Tumblers | Drinkware | Google Merchandise Store", 1.0),
    ("/google+redesign/drinkware", "Drinkware | Google Merchandise Store", 1.0),
    ("/google+redesign/bags/backpacks/home", "Backpacks | Bags | Google Merchandise Store", 0.8),
    ("/google+redesign/electronics", "Electronics | Google Merchandise Store", 1.0),
    ("/google+redesign/office", "Office | Google Merchandise Store", 0.9),
    ("/google+redesign/accessories/stickers/home", "Stickers | Accessories | Google Merchandise Store", 0.6),
    ("/google+redesign/nest/nest-usa", "Nest-USA | Nest | Google Merchandise Store", 1.0),
    ("/google+redesign/lifestyle", "Lifestyle | Google Merchandise Store", 0.5),
    ("/store.html", "Shopping by Brand | Google Merchandise Store", 0.6),
    ("/asearch.html", "Search Results | Google Merchandise Store", 0.8),
    ("/signin.html", "The Google Merchandise Store - Log In", 0.7),
    ("/myaccount.html", "The Google Merchandise Store - My Account", 0.3),
]  # fmt: skip
HOSTNAME = "shop.googlemerchandisestore.com"
BASKET_PAGE = ("/basket.html", "Shopping Cart")
CHECKOUT_PAGES = [
    ("/yourinfo.html", "Checkout Your Information"),
    ("/payment.html", "Payment Method"),
    ("/revieworder.html", "Checkout Review"),
]
ORDER_COMPLETED_PAGE = ("/ordercompleted.html", "Checkout Confirmation")
AFTER_PURCHASE_PAGE = (
    "/myaccount.html?mode=vieworder",
    "The Google Merchandise Store - My Account",
)

# Hour-of-day profile of visits in the visitor's local time (relative weights, 0..23).
LOCAL_HOUR_PROFILE = [
    0.35, 0.25, 0.18, 0.14, 0.13, 0.16, 0.28, 0.48, 0.72, 0.92, 1.00, 1.02,
    1.00, 1.00, 0.98, 0.95, 0.90, 0.85, 0.80, 0.78, 0.76, 0.70, 0.60, 0.47,
]  # fmt: skip
