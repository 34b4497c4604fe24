from datetime import date

import pytest

from transforms.org import ORG_PATH, load_org, parse_org


def _with_store(store_yaml: str) -> str:
    text = ORG_PATH.read_text(encoding="utf-8")
    return text.replace("stores:\n", "stores:\n" + store_yaml, 1)


def test_a_store_manager_is_the_one_of_the_day() -> None:
    store = next(s for s in load_org().stores if s.id == "EKB-001")
    assert store.manager_on(date(2024, 12, 31)) == "m_belov"
    assert store.manager_on(date(2025, 1, 1)) == "m_gromova"
    assert store.manager_on(date(2019, 1, 1)) == "m_gromova"  # before the history: the current manager


def test_departments_carry_validity() -> None:
    org = load_org()
    merchandising = next(dep for d in org.directorates for dep in d.departments if dep.id == "merchandising")
    assert not merchandising.valid_on(date(2023, 12, 31)) and merchandising.valid_on(date(2024, 1, 1))


@pytest.mark.parametrize(
    ("store", "message"),
    [
        (
            "  - {id: X-1, name: X, manager_id: m_orlov, manager_history: "
            "[{manager_id: m_belov, valid_from: 2020-01-01}, {manager_id: m_orlov, valid_from: 2021-01-01}]}\n",
            "overlap",
        ),
        (
            "  - {id: X-1, name: X, manager_id: m_orlov, "
            "manager_history: [{manager_id: m_belov, valid_from: 2020-01-01}]}\n",
            "must be the last manager",
        ),
        (
            "  - {id: X-1, name: X, manager_id: m_orlov, valid_from: 2021-01-01, valid_to: 2020-01-01}\n",
            "before valid_from",
        ),
        ("  - {id: X-1, name: X, manager_id: m_nobody}\n", "unknown manager 'm_nobody'"),
        ("  - {id: MSK-001, name: X, manager_id: m_orlov}\n", "duplicate store ids"),
    ],
    ids=["overlap", "current-not-last", "dates", "unknown-manager", "duplicate"],
)
def test_bad_validity_is_refused(store: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_org(_with_store(store))
