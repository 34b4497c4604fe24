"""Feedback items before they take a channel's shape: when, who, what about, what was said.

Each channel has a profile: its share of the month's volume, its mix of kinds and topics, its
hours (a call centre sleeps at night, a store's complaint book too), and how people type in it.
Shares are weights (normalized over the registry's feedback channels): the web form, the NPS
e-mail survey and the mailbox carry most of the retailer's 25,000 items a month, the app stores
and the account managers' notes a few dozen each. Channels without a score have no "none" kind:
an item with neither text nor score would be rejected as empty.
"""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate

from otklik.sample import texts
from otklik.sample.model import Context, Item, Month
from otklik.sample.people import Customer, pick

# Relative volume per hour of the day (Moscow time), midnight first.
# fmt: off
ALL_DAY = (0.25, 0.15, 0.1, 0.08, 0.08, 0.12, 0.3, 0.6, 1.0, 1.3, 1.5, 1.6,
           1.6, 1.5, 1.5, 1.5, 1.5, 1.5, 1.6, 1.7, 1.7, 1.5, 1.1, 0.6)
CALL_CENTRE_HOURS = (0, 0, 0, 0, 0, 0, 0, 0, 0.8, 1.3, 1.5, 1.5,
                     1.4, 1.3, 1.4, 1.4, 1.3, 1.2, 1.1, 1.0, 0.8, 0.5, 0, 0)
STORE_HOURS = (0, 0, 0, 0, 0, 0, 0, 0, 0.4, 0.8, 1.1, 1.3,
               1.4, 1.4, 1.4, 1.5, 1.6, 1.7, 1.7, 1.5, 1.2, 0.8, 0.2, 0)
# The website's and the app's own widgets: people shop and look for answers after work.
WEB_EVENING = (0.35, 0.2, 0.1, 0.08, 0.08, 0.1, 0.25, 0.5, 0.8, 1.0, 1.1, 1.2,
               1.3, 1.2, 1.2, 1.2, 1.3, 1.4, 1.7, 2.0, 2.2, 2.2, 1.8, 0.9)
# fmt: on
# Monday first. Online is quieter on Sundays; DIY stores are busiest at weekends.
ONLINE_WEEK = (1.15, 1.1, 1.05, 1.0, 0.95, 0.8, 0.6)
STORE_WEEK = (0.85, 0.85, 0.85, 0.9, 1.0, 1.35, 1.15)


@dataclass(frozen=True)
class Profile:
    share: float  # of the month's feedback items
    kinds: dict[str, float]  # kind -> weight; "none" = a score without a comment
    topics: dict[str, float]
    hours: tuple[float, ...] = ALL_DAY
    week: tuple[float, ...] = ONLINE_WEEK
    colloquial: float = 0.0  # share of texts typed casually (lower case, typos)
    greeting: float = 0.0  # share of texts starting "Здравствуйте!"
    pii_in_text: float = 0.0  # share of texts with a phone or an e-mail inside
    html: float = 0.0
    formula: float = 0.0
    contact_request: dict[str, float] = field(default_factory=dict)  # kind -> probability


