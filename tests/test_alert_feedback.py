"""'Not useful' on risk alerts (issue 19): the card's fourth button, the verdicts the bot
records through a real click (Not useful, and Acknowledge / Why? as useful) in a real
SQLite state, `commercy alerts status` reading them back with a hint naming the setting
to change, and COMMERCY_ALERT_SENSITIVITY moving a rule's scores."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sqlite3
from pathlib import Path

import pytest
from aiohttp import ClientSession
from click.testing import CliRunner

import cards
from bot.app import STATE
from bot.cli import cli
from bot.settings import Settings, SettingsError, _shifted, load_settings
from bot.state import State
from cards.validation import validate_card
from kpi.insights.alerts import RULES, Thresholds
from tests.doubles.botkit import activity, post, running_bot
from tests.test_bot import TODAY

USER = "00000000-0000-0000-0000-000000000001"  # the aadObjectId tests.doubles.botkit sends


class _Alert:
    alert_id = "a1b2c3d4e5f6a7b8c9d0"
    rule = "traffic_drop"
    severity = "warning"
    scope = "all"
    window_start = dt.datetime(2026, 11, 23, 5, 0, tzinfo=dt.UTC)
    window_end = dt.datetime(2026, 11, 23, 5, 30, tzinfo=dt.UTC)
    value = 20.0
    expected = 60.0
    message_ko = "세션이 평소보다 67% 적어요"
    message_en = "Sessions are 67% below the usual"


def actions(card: dict) -> list[dict]:
    return card["actions"]


# --- The card -------------------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "title"), [("ko", "도움 안 됨"), ("en", "Not useful")])
def test_the_alert_card_has_four_buttons_not_useful_last_each_with_a_submit_fallback(lang, title):
    card = cards.alert_card(_Alert(), lang=lang)
    assert validate_card(card) == []
    assert [a["verb"] for a in actions(card)] == ["ack", "snooze", "why", "not_useful"]
    not_useful = actions(card)[-1]
    assert not_useful["type"] == "Action.Execute" and not_useful["title"] == title
    data = {"alert_id": _Alert.alert_id, "rule": _Alert.rule, "scope": _Alert.scope}
    for action in actions(card):
        assert action["data"] == data
        assert action["fallback"]["type"] == "Action.Submit"
        assert action["fallback"]["data"] == {"verb": action["verb"], **data}


# --- Clicks through the bot -----------------------------------------------------------------


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.chdir(tmp_path)
    return Settings(COMMERCY_TIMEZONE="Asia/Seoul", MicrosoftAppId="")


def click(connector, verb: str, data: object, *, user: str = "user-1", aad: str = USER) -> dict:
    return activity(
        kind="invoke",
        connector=connector,
        name="adaptiveCard/action",
        value={"action": {"type": "Action.Execute", "verb": verb, "data": data}},
        **{"from": {"id": user, "name": "Marketer", "aadObjectId": aad}},
    )


ALERT_DATA = {"alert_id": _Alert.alert_id, "rule": _Alert.rule, "scope": _Alert.scope}


def with_bot(settings, warehouse, tmp_path, scenario, *, lang: str = "en") -> None:
    """Run `scenario(http, base, connector, state)` against a running bot that has sent
    the alert card (in `lang`) to conv-1."""

    async def run() -> None:
        state_path = str(tmp_path / "state.sqlite3")
        async with (
            running_bot(settings, warehouse, today=TODAY, state_path=state_path) as (
                base,
                connector,
                app,
            ),
            ClientSession() as http,
        ):
            await post(http, base, activity(kind="installationUpdate", connector=connector,
                                            action="add"))  # fmt: skip
            state: State = app[STATE]
            card = cards.alert_card(_Alert(), lang=lang)
            state.ledger.enqueue(_Alert.alert_id, ["conv-1"], card, _Alert.message_en)
            await scenario(http, base, connector, state)

    asyncio.run(run())


def test_not_useful_is_stored_with_its_rule_scope_conversation_and_person(
    settings, warehouse, tmp_path
):
    async def scenario(http, base, connector, state):
        status, body = await post(http, base, click(connector, "not_useful", ALERT_DATA))
        response = json.loads(body)
        assert status == 200
        assert response["type"] == "application/vnd.microsoft.activity.message"
        assert "traffic_drop" in response["value"] and "less sensitive" in response["value"]
        assert state.feedback.verdicts(_Alert.alert_id) == {USER: "not_useful"}

    with_bot(settings, warehouse, tmp_path, scenario)
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:  # after the bot stopped
        rows = db.execute(
            "SELECT alert_id, rule, scope, conversation_id, user_id, user_name, verdict, "
            "marked_at FROM alert_feedback"
        ).fetchall()
    [(alert_id, rule, scope, conversation, user, name, verdict, marked_at)] = rows
    assert (alert_id, rule, scope, conversation) == (
        _Alert.alert_id,
        "traffic_drop",
        "all",
        "conv-1",
    )
    assert (user, name, verdict) == (USER, "Marketer", "not_useful")
    assert marked_at > 0


def test_the_thanks_speaks_the_cards_language(settings, warehouse, tmp_path):
    async def scenario(http, base, connector, state):
        status, body = await post(http, base, click(connector, "not_useful", ALERT_DATA))
        assert status == 200
        assert json.loads(body)["value"] == (
            "알려 주셔서 고마워요. 이 규칙(traffic_drop)이 자주 도움이 안 되면 관리자가 "
            "민감도를 낮출 수 있어요."
        )

    with_bot(settings, warehouse, tmp_path, scenario, lang="ko")


def test_a_second_click_by_the_same_person_counts_once_and_another_persons_counts_too(
    settings, warehouse, tmp_path
):
    async def scenario(http, base, connector, state):
        for _ in range(2):
            status, _ = await post(http, base, click(connector, "not_useful", ALERT_DATA))
            assert status == 200
        other = click(connector, "not_useful", ALERT_DATA, user="user-2", aad="")
        assert (await post(http, base, other))[0] == 200  # no aadObjectId: the channel id
        assert state.feedback.verdicts(_Alert.alert_id) == {
            USER: "not_useful",
            "user-2": "not_useful",
        }
        [tally] = state.feedback.tally(0)
        assert (tally.not_useful, tally.marked) == (1, 1)  # one alert, however many marks

    with_bot(settings, warehouse, tmp_path, scenario)


def test_acknowledge_and_why_count_as_useful_and_a_later_not_useful_replaces_it(
    settings, warehouse, tmp_path
):
    async def scenario(http, base, connector, state):
        assert (await post(http, base, click(connector, "ack", ALERT_DATA)))[0] == 200
        assert state.feedback.verdicts(_Alert.alert_id) == {USER: "useful"}
        why = click(connector, "why", ALERT_DATA, user="user-2", aad="aad-2")
        assert (await post(http, base, why))[0] == 200
        assert state.feedback.verdicts(_Alert.alert_id) == {USER: "useful", "aad-2": "useful"}
        assert (await post(http, base, click(connector, "not_useful", ALERT_DATA)))[0] == 200
        assert state.feedback.verdicts(_Alert.alert_id)[USER] == "not_useful"
        # Acknowledging afterwards (to clear the card) does not take the verdict back.
        assert (await post(http, base, click(connector, "ack", ALERT_DATA)))[0] == 200
        assert state.feedback.verdicts(_Alert.alert_id)[USER] == "not_useful"

    with_bot(settings, warehouse, tmp_path, scenario)


@pytest.mark.parametrize(
    "data",
    [
        {"rule": "traffic_drop", "scope": "all"},  # no alert id
        {"alert_id": "", "rule": "traffic_drop", "scope": "all"},
        {"alert_id": "x1", "rule": "moon_phase", "scope": "all"},  # no such rule
        {"alert_id": "x1", "scope": "all"},
        {"alert_id": ["x1"], "rule": "traffic_drop"},
        "not an object",
    ],
    ids=["no-id", "empty-id", "unknown-rule", "no-rule", "id-not-text", "data-not-object"],
)
def test_a_malformed_not_useful_click_gets_400_and_the_bot_keeps_working(
    settings, warehouse, tmp_path, data
):
    async def scenario(http, base, connector, state):
        status, body = await post(http, base, click(connector, "not_useful", data))
        assert status == 400
        assert json.loads(body)["type"] == "application/vnd.microsoft.error"
        assert state.feedback.tally(0) == []
        status, _ = await post(http, base, click(connector, "not_useful", ALERT_DATA))
        assert status == 200

    with_bot(settings, warehouse, tmp_path, scenario)


def test_the_submit_fallback_of_not_useful_is_recorded_too(settings, warehouse, tmp_path):
    async def scenario(http, base, connector, state):
        before = len(connector.messages("conv-1"))  # the welcome
        message = activity(connector=connector, value={"verb": "not_useful", **ALERT_DATA})
        assert (await post(http, base, message))[0] in (200, 201)
        replies = await connector.wait_for("conv-1", before + 1)
        assert "traffic_drop" in replies[-1]["text"]
        assert state.feedback.verdicts(_Alert.alert_id) == {USER: "not_useful"}

    with_bot(settings, warehouse, tmp_path, scenario)


# --- The state ------------------------------------------------------------------------------


def mark(state: State, alert_id: str, verdict: str, *, user: str = "u1",
         rule: str = "traffic_drop", scope: str = "all") -> bool:  # fmt: skip
    return state.feedback.mark(alert_id, rule=rule, scope=scope, conversation_id="conv-1",
                               user_id=user, user_name="김민지", verdict=verdict)  # fmt: skip


def test_verdicts_survive_a_restart(tmp_path):
    first = State(tmp_path / "state.sqlite3")
    assert mark(first, "a1", "not_useful")
    first.close()
    second = State(tmp_path / "state.sqlite3")
    assert second.feedback.verdicts("a1") == {"u1": "not_useful"}
    assert not mark(second, "a1", "not_useful")  # still counted once


def test_a_state_database_from_before_gets_the_new_tables_on_open(tmp_path):
    path = tmp_path / "state.sqlite3"
    State(path).close()
    with sqlite3.connect(path) as db:  # as a release without the feature left it
        db.execute("DROP TABLE alert_feedback")
        db.execute("DROP TABLE alert_log")
    state = State(path)
    assert mark(state, "a1", "useful")
    assert state.feedback.verdicts("a1") == {"u1": "useful"}


# --- commercy alerts status -----------------------------------------------------------------


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("COMMERCY_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COMMERCY_TIMEZONE", "Asia/Seoul")
    monkeypatch.setenv("COMMERCY_STATE_URL", f"sqlite:///{tmp_path / 'state.sqlite3'}")
    return tmp_path


def raise_alerts(state: State, rule: str, scope: str, n: int) -> list[str]:
    ids = [f"{rule}-{scope}-{i}" for i in range(n)]
    state.alerts.record(
        [{"alert_id": i, "rule": rule, "scope": scope, "severity": "warning"} for i in ids]
    )
    return ids


def status(*args: str):
    return CliRunner().invoke(cli, ["alerts", "status", *args], obj={})


def test_an_episode_counts_once_however_many_checks_updated_its_card(place):
    state = State(place / "state.sqlite3")
    (first,) = raise_alerts(state, "traffic_drop", "store", 1)
    state.alerts.record(
        [{"alert_id": f"later-{i}", "episode_id": first, "rule": "traffic_drop",
          "scope": "store", "severity": "critical"} for i in range(5)]
    )  # fmt: skip
    state.close()
    result = status("--json")
    rules = {r["rule"]: r for r in json.loads(result.stdout)["rules"]}
    assert rules["traffic_drop"]["raised"] == 1


def test_alerts_status_json_counts_alerts_raised_useful_and_not_useful(place):
    state = State(place / "state.sqlite3")
    drops = raise_alerts(state, "traffic_drop", "all", 4)
    stuck = raise_alerts(state, "checkout_bottleneck", "step:/payment.html", 1)
    mark(state, drops[0], "not_useful")
    mark(state, drops[0], "not_useful", user="u2")
    mark(state, drops[1], "useful")
    mark(state, drops[1], "not_useful", user="u2")  # people disagree: counts in both
    mark(state, stuck[0], "useful", rule="checkout_bottleneck", scope="step:/payment.html")
    state.close()

    result = status("--json", "--days", "7")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["days"] == 7
    rules = {r["rule"]: r for r in report["rules"]}
    assert list(rules) == list(RULES)  # every rule, in the engine's order
    drop = rules["traffic_drop"]
    assert (drop["raised"], drop["useful"], drop["not_useful"], drop["marked"]) == (4, 1, 2, 2)
    assert drop["scopes"] == [
        {"scope": "all", "raised": 4, "useful": 1, "not_useful": 2, "marked": 2}
    ]
    assert drop["warning_score"] == Thresholds().traffic_drop.warning_score
    assert drop["sensitivity"] == "normal" and drop["hint"] is None
    assert rules["checkout_bottleneck"]["scopes"][0]["scope"] == "step:/payment.html"
    assert rules["checkout_bottleneck"]["useful"] == 1
    assert rules["bounce_spike"]["raised"] == 0 and rules["bounce_spike"]["scopes"] == []


def test_the_hint_appears_at_three_alerts_marked_not_useful(place):
    state = State(place / "state.sqlite3")
    drops = raise_alerts(state, "traffic_drop", "all", 6)
    for alert_id in drops[:2]:
        mark(state, alert_id, "not_useful")
    mark(state, drops[3], "useful")

    two = json.loads(status("--json").stdout)
    assert next(r for r in two["rules"] if r["rule"] == "traffic_drop")["hint"] is None

    mark(state, drops[2], "not_useful")
    state.close()
    three = json.loads(status("--json").stdout)
    hint = next(r for r in three["rules"] if r["rule"] == "traffic_drop")["hint"]
    default = Thresholds().traffic_drop.warning_score
    assert hint == {
        "setting": "COMMERCY_ALERT_SENSITIVITY",
        "value": '{"traffic_drop": "low"}',
        "warning_score": default + 1,
        "text": hint["text"],
    }
    text = status().stdout
    assert "not useful" in text and "traffic_drop" in text
    assert (
        "hint: traffic_drop: 3 of 4 marked alerts were not useful; to make it less sensitive "
        """set COMMERCY_ALERT_SENSITIVITY='{"traffic_drop": "low"}' """
        f"(warning_score {default:g} -> {default + 1:g}) and restart the bot"
    ) in text


def test_no_hint_when_most_marked_alerts_were_useful(place):
    state = State(place / "state.sqlite3")
    drops = raise_alerts(state, "traffic_drop", "all", 7)
    for alert_id in drops[:3]:
        mark(state, alert_id, "not_useful")
    for alert_id in drops[3:7]:
        mark(state, alert_id, "useful")
    state.close()
    report = json.loads(status("--json").stdout)
    assert next(r for r in report["rules"] if r["rule"] == "traffic_drop")["hint"] is None


def test_the_hint_for_a_rule_already_at_lowest_names_the_thresholds(place, monkeypatch):
    monkeypatch.setenv("COMMERCY_ALERT_SENSITIVITY", '{"traffic_drop": "lowest"}')
    state = State(place / "state.sqlite3")
    for alert_id in raise_alerts(state, "traffic_drop", "all", 3):
        mark(state, alert_id, "not_useful")
    state.close()
    report = json.loads(status("--json").stdout)
    drop = next(r for r in report["rules"] if r["rule"] == "traffic_drop")
    limits = Thresholds().traffic_drop
    assert drop["sensitivity"] == "lowest" and drop["warning_score"] == limits.warning_score + 2
    assert drop["hint"]["setting"] == "COMMERCY_ALERT_THRESHOLDS"
    assert json.loads(drop["hint"]["value"]) == {
        "traffic_drop.warning_score": limits.warning_score + 3,
        "traffic_drop.critical_score": limits.critical_score + 3,
    }


def test_alerts_status_on_an_unreadable_state_is_one_line_and_exit_2(place):
    (place / "state.sqlite3").write_bytes(b"not a database " * 1000)
    result = status()
    assert result.exit_code == 2 and result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("commercy: cannot read the state database")


# --- COMMERCY_ALERT_SENSITIVITY -------------------------------------------------------------


def test_low_sensitivity_raises_the_rules_effective_scores_by_one(monkeypatch):
    monkeypatch.setenv("COMMERCY_ALERT_SENSITIVITY", '{"traffic_spike": "low"}')
    effective, default = load_settings(None).thresholds, Thresholds()
    assert effective.traffic_spike.warning_score == default.traffic_spike.warning_score + 1
    assert effective.traffic_spike.critical_score == default.traffic_spike.critical_score + 1
    assert effective.traffic_drop == default.traffic_drop  # other rules untouched


def test_lowest_raises_by_two_high_lowers_by_half_and_thresholds_win(monkeypatch):
    monkeypatch.setenv(
        "COMMERCY_ALERT_SENSITIVITY",
        '{"traffic_drop": "lowest", "bounce_spike": "high", "revenue_drop": "low"}',
    )
    monkeypatch.setenv("COMMERCY_ALERT_THRESHOLDS", '{"revenue_drop.warning_score": 3.5}')
    effective, default = load_settings(None).thresholds, Thresholds()
    assert effective.traffic_drop.warning_score == default.traffic_drop.warning_score + 2
    assert effective.bounce_spike.warning_score == default.bounce_spike.warning_score - 0.5
    assert effective.bounce_spike.critical_score == default.bounce_spike.critical_score - 0.5
    assert effective.revenue_drop.warning_score == 3.5  # the exact value is applied last
    assert effective.revenue_drop.critical_score == default.revenue_drop.critical_score + 1


def test_high_never_goes_below_the_floor_nor_above_where_it_was_and_keeps_the_order():
    assert _shifted(0.7, 0.8, "high") == (0.5, 0.5)
    assert _shifted(0.3, 2.0, "high") == (0.3, 1.5)
    warning, critical = _shifted(4.0, 4.2, "high")
    assert 0.5 <= warning <= critical


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('{"traffic_spike": "loud"}', "traffic_spike: unknown sensitivity 'loud'"),
        ('{"traffic_spikes": "low"}', "unknown alert rule 'traffic_spikes'"),
        ('["traffic_spike"]', "must be a JSON object"),
        ("low", "must be a JSON object"),
    ],
)
def test_a_bad_sensitivity_stops_with_one_line_and_exit_2(place, monkeypatch, value, expected):
    monkeypatch.setenv("COMMERCY_ALERT_SENSITIVITY", value)
    with pytest.raises(SettingsError) as error:
        load_settings(None)
    assert str(error.value).startswith(f"COMMERCY_ALERT_SENSITIVITY={value!r}: ")
    assert expected in str(error.value)
    result = status()
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [f"commercy: {error.value}"]


def test_a_sensitivity_an_override_contradicts_stops_naming_both_settings(place, monkeypatch):
    monkeypatch.setenv("COMMERCY_ALERT_SENSITIVITY", '{"traffic_drop": "lowest"}')
    monkeypatch.setenv("COMMERCY_ALERT_THRESHOLDS", '{"traffic_drop.critical_score": 4}')
    with pytest.raises(
        SettingsError,
        match="COMMERCY_ALERT_SENSITIVITY with "
        "COMMERCY_ALERT_THRESHOLDS: need 0 < warning_score <= critical_score",
    ):
        load_settings(None)  # fmt: skip
