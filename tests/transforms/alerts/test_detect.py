"""Which clocks need an alert, and who gets it (pure; hand-made clocks)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from transforms.alerts import RoutingError, deliveries, escalate, load_routing, new_alerts
from transforms.alerts.config import ROUTING_PATH

AS_OF = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)
WINDOW = timedelta(hours=48)


def clock(case_id: str, state: str, due_at: datetime | None, **extra: object) -> dict:
    return {
        "case_id": case_id,
        "sla_policy_id": extra.get("policy", "close_within_24h"),
        "cycle_number": extra.get("cycle", 1),
        "sla_state": state,
        "directorate_id": extra.get("directorate", "retail"),
        "department_id": "stores_moscow",
        "manager_id": extra.get("manager", "m_orlov"),
        "due_at": due_at,
        "at_risk_at": extra.get("at_risk_at"),
        "is_paused": extra.get("paused", False),
    }


def clocks(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(
        list(rows),
        schema_overrides={
            "due_at": pl.Datetime("us", "UTC"),
            "at_risk_at": pl.Datetime("us", "UTC"),
            "cycle_number": pl.Int32,
        },
    )


NO_ALERTS = pl.DataFrame(
    schema={"case_id": pl.String, "sla_policy_id": pl.String, "cycle_number": pl.Int32, "transition": pl.String}
)


@pytest.mark.parametrize(
    ("state", "due_in", "paused", "expected"),
    [
        ("open_ok", timedelta(minutes=-1), False, "open_breached"),  # due passed since the build
        ("at_risk", timedelta(minutes=-1), False, "open_breached"),
        ("open_ok", timedelta(minutes=1), False, "open_ok"),
        ("open_ok", timedelta(minutes=-1), True, "open_ok"),  # waiting for the customer: the clock stands
        ("achieved", timedelta(minutes=-60), False, "achieved"),
    ],
    ids=["ok-overdue", "at-risk-overdue", "ok-not-due", "paused", "achieved"],
)
def test_escalate_moves_only_running_overdue_clocks(state: str, due_in: timedelta, paused: bool, expected: str) -> None:
    got = escalate(clocks(clock("c", state, AS_OF + due_in, paused=paused)), as_of=AS_OF)
    assert got["sla_state"].to_list() == [expected]


@pytest.mark.parametrize(
    ("risk_in", "due_in", "paused", "expected"),
    [
        (timedelta(minutes=-1), timedelta(minutes=11), False, "at_risk"),  # the build saw it open_ok
        # at_risk_at is the last instant with the share still left (docs/sla.md): at risk only after it
        (timedelta(0), timedelta(minutes=12), False, "open_ok"),
        (timedelta(seconds=-1), timedelta(minutes=12), False, "at_risk"),
        (timedelta(minutes=1), timedelta(minutes=13), False, "open_ok"),
        (timedelta(minutes=-1), timedelta(minutes=11), True, "open_ok"),  # paused: its moments move later
        (timedelta(minutes=-13), timedelta(minutes=-1), False, "open_breached"),  # both passed: the breach
    ],
    ids=["risk-passed", "risk-now", "risk-a-second-ago", "risk-ahead", "paused", "both-passed"],
)
def test_escalate_turns_an_open_clock_at_risk_at_its_moment(
    risk_in: timedelta, due_in: timedelta, paused: bool, expected: str
) -> None:
    row = clock("c", "open_ok", AS_OF + due_in, at_risk_at=AS_OF + risk_in, paused=paused)
    assert escalate(clocks(row), as_of=AS_OF)["sla_state"].to_list() == [expected]


MSK = ZoneInfo("Europe/Moscow")


@pytest.mark.parametrize(
    ("as_of", "expected", "transitions"),
    [
        pytest.param(datetime(2026, 10, 3, 12, tzinfo=MSK), "at_risk", ["at_risk"], id="saturday"),
        pytest.param(datetime(2026, 10, 5, 9, tzinfo=MSK), "at_risk", ["at_risk"], id="monday-09:00"),
        pytest.param(datetime(2026, 10, 5, 9, 0, 1, tzinfo=MSK), "open_breached", ["breached"], id="monday-09:00:01"),
    ],
)
def test_a_clock_due_monday_09_is_not_alerted_as_breached_over_the_weekend(
    as_of: datetime, expected: str, transitions: list[str]
) -> None:
    """docs/sla.md's example: one working hour from Friday 17:00 Moscow, used up at 18:00, due Monday 09:00.
    The build (Friday 17:30) saw it open_ok; the watch moves it by the build's moments only."""
    friday = clock(
        "c",
        "open_ok",
        datetime(2026, 10, 5, 9, tzinfo=MSK),
        at_risk_at=datetime(2026, 10, 2, 17, 48, tzinfo=MSK),
        policy="reaction_1h_office",
    )
    as_of = as_of.astimezone(UTC)
    escalated = escalate(clocks(friday), as_of=as_of)
    assert escalated["sla_state"].to_list() == [expected]
    alerts = new_alerts(escalated, NO_ALERTS, as_of=as_of, window=WINDOW)
    assert alerts["transition"].to_list() == transitions


