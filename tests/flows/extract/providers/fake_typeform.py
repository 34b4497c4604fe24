"""Typeform's Responses API on loopback (pytest-httpserver), as its documentation describes it.

- https://www.typeform.com/developers/responses/reference/retrieve-responses/ :
  ``GET /forms/{form_id}/responses`` with ``page_size`` (default 25, at most 1000), ``since`` /
  ``until`` (inclusive), ``after`` / ``before`` (a response token, exclusive; "could not be used
  together with sort parameter, as it sorts responses in the order that our system processed them"),
  ``completed``, ``sort`` (``submitted_at,desc`` by default) → ``{"total_items", "page_count",
  "items": [{"landing_id", "token", "response_id", "landed_at", "submitted_at", "metadata",
  "hidden", "calculated", "answers": [{"field": {"id", "type", "ref"}, "type", <type>: value}]}]}``
- https://www.typeform.com/developers/get-started/personal-access-token/ : ``Authorization: Bearer``;
  a missing or wrong token is HTTP 401 ``{"code": "AUTHENTICATION_FAILED", "description"}``
- https://www.typeform.com/developers/get-started/#rate-limits : 2 requests per second, then 429.

Responses are kept in processing order (= submitted_at order here). Every request is recorded; the
test can queue failures to answer first, or make the API ignore ``after`` (a broken API).
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug import Request, Response

FORM_ID = "nps4ftrBuy"
TOKEN = "tfp_PLANTED-typeform-token-5e1f0c9a77d2"


def nps_response(n: int, *, contact: bool = False, comment: str = "") -> dict[str, Any]:
    """A completed response to the NPS form (fields by ref, hidden fields from the e-mail link)."""
    token = f"{n:04d}a3a12ec67a1365927098a606107fac"[:32]
    submitted = datetime(2026, 10, 5, 7, 0, tzinfo=UTC) + timedelta(minutes=17 * n)
    answers = [
        _answer("recommend_score", "nps", "number", n % 11),
        _answer("contact_me", "yes_no", "boolean", contact),
    ]
    if comment:
        answers.append(_answer("comment", "long_text", "text", comment))
    if contact:
        answers += [
            _answer("phone", "phone_number", "phone_number", f"+7916{n:07d}"),
            _answer("email", "email", "email", f"client{n}@example.ru"),
        ]
    return {
        "landing_id": token,
        "token": token,
        "response_id": token,
        "landed_at": (submitted - timedelta(minutes=3)).isoformat().replace("+00:00", "Z"),
        "submitted_at": submitted.isoformat().replace("+00:00", "Z"),
        "metadata": {"user_agent": "Mozilla/5.0", "platform": "other", "referer": "", "browser": "default"},
        "hidden": {
            "survey": "after_delivery",
            "customer_id": f"C{n:04d}",
            "order_number": f"ORD-{n}",
            "store_code": "",
            "segment": "b2c",
        },
        "calculated": {"score": 0},
        "answers": answers,
    }


def _answer(ref: str, field_type: str, answer_type: str, value: Any) -> dict[str, Any]:
    return {"field": {"id": f"id_{ref}", "type": field_type, "ref": ref}, "type": answer_type, answer_type: value}


@dataclass
class FakeTypeform:
    responses: list[dict[str, Any]]
    form_id: str = FORM_ID
    token: str = TOKEN
    requests: list[dict[str, Any]] = field(default_factory=list)
    failures: list[Response] = field(default_factory=list)  # answered first, one per request
    ignore_after: bool = False

    def handle(self, request: Request) -> Response:
        self.requests.append({"path": request.path, "args": dict(request.args), "headers": dict(request.headers)})
        if self.failures:
            return self.failures.pop(0)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _json({"code": "AUTHENTICATION_FAILED", "description": "Authentication credentials not found"}, 401)
        if request.path != f"/forms/{self.form_id}/responses":
            return _json({"code": "FORM_NOT_FOUND", "description": "Non existing form"}, 404)
        args = request.args
        if ("after" in args or "before" in args) and "sort" in args:
            return _json({"code": "VALIDATION_ERROR", "description": "sort cannot be used with before/after"}, 400)
        size = int(args.get("page_size", 25))
        if not 1 <= size <= 1000:
            return _json({"code": "VALIDATION_ERROR", "description": "page_size must be between 1 and 1000"}, 400)
        matching = self._matching(args)
        return _json({"total_items": len(matching), "page_count": -(-len(matching) // size), "items": matching[:size]})

    def _matching(self, args: Any) -> list[dict[str, Any]]:
        items = (
            [r for r in self.responses if r.get("submitted_at")] if args.get("completed") == "true" else self.responses
        )
        if args.get("since"):
            since = datetime.fromisoformat(args["since"]).replace(tzinfo=UTC)
            items = [r for r in items if datetime.fromisoformat(r["submitted_at"]) >= since]
        if args.get("after") and not self.ignore_after:
            tokens = [r["token"] for r in items]
            return items[tokens.index(args["after"]) + 1 :] if args["after"] in tokens else []
        if args.get("after"):
            return items
        return items if args.get("sort") == "submitted_at,asc" else items[::-1]


def _json(document: Any, status: int = 200) -> Response:
    return Response(json.dumps(document, ensure_ascii=False), status=status, content_type="application/json")
