"""Mango Office's VPBX call-statistics API on loopback (pytest-httpserver), as its reference describes it.

Reference: "API Виртуальной АТС", v1.9, https://www.mango-office.ru/upload/api/MangoOffice_VPBX_API_v1.9.pdf
(section "Статистика вызовов"); the same calls in public clients, e.g. dasshit/Python-Mango-Office-API
``mangoapi/__init__.py`` (``sha256(key + json + salt)``, form-encoded ``vpbx_api_key``/``sign``/``json``).

- every method is ``POST /vpbx/<method>``, form fields ``vpbx_api_key``, ``sign`` (hex SHA-256 of
  key + json + salt) and ``json``; a wrong key or sign is refused (assumed here as HTTP 401 with
  ``{"result": 3102, "message": ...}``: the reference's result codes 3xxx are request errors);
- ``stats/request`` with ``{"date_from", "date_to", "fields", "request_id"}`` (Unix seconds,
  inclusive; fields comma-separated) → ``{"key": "..."}``; bad parameters → ``{"result": 3100}``;
- ``stats/result`` with ``{"key"}`` → HTTP 204 while the report is built (``pending`` times here),
  then HTTP 200, ``text/plain``: one line per call, the requested fields in order, ``;``, no header.

The calls' fields beyond the documented ones (the IVR survey score) are whatever the account
configured; the fake serves any field it holds. Every request is recorded with its decoded json;
failures queued by the test are answered first.
"""

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from werkzeug import Request, Response

API_KEY = "mgo4planted7key2vpbx9api5"
API_SALT = "s4lt-PLANTED-mango-salt-k3y"
SECRET = f"{API_KEY}:{API_SALT}"


@dataclass
class FakeMango:
    calls: list[dict[str, Any]]
    key: str = API_KEY
    salt: str = API_SALT
    pending: int = 1  # 204 answers before each report is ready
    requests: list[dict[str, Any]] = field(default_factory=list)
    failures: list[Response] = field(default_factory=list)  # answered first, one per request
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)

    def handle(self, request: Request) -> Response:
        form = request.form
        payload = json.loads(form.get("json") or "null")
        self.requests.append({"path": request.path, "form": dict(form), "json": payload})
        if self.failures:
            return self.failures.pop(0)
        expected = hashlib.sha256((self.key + form.get("json", "") + self.salt).encode()).hexdigest()
        if form.get("vpbx_api_key") != self.key or form.get("sign") != expected:
            return _json({"result": 3102, "message": "Invalid key or sign"}, 401)
        if request.path == "/vpbx/stats/request":
            return self._request(payload)
        if request.path == "/vpbx/stats/result":
            return self._result(payload)
        return _json({"result": 3100, "message": "Unknown method"}, 404)

    def _request(self, payload: dict[str, Any]) -> Response:
        try:
            lo, hi = int(payload["date_from"]), int(payload["date_to"])
            fields = [name.strip() for name in payload["fields"].split(",")]
        except (KeyError, TypeError, ValueError):
            return _json({"result": 3100, "message": "Invalid request parameters"})
        key = f"report-{len(self.reports) + 1}"
        calls = [c for c in self.calls if lo <= int(c["start"]) <= hi]
        self.reports[key] = {"fields": fields, "calls": calls, "pending": self.pending}
        return _json({"key": key})

    def _result(self, payload: dict[str, Any]) -> Response:
        report = self.reports.get(payload.get("key", ""))
        if report is None:
            return _json({"result": 3100, "message": "Unknown key"})
        if report["pending"]:
            report["pending"] -= 1
            return Response(status=204)
        lines = [";".join(str(call.get(name, "")) for name in report["fields"]) for call in report["calls"]]
        return Response("".join(line + "\n" for line in lines), content_type="text/plain; charset=utf-8")

    def asked(self, method: str = "stats/request") -> list[dict[str, Any]]:
        return [r["json"] for r in self.requests if r["path"] == f"/vpbx/{method}"]


def _json(document: Any, status: int = 200) -> Response:
    return Response(json.dumps(document, ensure_ascii=False), status=status, content_type="application/json")