def test_alerting_states_become_transitions_once() -> None:
    given = clocks(
        clock("c1", "at_risk", AS_OF + timedelta(hours=2)),
        clock("c2", "open_breached", AS_OF - timedelta(hours=1)),
        clock("c3", "breached", AS_OF - timedelta(hours=47)),  # achieved late, within the window
        clock("c4", "breached", AS_OF - timedelta(hours=49)),  # older than the window: history
        clock("c5", "open_ok", AS_OF + timedelta(hours=5)),
        clock("c6", "achieved", AS_OF - timedelta(hours=1)),
        clock("c7", "not_started", None),
        clock("c2", "open_breached", AS_OF - timedelta(hours=1), cycle=2),  # a reopen's cycle is its own
    )
    alerts = new_alerts(given, NO_ALERTS, as_of=AS_OF, window=WINDOW)
    assert alerts.select("alert_id").to_series().to_list() == [
        "c3|close_within_24h|1|breached",
        "c2|close_within_24h|1|breached",
        "c2|close_within_24h|2|breached",
        "c1|close_within_24h|1|at_risk",
    ]
    assert set(alerts["detected_at"]) == {AS_OF}


def test_a_transition_in_the_log_is_not_alerted_again_but_the_next_one_is() -> None:
    at_risk_before = pl.DataFrame(
        {"case_id": ["c1"], "sla_policy_id": ["close_within_24h"], "cycle_number": [1], "transition": ["at_risk"]},
        schema_overrides={"cycle_number": pl.Int32},
    )
    still_at_risk = new_alerts(
        clocks(clock("c1", "at_risk", AS_OF + timedelta(hours=1))), at_risk_before, as_of=AS_OF, window=WINDOW
    )
    now_breached = new_alerts(
        clocks(clock("c1", "open_breached", AS_OF - timedelta(minutes=5))), at_risk_before, as_of=AS_OF, window=WINDOW
    )
    assert still_at_risk.is_empty()
    assert now_breached["alert_id"].to_list() == ["c1|close_within_24h|1|breached"]


def test_routes_most_specific_first(tmp_path: Path) -> None:
    routing_file = tmp_path / "routing.yaml"
    routing_file.write_text(
        """
smtp: {host: localhost, sender: a@b.c}
webhooks: [{id: desk, url: "http://127.0.0.1:1/x"}, {id: retail_chat, url: "http://127.0.0.1:1/y"}]
routes:
  - {default: true, emails: [all@b.c]}
  - {directorate_id: retail, webhooks: [retail_chat], emails: [retail@b.c]}
  - {department_id: delivery, webhooks: [desk]}
  - {manager_id: m_orlov, webhooks: [desk, retail_chat], emails: [orlov@b.c, retail@b.c]}
""",
        encoding="utf-8",
    )
    routing = load_routing(routing_file)
    given = clocks(
        clock("orlov", "at_risk", AS_OF, manager="m_orlov"),
        clock("belov", "at_risk", AS_OF, manager="m_belov"),
        clock("other", "at_risk", AS_OF, manager="m_x", directorate="finance"),
    ).with_columns(
        pl.when(pl.col("case_id") == "other").then(pl.lit("delivery")).otherwise("department_id").alias("department_id")
    )
    sends = deliveries(new_alerts(given, NO_ALERTS, as_of=AS_OF, window=WINDOW), routing)
    got = sorted((a.split("|")[0], c, t) for a, c, t in sends.iter_rows())
    assert got == [
        ("belov", "email", "retail@b.c"),
        ("belov", "webhook", "retail_chat"),
        ("orlov", "email", "orlov@b.c,retail@b.c"),
        ("orlov", "webhook", "desk"),
        ("orlov", "webhook", "retail_chat"),
        ("other", "webhook", "desk"),  # the department's route: webhook only
    ]


def test_the_projects_routing_loads_and_names_its_secrets_by_variable() -> None:
    routing = load_routing(ROUTING_PATH)
    assert routing.secret_names() == ("OTKLIK_ALERT_WEBHOOK_TOKEN",)


def test_a_secret_written_into_the_routing_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text("smtp: {host: h, sender: a@b.c, password: hunter2}\nroutes: [{default: true, emails: [a@b.c]}]")
    with pytest.raises(RoutingError, match=r"smtp\.password: Extra inputs are not permitted"):
        load_routing(path)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("routes: [{directorate_id: retail, emails: [a@b.c]}]", "a default route is required"),
        ("routes: [{default: true, webhooks: [nope]}]", "unknown webhooks ['nope']"),
        ("routes: [{default: true, emails: [a@b.c]}]", "sends e-mail but there is no smtp section"),
        ("routes: [{default: true, manager_id: m, emails: [a@b.c]}]", "exactly one of"),
        ("routez: []", "routes: Field required"),
    ],
    ids=["no-default", "unknown-webhook", "no-smtp", "two-matches", "typo"],
)
def test_bad_routing_is_one_clear_error(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(RoutingError) as error:
        load_routing(path)
    assert message in str(error.value) and "\n" not in str(error.value)
