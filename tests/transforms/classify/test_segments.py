"""Long texts are read sentence by sentence, with the conclusion and what follows «но» weighing more."""

import numpy as np
import polars as pl
import pytest

from transforms.classify.kind_decision import decide_kind
from transforms.classify.segments import may_be_long, split_segments, weighted_mean


def test_sentences_and_contrast_clauses_are_segments_with_weights() -> None:
    text = "Купил в марте. Двигатель 2.5 литра! Хотя цена высокая, Но сервис ужасный. Больше никогда"
    segments = split_segments(pl.Series([text, "Спасибо!", None]))
    rows = segments.filter(pl.col("row") == 0)
    assert rows["segment"].to_list() == [
        "Купил в марте.",
        "Двигатель 2.5 литра!",  # a decimal point is not a sentence end
        "Хотя цена высокая",
        "Но сервис ужасный.",
        "Больше никогда",
    ]
    # first 1.5; a concession 0.5; after «но» 2; the conclusion 2
    assert rows["weight"].to_list() == [1.5, 1.0, 0.5, 2.0, 2.0]
    assert segments.filter(pl.col("row") == 1)["segment"].to_list() == ["Спасибо!"]
    assert segments.filter(pl.col("row") == 2).height == 0


def test_only_texts_with_enough_breaks_or_a_contrast_are_candidates() -> None:
    texts = pl.Series(["Спасибо!", "Хорошо, но дорого", "Раз. Два. Три.", None, "Хотя вежливо, долго"])
    assert may_be_long(texts).to_list() == [False, True, True, False, True]


def test_a_concession_ends_at_its_comma() -> None:
    segments = split_segments(pl.Series(["Хотя персонал вежливый, заказ так и не привезли. Жаль"]))
    assert segments["segment"].to_list() == ["Хотя персонал вежливый", "заказ так и не привезли.", "Жаль"]
    assert segments["weight"].to_list() == [0.75, 1.0, 2.0]  # first 1.5 x concession 0.5


def test_weighted_mean_per_text() -> None:
    p = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    out = weighted_mean(np.array([0, 0, 1]), p, np.array([1.0, 3.0, 1.0]), 2)
    assert out.tolist() == [[0.25, 0.75], [0.5, 0.5]]


KINDS = ("complaint", "other", "question", "thanks", "wish")
SENTIMENTS = ("negative", "neutral", "positive")


@pytest.mark.parametrize(
    ("kind_p", "sentiment_p", "expected"),
    [
        ([0.4, 0.1, 0.1, 0.35, 0.05], [0.1, 0.1, 0.8], "thanks"),  # the side comes from sentiment too
        ([0.35, 0.4, 0.1, 0.1, 0.05], [0.8, 0.1, 0.1], "complaint"),  # opinionated: not "other"
        ([0.1, 0.6, 0.1, 0.1, 0.1], [0.3, 0.5, 0.2], "other"),  # no clear opinion: stays other
        ([0.2, 0.1, 0.6, 0.05, 0.05], [0.9, 0.05, 0.05], "question"),  # an angry question is a question
        ([0.1, 0.1, 0.1, 0.1, 0.6], [0.1, 0.1, 0.8], "wish"),
    ],
)
def test_kind_decision(kind_p: list[float], sentiment_p: list[float], expected: str) -> None:
    labels, confidence = decide_kind(np.array([kind_p]), KINDS, np.array([sentiment_p]), SENTIMENTS)
    assert labels == [expected]
    assert 0 < confidence[0] <= 1


def test_a_text_moved_out_of_other_on_sentiment_alone_is_not_sure() -> None:
    labels, confidence = decide_kind(
        np.array([[0.3, 0.5, 0.1, 0.05, 0.05]]), KINDS, np.array([[0.9, 0.05, 0.05]]), SENTIMENTS
    )
    assert labels == ["complaint"] and confidence[0] < 0.6  # below the review threshold


def test_heads_without_the_polar_classes_decide_as_before() -> None:
    labels, confidence = decide_kind(np.array([[0.3, 0.7]]), ("other", "wish"), np.array([[0.9, 0.1]]), ("a", "b"))
    assert labels == ["wish"] and confidence.tolist() == [0.7]


# The default model on texts as they really come (none of these is in its training data).
LONG_COMPLAINT = (
    "Добрый день. Пользуюсь вашим банком уже пять лет, обычно всё было нормально, приложение удобное.\n\n"
    "В прошлом месяце подал заявку на кредит, менеджер обещал перезвонить через два дня. "
    "Прошло три недели. Звонил на горячую линию четыре раза, каждый раз новый оператор и новая история. "
    "Деньги за страховку при этом списали. Больше никогда не буду с вами связываться."
)
LONG_THANKS = (
    "Хочу рассказать о поездке. Заказывали столик заранее, приехали в восемь вечера. "
    "Зал был полон, ждать пришлось минут десять. Сначала думали, что вечер испорчен. "
    "Но официант принёс комплимент от кухни, всё объяснил, и дальше всё было прекрасно. "
    "Спасибо огромное, обязательно придём ещё!"
)


@pytest.fixture(scope="module")
def classifier():
    from transforms.classify.engine import default_classifier

    return default_classifier()


def test_a_long_complaint_that_opens_politely_is_a_complaint(classifier) -> None:
    out = classifier.predict(pl.Series([LONG_COMPLAINT, LONG_THANKS]))
    assert out.select("kind", "sentiment").rows() == [("complaint", "negative"), ("thanks", "positive")]


def test_negation_and_contrast(classifier) -> None:
    out = classifier.predict(
        pl.Series(
            [
                "Доставка не понравилась, курьер не позвонил",
                "Цена высокая, но качество отличное, спасибо",
                "Хотя персонал вежливый, заказ так и не привезли",
                "ОЧЕНЬ ПЛОХО!!! больше никогда",
                "спс, всё супер 👍",
            ]
        )
    )
    assert out["sentiment"].to_list() == ["negative", "positive", "negative", "negative", "positive"]
    assert out["kind"].to_list() == ["complaint", "thanks", "complaint", "complaint", "thanks"]
