import pytest

from transforms.org import load_org
from transforms.taxonomy import TAXONOMY_PATH, load_feedback_types, parse_feedback_types, taxonomy_version

HEADER = (
    "feedback_type_id,name_ru,name_en,default_kind,directorate_id,department_id,sla_class,valid_from,valid_to,"
    "hints_ru,hints_en"
)
GOOD = "delivery_x,Доставка,Delivery,complaint,logistics,delivery,standard,2020-01-01,,курьер|опоздать,courier"


def _parse(*rows: str):
    return parse_feedback_types("\n".join([HEADER, *rows]), load_org())


def test_the_shipped_taxonomy_covers_the_retailers_processes() -> None:
    types = load_feedback_types()
    assert 130 <= len(types) <= 150
    directorates = {t.directorate_id for t in types}
    assert directorates == {d.id for d in load_org().directorates}
    assert {t.default_kind for t in types} >= {"complaint", "wish", "thanks", "question"}
    assert all(t.hints_ru and t.hints_en for t in types)


def test_hints_are_split_and_open_validity_is_none() -> None:
    (t,) = _parse(GOOD)
    assert t.hints_ru == ("курьер", "опоздать") and t.hints_en == ("courier",)
    assert t.valid_to is None and t.label == "Доставка"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (GOOD.replace("complaint", "rant"), "line 2: default_kind"),
        (GOOD.replace("standard", "asap"), "line 2: sla_class"),
        (GOOD.replace(",,", ",2019-01-01,"), "valid_to 2019-01-01 is before"),
        (GOOD.replace("курьер|опоздать,courier", ","), "at least one matching hint"),
        (GOOD.replace("delivery_x", "Delivery X"), "line 2: feedback_type_id"),
        (GOOD.replace("logistics", "marketing"), "unknown directorate 'marketing'"),
        (GOOD.replace(",delivery,", ",website,"), "department website is not in logistics"),
        (GOOD.replace(",delivery,", ",nowhere,"), "unknown department 'nowhere'"),
        (GOOD.replace("delivery_x", "unclassified"), "reserved"),
    ],
    ids=["kind", "sla-class", "dates", "no-hints", "code", "directorate", "department", "no-department", "reserved"],
)
def test_bad_rows_are_refused_with_a_clear_message(row: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _parse(row)


def test_duplicates_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate feedback_type_id in the taxonomy: delivery_x"):
        _parse(GOOD, GOOD)


def test_version_is_a_content_hash() -> None:
    types = parse_feedback_types(TAXONOMY_PATH.read_text(encoding="utf-8"))
    assert taxonomy_version(types) == taxonomy_version(load_feedback_types())
    assert taxonomy_version(types) != taxonomy_version(_parse(GOOD))
