import polars as pl
import pytest

from transforms.channels import get_channel, load_channels, parse_channels
from transforms.config_errors import ConfigError

MINIMAL = """
channels:
  - id: shop_chat
    display_name: Chat
    format: jsonl
    fields: {source_item_id: id, received_at: ts}
"""


def test_registry_loads_and_ids_are_unique() -> None:
    ids = [c.id for c in load_channels()]
    assert len(ids) == len(set(ids))
    assert get_channel("web_form").timezone == "Europe/Moscow"


def test_a_minimal_entry_is_enough_to_add_a_channel() -> None:
    (channel,) = parse_channels(MINIMAL)
    assert channel.entity == "feedback" and channel.enabled and channel.schedule_group == "daily"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("format: jsonl", "format: jsonl\n    colour: red"), "Extra inputs are not permitted"),
        (("format: jsonl", "format: parquet"), "format"),
        (("fields: {source_item_id: id, received_at: ts}", "fields: {source_item_id: id}"), "received_at"),
        (
            (
                "fields: {source_item_id: id, received_at: ts}",
                "fields: {source_item_id: id, received_at: ts, x: y}",
            ),
            "x",
        ),
        (("display_name: Chat", "display_name: Chat\n    timezone: Mars/Olympus"), "unknown timezone"),
        (("id: shop_chat", "id: Shop Chat"), "pattern"),
    ],
    ids=[
        "unknown-key",
        "unknown-format",
        "missing-required-field",
        "unmappable-field",
        "bad-timezone",
        "bad-id",
    ],
)
def test_a_broken_entry_fails_at_load_naming_the_problem(change: tuple[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_channels(MINIMAL.replace(*change))


def test_duplicate_ids_are_rejected() -> None:
    entry = MINIMAL.split("channels:\n", 1)[1]
    with pytest.raises(ValueError, match="duplicate channel ids"):
        parse_channels("channels:\n" + entry + entry)


def test_unknown_channel_lookup_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="web_form"):
        get_channel("fax")


# --- audience -----------------------------------------------------------------------------------

SURVEY = """
channels:
  - id: staff_pulse
    display_name: Pulse
    format: xlsx
    audience: employee
    fields: {source_item_id: ID, received_at: Date, score: Score, body_text: Comment, segment: Team}
    score_scale: "0-10"
    question_type: enps
"""


def test_audience_is_customer_unless_said_and_employees_answer_the_pulse_survey() -> None:
    (channel,) = parse_channels(MINIMAL)
    assert channel.audience == "customer"
    (pulse,) = parse_channels(SURVEY)
    assert pulse.audience == "employee"
    assert get_channel("employee_pulse_survey").audience == "employee"
    employees = {c.id for c in load_channels() if c.audience == "employee"}
    assert employees == {"employee_pulse_survey"}


@pytest.mark.parametrize(
    "field",
    ["customer_ref", "contact_phone", "contact_email", "contact_requested", "customer_name", "order_ref",
     "store_id", "case_ref"],
)  # fmt: skip
def test_an_employee_channel_may_not_map_a_customer_field(field: str) -> None:
    broken = SURVEY.replace("segment: Team}", f"segment: Team, {field}: X}}")
    with pytest.raises(ConfigError) as failure:
        parse_channels(broken)
    (line,) = [line for line in str(failure.value).splitlines() if "staff_pulse" in line]
    assert f"channel staff_pulse: audience employee may not map customer field {field} " in line


def test_audience_is_one_of_two_and_employee_is_for_feedback_only() -> None:
    with pytest.raises(ConfigError, match="audience"):
        parse_channels(SURVEY.replace("audience: employee", "audience: partner"))
    events = """
channels:
  - id: hr_events
    display_name: HR
    entity: case_event
    audience: employee
    format: csv
    fields: {case_id: id, event_type: e, event_at: at}
"""
    with pytest.raises(ConfigError, match="hr_events: audience employee is for feedback channels only"):
        parse_channels(events)


def test_the_channels_config_table_carries_the_audience() -> None:
    from transforms.config_tables import channels_frame

    frame = channels_frame(load_channels())
    assert frame.schema["audience"] == pl.String
    audience = dict(zip(frame["channel_id"], frame["audience"], strict=True))
    assert audience["employee_pulse_survey"] == "employee"
    assert audience["web_form"] == audience["self_service_sessions"] == "customer"
    assert set(audience.values()) == {"customer", "employee"}


# --- the final survey and the self-service log --------------------------------------------------


def test_one_final_survey_channel_carries_both_answers() -> None:
    ids = {c.id for c in load_channels()}
    assert "ctl_final_survey" in ids and "ctl_final_survey_solved" not in ids
    survey = get_channel("ctl_final_survey")
    assert (survey.score_scale, survey.question_type) == ("0-10", "tnps")
    assert survey.fields["score"] == "tnps" and survey.fields["issue_solved"] == "solved"
    assert survey.fields["case_ref"] == "case_id"


def test_self_service_sessions_map_the_outcome_and_have_no_score() -> None:
    sessions = get_channel("self_service_sessions")
    assert (sessions.format, sessions.schedule_group) == ("jsonl", "hourly")
    assert (sessions.score_scale, sessions.question_type, sessions.audience) == ("none", "none", "customer")
    assert sessions.fields == {
        "source_item_id": "session_id",
        "received_at": "started_at",
        "body_text": "question",
        "customer_ref": "customer_id",
        "self_service_outcome": "outcome",
    }


# --- load errors name the file and the channel -------------------------------------------------------


def test_a_load_error_names_the_file_and_the_channel_id_not_its_position(tmp_path) -> None:
    from transforms.channels import REGISTRY_PATH
    from transforms.config_errors import ConfigError

    text = REGISTRY_PATH.read_text(encoding="utf-8")
    entry = "  - id: vk_messages\n"
    assert entry in text
    start = text.index(entry)
    at = text.index("    format: ", start)
    end = text.index("\n", at)
    broken = tmp_path / "channels.yaml"
    broken.write_text(text[:at] + "    format: xml" + text[end:], encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_channels(broken)
    message = str(caught.value)  # the list of formats grows with the readers
    assert message.startswith(f"{broken}: channel vk_messages: format: Input should be 'csv', 'json_pages', ")
    assert message.endswith(" (got 'xml')") and "\n" not in message