PROFILES: dict[str, Profile] = {
    "web_form": Profile(
        share=0.16,
        kinds={"complaint": 45, "question": 30, "wish": 12, "thanks": 13},
        topics={
            "website": 20,
            "delivery": 22,
            "store": 12,
            "payment": 10,
            "returns": 13,
            "app": 5,
            "corporate": 8,
            "call_centre": 10,
        },
        colloquial=0.3,
        greeting=0.35,
        pii_in_text=0.05,
        html=0.006,
        formula=0.003,
        contact_request={"complaint": 0.35, "question": 0.3, "wish": 0.05, "thanks": 0.03},
    ),
    "nps_email_survey": Profile(
        share=0.135,
        kinds={"none": 35, "thanks": 30, "complaint": 17, "wish": 13, "question": 5},
        topics={
            "store": 32,
            "delivery": 24,
            "website": 14,
            "app": 7,
            "payment": 9,
            "returns": 7,
            "call_centre": 5,
            "corporate": 2,
        },
        colloquial=0.25,
        pii_in_text=0.03,
        formula=0.003,
        contact_request={"complaint": 0.35, "question": 0.25, "wish": 0.05, "thanks": 0.02, "none": 0.05},
    ),
    "email_inbox": Profile(
        share=0.123,
        kinds={"complaint": 45, "question": 35, "wish": 8, "thanks": 12},
        topics={
            "delivery": 22,
            "returns": 18,
            "corporate": 14,
            "payment": 12,
            "store": 12,
            "website": 10,
            "call_centre": 7,
            "app": 5,
        },
        colloquial=0.1,
        greeting=0.0,
        pii_in_text=0.04,
    ),
    "ivr_post_call_survey": Profile(
        share=0.074,
        kinds={"none": 15, "complaint": 30, "question": 22, "thanks": 28, "wish": 5},
        topics={"call_centre": 40, "delivery": 25, "returns": 15, "payment": 10, "store": 10},
        hours=CALL_CENTRE_HOURS,
    ),
    "telegram_bot": Profile(
        share=0.055,
        kinds={"question": 45, "complaint": 35, "thanks": 10, "wish": 6, "none": 4},
        topics={
            "delivery": 30,
            "website": 14,
            "app": 15,
            "store": 15,
            "returns": 10,
            "payment": 10,
            "call_centre": 6,
        },
        colloquial=0.6,
        greeting=0.15,
        pii_in_text=0.06,
    ),
    "inapp_popup_rating": Profile(
        share=0.037,
        kinds={"none": 40, "complaint": 22, "wish": 13, "thanks": 20, "question": 5},
        topics={"website": 65, "app": 35},
        colloquial=0.4,
    ),
    "yandex_market_reviews": Profile(
        share=0.025,
        kinds={"thanks": 55, "complaint": 30, "wish": 5, "question": 3, "none": 7},
        topics={"delivery": 35, "returns": 35, "website": 30},
        colloquial=0.2,
    ),
    "store_complaint_book": Profile(
        share=0.006,
        kinds={"complaint": 70, "wish": 15, "thanks": 12, "question": 3},
        topics={"store": 80, "returns": 10, "payment": 6, "delivery": 4},
        hours=STORE_HOURS,
        week=STORE_WEEK,
        colloquial=0.15,
    ),
    "ctl_final_survey": Profile(
        share=0.025,  # one item per response (both answers); the responses come from closed cases
        kinds={"none": 45, "thanks": 35, "complaint": 15, "wish": 5},
        topics={topic: 1.0 for topic in texts.TOPICS},
        colloquial=0.3,
    ),
    "licence_expiry_survey": Profile(
        share=0.02,
        kinds={"none": 40, "thanks": 20, "wish": 15, "complaint": 15, "question": 10},
        topics={
            "delivery": 20,
            "store": 15,
            "website": 15,
            "app": 15,
            "payment": 15,
            "returns": 5,
            "corporate": 5,
            "call_centre": 10,
        },
        colloquial=0.2,
        pii_in_text=0.02,
        contact_request={"complaint": 0.35, "question": 0.4, "wish": 0.05, "thanks": 0.02, "none": 0.05},
    ),
    "sms_survey_replies": Profile(
        share=0.03,
        kinds={"none": 55, "thanks": 20, "complaint": 18, "wish": 4, "question": 3},
        topics={"delivery": 70, "returns": 10, "store": 10, "payment": 10},
        hours=STORE_HOURS,
        colloquial=0.8,
    ),
    "employee_pulse_survey": Profile(
        share=0.012,
        kinds={"none": 30, "complaint": 30, "wish": 25, "thanks": 15},
        topics={"store": 1.0},  # replaced by the employee texts
        hours=CALL_CENTRE_HOURS,
        week=(1.2, 1.1, 1.0, 1.0, 0.9, 0.2, 0.1),
        colloquial=0.2,
    ),
    "call_centre_notes": Profile(
        share=0.05,
        kinds={"question": 45, "complaint": 35, "thanks": 10, "wish": 10},
        topics={"call_centre": 25, "delivery": 30, "returns": 15, "payment": 12, "store": 10, "corporate": 8},
        hours=CALL_CENTRE_HOURS,
    ),
    "website_chat": Profile(
        share=0.05,
        kinds={"question": 55, "complaint": 30, "thanks": 8, "wish": 7},
        topics={
            "website": 25,
            "delivery": 25,
            "payment": 12,
            "returns": 13,
            "app": 5,
            "store": 10,
            "corporate": 5,
            "call_centre": 5,
        },
        colloquial=0.5,
        greeting=0.3,
        pii_in_text=0.05,
    ),
    "self_service_sessions": Profile(
        share=0.13,  # about 12% of the customers' items: the bot and the FAQ answer much of the easy stuff
        kinds={"question": 80, "complaint": 20},  # the bot's first message or the FAQ search query
        topics={
            "delivery": 30,
            "returns": 18,
            "website": 14,
            "payment": 14,
            "app": 8,
            "store": 10,
            "call_centre": 4,
            "corporate": 2,
        },
        hours=WEB_EVENING,
        colloquial=0.5,
        greeting=0.15,
        pii_in_text=0.02,
    ),
    "vk_messages": Profile(
        share=0.012,
        kinds={"question": 45, "complaint": 35, "thanks": 12, "wish": 8},
        topics={"delivery": 30, "store": 20, "website": 15, "returns": 15, "payment": 10, "app": 10},
        colloquial=0.65,
        greeting=0.2,
        pii_in_text=0.04,
    ),
    # Telegram support chats exported by hand (otklik.sample.telegram_export), on top of ``items``.
    "telegram_chat_export": Profile(
        share=0.01,
        kinds={"question": 45, "complaint": 35, "thanks": 12, "wish": 8},
        topics={"delivery": 30, "store": 20, "website": 15, "returns": 15, "payment": 10, "app": 10},
        colloquial=0.6,
        greeting=0.15,
        pii_in_text=0.03,
    ),
    "vk_wall_comments": Profile(
        share=0.01,
        kinds={"complaint": 35, "thanks": 30, "question": 20, "wish": 15},
        topics={"store": 35, "delivery": 25, "website": 15, "returns": 15, "app": 10},
        colloquial=0.7,
    ),
    "whatsapp": Profile(
        share=0.03,
        kinds={"question": 45, "complaint": 35, "thanks": 12, "wish": 8},
        topics={"delivery": 35, "store": 15, "returns": 15, "payment": 12, "website": 10, "corporate": 5, "app": 8},
        colloquial=0.6,
        greeting=0.25,
        pii_in_text=0.04,
    ),
    "claims_mailbox": Profile(
        share=0.015,
        kinds={"complaint": 85, "question": 10, "thanks": 5},
        topics={"returns": 35, "delivery": 25, "payment": 20, "store": 10, "corporate": 10},
        pii_in_text=0.05,
    ),
    **{
        channel_id: Profile(
            share=0.02,
            kinds={"thanks": 55, "complaint": 30, "wish": 5, "question": 3, "none": 7},
            topics={"delivery": 35, "returns": 35, "website": 30},
            colloquial=0.3,
        )
        for channel_id in ("ozon_reviews", "wildberries_feedbacks")
    },
    "google_play_reviews": Profile(
        share=0.008,
        kinds={"thanks": 35, "complaint": 40, "wish": 15, "none": 10},
        topics={"app": 85, "delivery": 10, "payment": 5},
        colloquial=0.5,
    ),
    "app_store_reviews": Profile(
        share=0.005,
        kinds={"thanks": 45, "complaint": 40, "wish": 15},  # the feed has written reviews only
        topics={"app": 85, "delivery": 10, "payment": 5},
        colloquial=0.4,
    ),
    "yandex_maps_reviews": Profile(
        share=0.012,
        kinds={"thanks": 45, "complaint": 40, "wish": 8, "question": 2, "none": 5},
        topics={"store": 85, "returns": 10, "payment": 5},
        hours=STORE_HOURS,
        week=STORE_WEEK,
        colloquial=0.35,
    ),
    "twogis_reviews": Profile(
        share=0.006,
        kinds={"thanks": 45, "complaint": 40, "wish": 8, "question": 2, "none": 5},
        topics={"store": 85, "returns": 10, "payment": 5},
        hours=STORE_HOURS,
        week=STORE_WEEK,
        colloquial=0.35,
    ),
    "zendesk_tickets": Profile(
        share=0.015,
        kinds={"question": 50, "complaint": 40, "wish": 5, "thanks": 5},
        topics={"delivery": 25, "website": 20, "payment": 15, "returns": 20, "app": 10, "call_centre": 10},
        greeting=0.4,
        pii_in_text=0.05,
        html=0.02,
    ),
    "freshdesk_tickets": Profile(
        share=0.008,
        kinds={"complaint": 45, "question": 45, "thanks": 10},
        topics={"returns": 70, "store": 15, "delivery": 15},
        hours=CALL_CENTRE_HOURS,
        greeting=0.3,
    ),
    "bitrix24_activities": Profile(
        share=0.01,
        kinds={"none": 30, "question": 25, "complaint": 25, "thanks": 15, "wish": 5},
        topics={"corporate": 1.0},
        hours=CALL_CENTRE_HOURS,
        week=(1.1, 1.1, 1.1, 1.1, 1.0, 0.05, 0.02),
    ),
    "b2b_account_notes": Profile(
        share=0.004,
        kinds={"complaint": 35, "question": 25, "wish": 25, "thanks": 15},
        topics={"corporate": 1.0},
        hours=CALL_CENTRE_HOURS,
        week=(1.1, 1.1, 1.1, 1.1, 1.0, 0.05, 0.02),
    ),
    # A review site's public reviews, written on top of the month's items (generate.ON_TOP_CHANNELS):
    # its share sizes it against ``items`` but takes nothing from the other channels.
    "review_site_feed": Profile(
        share=0.01,
        kinds={"complaint": 40, "thanks": 40, "wish": 12, "question": 8},
        topics={"store": 30, "delivery": 25, "returns": 15, "website": 12, "call_centre": 10, "payment": 8},
        week=STORE_WEEK,
        colloquial=0.35,
        pii_in_text=0.01,
    ),
}
# A feedback channel added to the registry later gets this until it has a profile of its own.
DEFAULT_PROFILE = Profile(
    share=0.02,
    kinds={"complaint": 35, "question": 25, "thanks": 25, "wish": 10, "none": 5},
    topics={topic: 1.0 for topic in texts.TOPICS},
    colloquial=0.3,
    pii_in_text=0.03,
)


