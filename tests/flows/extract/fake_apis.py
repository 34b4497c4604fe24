"""Fake channel APIs for a real loopback HTTP server (pytest-httpserver), shaped like the real ones.

- ``zendesk``: page numbers, ``GET /api/v2/tickets.json?page=&per_page=`` → ``{"tickets": [...]}``
- ``wildberries``: offsets, ``GET /api/v1/feedbacks?take=&skip=`` → ``{"data": {"feedbacks": [...]}}``
- ``ozon``: API cursor in a POST body, ``POST /v1/review/list {"last_id", "limit"}`` →
  ``{"reviews": [...], "has_next", "last_id"}``

Each API serves from a list the test can grow, records every request, and can be told to answer
the next requests with failures first.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug import Request, Response

from transforms.channels import Channel


def zendesk_ticket(n: int) -> dict[str, Any]:
    return {
        "id": 35436 + n,
        "url": f"https://example.zendesk.com/api/v2/tickets/{35436 + n}.json",
        "created_at": f"2026-10-{n % 28 + 1:02d}T09:{n % 60:02d}:00Z",
        "updated_at": f"2026-10-{n % 28 + 1:02d}T10:00:00Z",
        "subject": f"Заказ {n} не доставлен",
        "description": f"Курьер не приехал, заказ {n}",
        "status": "open",
        "requester_id": 20978392 + n,
        "tags": ["delivery"],
    }


def wildberries_feedback(n: int) -> dict[str, Any]:
    return {
        "id": f"wb-{n:04d}",
        "text": f"Товар {n} пришёл с браком",
        "pros": "",
        "cons": "брак",
        "productValuation": 1 + n % 5,
        "createdDate": f"2026-10-{n % 28 + 1:02d}T12:00:00Z",
        "productDetails": {"nmId": 1000 + n, "productName": "Чайник", "supplierArticle": f"A-{n}"},
        "wasViewed": True,
    }


def ozon_review(n: int) -> dict[str, Any]:
    return {
        "id": f"oz-{n:04d}",
        "sku": 500000 + n,
        "text": f"Отзыв {n}: упаковка порвана",
        "published_at": f"2026-10-{n % 28 + 1:02d}T08:30:00.000Z",
        "rating": 1 + n % 5,
        "status": "UNPROCESSED",
        "comments_amount": 0,
        "photos_amount": 0,
        "is_rating_participant": True,
    }


CHANNELS: dict[str, dict[str, Any]] = {
    "zendesk": {
        "reader": {"records_path": "tickets"},
        "fields": {"source_item_id": "id", "received_at": "created_at", "body_text": ["subject", "description"]},
        "pull": {"path": "/api/v2/tickets.json", "pagination": "page", "size_param": "per_page"},
    },
    "wildberries": {
        "reader": {"records_path": "data.feedbacks"},
        "fields": {"source_item_id": "id", "received_at": "createdDate", "body_text": "text"},
        "pull": {
            "path": "/api/v1/feedbacks",
            "pagination": "offset",
            "page_param": "skip",
            "size_param": "take",
            "params": {"isAnswered": "true", "order": "dateAsc"},
        },
    },
    "ozon": {
        "reader": {"records_path": "reviews"},
        "fields": {"source_item_id": "id", "received_at": "published_at", "body_text": "text", "score": "rating"},
        "score_scale": "1-5",
        "pull": {
            "path": "/v1/review/list",
            "method": "POST",
            "pagination": "cursor",
            "page_param": "last_id",
            "size_param": "limit",
            "next_cursor_path": "last_id",
            "params": {"sort_dir": "ASC"},
        },
    },
}
MAKERS: dict[str, Callable[[int], dict[str, Any]]] = {
    "zendesk": zendesk_ticket,
    "wildberries": wildberries_feedback,
    "ozon": ozon_review,
}


def make_channel(style: str, channel: dict[str, Any] | None = None, **pull: Any) -> Channel:
    """A json_pages channel for ``style`` (page_size 2), with overrides of its entry and pull spec."""
    base = CHANNELS[style]
    entry = {"id": f"{style}_api", "display_name": style, "format": "json_pages"}
    entry |= {k: v for k, v in base.items() if k != "pull"} | (channel or {})
    spec = {"base_url_env": "OTKLIK_TEST_API_URL", "page_size": 2, "max_retries": 3, **base["pull"], **pull}
    return Channel.model_validate({**entry, "pull": spec})


@dataclass
class FakeApi:
    style: str
    records: list[dict[str, Any]]
    requests: list[dict[str, Any]] = field(default_factory=list)
    failures: list[Response] = field(default_factory=list)  # answered first, one per request
    ignore_paging: bool = False  # a broken API: always the first page
    last_id_at_end: bool = True  # ozon: False answers the last page with last_id "" (no next cursor)

    def add(self, count: int) -> None:
        start = len(self.records)
        self.records.extend(MAKERS[self.style](start + i) for i in range(count))

    def handle(self, request: Request) -> Response:
        body = request.get_json(silent=True) or {}
        self.requests.append({"args": dict(request.args), "json": body, "headers": dict(request.headers)})
        if self.failures:
            return self.failures.pop(0)
        return getattr(self, f"_{self.style}")(request.args, body)

    def _zendesk(self, args: Any, body: Any) -> Response:
        page, size = int(args.get("page", 1)), int(args.get("per_page", 100))
        page = 1 if self.ignore_paging else page
        chunk = self.records[(page - 1) * size : page * size]
        more = page * size < len(self.records)
        return _json({"tickets": chunk, "next_page": f"/tickets.json?page={page + 1}" if more else None, "count": 0})

    def _wildberries(self, args: Any, body: Any) -> Response:
        skip, take = int(args.get("skip", 0)), int(args.get("take", 100))
        chunk = self.records[skip : skip + take]
        data = {"countUnanswered": 0, "countArchive": len(self.records), "feedbacks": chunk}
        return _json({"data": data, "error": False, "errorText": "", "additionalErrors": None})

    def _ozon(self, args: Any, body: Any) -> Response:
        ids = [r["id"] for r in self.records]
        start = ids.index(body["last_id"]) + 1 if body.get("last_id") else 0
        chunk = self.records[start : start + int(body.get("limit", 20))]
        has_next = start + len(chunk) < len(self.records)
        last_id = chunk[-1]["id"] if chunk and (has_next or self.last_id_at_end) else ""
        return _json({"reviews": chunk, "has_next": has_next, "last_id": last_id})


def _json(document: Any) -> Response:
    return Response(json.dumps(document, ensure_ascii=False), content_type="application/json; charset=utf-8")
