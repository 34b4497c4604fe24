"""Sample customers: one pool shared by every channel, so one person writes through several."""

import random
from dataclasses import dataclass

MALE_FIRST = (
    "Александр", "Алексей", "Андрей", "Антон", "Артём", "Борис", "Вадим", "Виктор", "Владимир",
    "Денис", "Дмитрий", "Евгений", "Егор", "Иван", "Игорь", "Илья", "Кирилл", "Константин",
    "Максим", "Михаил", "Николай", "Олег", "Павел", "Роман", "Сергей", "Станислав", "Юрий",
)  # fmt: skip
FEMALE_FIRST = (
    "Анастасия", "Анна", "Валентина", "Вера", "Галина", "Дарья", "Екатерина", "Елена", "Ирина",
    "Ксения", "Людмила", "Марина", "Мария", "Наталья", "Ольга", "Светлана", "Татьяна", "Юлия",
)  # fmt: skip
SURNAMES = (
    "Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов",
    "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров",
    "Павлов", "Козлов", "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин",
    "Захаров", "Зайцев", "Соловьёв", "Борисов", "Яковлев", "Григорьев", "Романов", "Воробьёв",
    "Сергеев", "Кузьмин", "Фролов", "Александров", "Дмитриев", "Королёв", "Гусев", "Киселёв",
    "Ильин", "Максимов", "Поляков", "Сорокин", "Виноградов", "Ковалёв", "Белов", "Медведев",
)  # fmt: skip
PATRONYMICS_MALE = ("Александрович", "Сергеевич", "Иванович", "Викторович", "Петрович", "Андреевич")
PATRONYMICS_FEMALE = ("Александровна", "Сергеевна", "Ивановна", "Викторовна", "Петровна", "Андреевна")
MAIL_DOMAINS = (
    ("mail.ru", 30), ("yandex.ru", 28), ("gmail.com", 18), ("bk.ru", 5), ("list.ru", 4),
    ("inbox.ru", 4), ("rambler.ru", 4), ("ya.ru", 4), ("icloud.com", 3),
)  # fmt: skip
COMPANIES = (
    ("ООО «СтройМонтаж»", "stroymontazh.ru"),
    ("ООО «Ремонт-Профи»", "remont-profi.ru"),
    ("АО «СеверСтройИнвест»", "sever-si.ru"),
    ("ООО «ТеплоДом»", "teplodom.pro"),
    ("ООО «Вектор-Строй»", "vector-stroy.ru"),
)
# Where the customer lives decides the offset their mail client writes in the Date header.
REGIONS = (("Europe/Moscow", 80), ("Asia/Yekaterinburg", 10), ("Asia/Novosibirsk", 7), ("UTC", 3))
SEGMENTS = (("b2c", 84), ("b2b", 10), ("vip", 6))

_TRANSLIT = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
        "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
        "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
        "щ": "sch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
    }
)  # fmt: skip


def translit(text: str) -> str:
    return text.lower().translate(_TRANSLIT)


@dataclass(frozen=True)
class Customer:
    number: int
    customer_id: str  # "C0012345"
    first_name: str
    last_name: str
    patronymic: str
    female: bool
    email: str
    phone_digits: str  # ten digits after +7
    segment: str  # b2c / b2b / vip
    region_tz: str
    telegram_id: int
    company: str | None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def phone_e164(self) -> str:
        return f"+7{self.phone_digits}"

    @property
    def fio_short(self) -> str:
        return f"{self.last_name} {self.first_name[0]}. {self.patronymic[0]}."


def _surname(base: str, female: bool) -> str:
    if female and base.endswith(("ов", "ев", "ёв", "ин")):
        return base + "а"
    return base


def make_customers(count: int, rng: random.Random) -> list[Customer]:
    domains, domain_weights = zip(*MAIL_DOMAINS, strict=True)
    regions, region_weights = zip(*REGIONS, strict=True)
    segments, segment_weights = zip(*SEGMENTS, strict=True)
    customers = []
    used_emails: set[str] = set()
    telegram_ids = rng.sample(range(100_000_000, 7_999_999_999), count)
    for n in range(count):
        female = rng.random() < 0.45
        first = rng.choice(FEMALE_FIRST if female else MALE_FIRST)
        last = _surname(rng.choice(SURNAMES), female)
        patronymic = rng.choice(PATRONYMICS_FEMALE if female else PATRONYMICS_MALE)
        segment = rng.choices(segments, segment_weights)[0]
        company = rng.choice(COMPANIES) if segment == "b2b" else None
        local = rng.choice(
            (
                f"{translit(first)}.{translit(last)}",
                f"{translit(first)[0]}.{translit(last)}",
                f"{translit(last)}{rng.randint(1, 99)}",
                f"{translit(first)}{rng.randint(1970, 2005)}",
                f"{translit(last)}_{translit(first)[0]}",
            )
        )
        domain = company[1] if company is not None else rng.choices(domains, domain_weights)[0]
        email = f"{local}@{domain}"
        while email in used_emails:
            email = f"{local}{rng.randint(2, 999)}@{domain}"
        used_emails.add(email)
        operator = rng.choice(("916", "915", "926", "903", "905", "925", "977", "999", "985", "962", "912", "913"))
        customers.append(
            Customer(
                number=n,
                customer_id=f"C{1_000_000 + n * 7 + rng.randint(0, 6):07d}",
                first_name=first,
                last_name=last,
                patronymic=patronymic,
                female=female,
                email=email,
                phone_digits=f"{operator}{rng.randint(0, 9_999_999):07d}",
                segment=segment,
                region_tz=rng.choices(regions, region_weights)[0],
                telegram_id=telegram_ids[n],
                company=company[0] if company is not None else None,
            )
        )
    return customers


def pick(customers: list[Customer], rng: random.Random) -> Customer:
    """Skewed: a few customers write often, most write once."""
    return customers[int(len(customers) * rng.random() ** 1.6)]