def profile_for(channel_id: str) -> Profile:
    return PROFILES.get(channel_id, DEFAULT_PROFILE)


def instants(month: Month, profile: Profile, n: int, rng: random.Random) -> list[datetime]:
    """n sorted instants in the month, following the profile's hour and weekday rhythm."""
    weights = []
    for day in range(month.days):
        weekday = (month.start + timedelta(days=day)).weekday()
        weights.extend(profile.week[weekday] * h for h in profile.hours)
    slots = rng.choices(range(len(weights)), cum_weights=list(accumulate(weights)), k=n)
    seconds = sorted(slot * 3600 + rng.randrange(3600) for slot in slots)
    start = month.start.replace(tzinfo=None)
    return [(start + timedelta(seconds=s)).replace(tzinfo=month.tz) for s in seconds]


def make_items(ctx: Context, channel_id: str, score_scale: str, n: int, rng: random.Random) -> list[Item]:
    """n valid items for a channel, in time order, without source ids (the writer assigns them)."""
    profile = profile_for(channel_id)
    kinds, kind_weights = ctx.mood.weigh(profile.kinds, ctx.mood.kinds)
    topics, topic_weights = ctx.mood.weigh(profile.topics, ctx.mood.topics)
    stores = ctx.org.stores
    store_weights = [3 if s.id.startswith("MSK") else 2 if s.id.startswith("SPB") else 1 for s in stores]
    b2b = [c for c in ctx.customers if c.segment == "b2b"] or ctx.customers
    items = []
    for at in instants(ctx.month, profile, n, rng):
        kind = rng.choices(kinds, kind_weights)[0]
        topic = rng.choices(topics, topic_weights)[0]
        customer = pick(b2b if topic == "corporate" else ctx.customers, rng)
        store = rng.choices(stores, store_weights)[0]
        order_ref = str(rng.randint(40_000_000, 49_999_999))
        score = texts.score(kind, score_scale, rng) if score_scale in ("0-10", "1-5") else None
        contact = rng.random() < profile.contact_request.get(kind, 0.0)
        item = Item(channel_id, at, kind, topic, "", score, customer, store, order_ref, contact)
        if kind != "none":
            text = texts.feedback_text(kind, topic, rng, item_slots(ctx, item, rng))
            item.text = decorate(text, kind, profile, customer, rng)
        items.append(item)
    return items


