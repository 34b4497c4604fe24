"""First rule-based kind classifier: complaint / wish / thanks / question.

Patterns are case-insensitive regular expressions over word stems. They are deliberately
simple; the classifier is measured against labelled data and replaced by a trained model in
the «Classify every item» issue. Precedence, and why:
- an explicit wish construction ("хотелось бы", "добавьте") names a desired change even when it
  mentions a problem, unless the text carries two or more complaint markers;
- a complaint marker outranks a question or thanks ("спасибо, но курьер опоздал" is a complaint);
- a question outranks thanks ("спасибо! подскажите, когда...").
"""

KINDS = ("complaint", "wish", "thanks", "question", "unclassified")

COMPLAINT = (
    r"(?i)не работа|не включа|сломал|слома|брак|дефект|опозда|опаздыв|задерж|не привез|не привёз"
    r"|не доставил|не пришл|не приехал|так и не|до сих пор|ужасн|отвратит|кошмар|плох|безобраз|хам|груб"
    r"|обман|недовол|разочаров|жалоб|возмущ|списали дважды|дважды списал|не вернул|не отвеча|не дозвон"
    r"|дважды|не берут|испорчен|поврежд|разбит|помят|не тот товар|не та модель|пересорт|недовлож|грязн|медленно"
    r"|тормоз|не загруж|зависа|ошибк|обсчита|навязыва|верните деньги|требую|претензи|никто не|не могу"
)
WISH = (
    r"(?i)хотелось бы|хочется, чтобы|было бы (удобн|хорош|здоров|неплох|лучше|класс)|предлагаю|предложени"
    r"|добавьте|сделайте|пожелани|хорошо бы|не хватает|прошу добавить|было бы здорово|почему бы не"
    r"|рассмотрите возможность|стоит добавить|можно было бы|мечтаю"
)
QUESTION = (
    r"(?i)\?|подскажите|скажите,|как (мне|можно|узнать|оформить|вернуть)|можно ли|есть ли|когда (будет|придет|придёт)"
    r"|сколько (стоит|ждать)|где (мой|находится|посмотреть)|уточните|интересует"
)
THANKS = (
    r"(?i)спасибо|благодар|отличн|молодц|понравил|рекомендую|доволен|довольна|довольны|супер|прекрасн"
    r"|замечательн|вежлив|быстро привез|быстро доставил|всё отлично|все отлично|лучший|лучшие|респект|5 звёзд"
)