def payment_fails_in(ctx: Context, item: Item, agent: str, rng: random.Random) -> None:
    """The month's payment incident (Mood.broken_payment_agent): an item from that browser may become a
    complaint that the payment does not go through. ``rng`` is the incident's own stream, drawn only in
    an incident month, so every other month's files stay byte-identical."""
    mood = ctx.mood
    if mood.broken_payment_agent is None or agent != mood.broken_payment_agent:
        return
    if rng.random() >= mood.broken_payment_share:
        return
    item.kind, item.topic = "complaint", "payment"
    item.text = texts.fill(rng.choice(texts.PAYMENT_PAGE_FAILS), item_slots(ctx, item, rng))
    if item.score is not None:
        item.score = texts.score("complaint", "0-10", rng)
    item.extra["payment_incident"] = True


def item_slots(ctx: Context, item: Item, rng: random.Random) -> texts.Slots:
    """Template slots bound to the item: its store, its order, its company, its day."""
    fixed = {"store": item.store.name, "order": item.order_ref}
    if item.customer.company:
        fixed["company"] = item.customer.company
    return texts.Slots(rng, fixed, ctx.month.month, ctx.month.days, today=item.at.day)


def decorate(text: str, kind: str, profile: Profile, customer: Customer, rng: random.Random) -> str:
    """The way a channel's people type: greetings, casual style, contacts in the text, markup."""
    if rng.random() < profile.greeting:
        text = rng.choice(texts.GREETINGS) + text
    if rng.random() < profile.colloquial:
        text = texts.colloquial(text, kind, rng)
    if rng.random() < profile.pii_in_text:
        text = texts.with_contact_in_text(text, texts.phone_as_typed(customer.phone_digits, rng), customer.email, rng)
    if rng.random() < profile.html:
        text = texts.with_html(text, rng)
    elif rng.random() < profile.formula:
        text = texts.with_formula(text, rng)
    return text
