"""Alert routing from routing.yaml: receivers, retries and who owns which alerts, validated at load."""

from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from transforms.config_errors import ConfigError, config_errors, parse_yaml

ROUTING_PATH = Path(__file__).with_name("routing.yaml")

Channel = Literal["webhook", "email"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RetryPolicy(_Frozen):
    """Tries within one run (tenacity, exponential wait); a send that still fails stays pending."""

    attempts: int = Field(default=4, ge=1, le=20)
    wait_seconds: float = Field(default=2, ge=0)
    max_wait_seconds: float = Field(default=30, ge=0)


class Smtp(_Frozen):
    host: str
    port: int = Field(default=25, gt=0, lt=65536)
    sender: str
    username: str | None = None
    password_env: str | None = None  # the environment variable holding the password, never the password
    starttls: bool = False
    timeout_seconds: float = Field(default=10, gt=0)


class Webhook(_Frozen):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_]*$")
    url: str = Field(pattern=r"^https?://")
    token_env: str | None = None  # the environment variable holding a bearer token, never the token


class Route(_Frozen):
    """Receivers for the owners it matches. Exactly one of the match keys, or ``default: true``."""

    manager_id: str | None = None
    department_id: str | None = None
    directorate_id: str | None = None
    default: bool = False
    webhooks: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one_match(self) -> "Route":
        keys = [k for k in ("manager_id", "department_id", "directorate_id") if getattr(self, k) is not None]
        if len(keys) + int(self.default) != 1:
            raise ValueError("a route matches exactly one of manager_id, department_id, directorate_id or default")
        if not self.webhooks and not self.emails:
            raise ValueError(f"route {self.key} has no webhooks and no emails")
        for address in self.emails:
            if "@" not in address or "," in address:
                raise ValueError(f"route {self.key}: {address!r} is not one e-mail address")
        return self

    @property
    def key(self) -> tuple[str, str]:
        for level in ("manager_id", "department_id", "directorate_id"):
            if getattr(self, level) is not None:
                return level, getattr(self, level)
        return "default", "*"


class Routing(_Frozen):
    window_hours: float = Field(default=48, gt=0)
    retry: RetryPolicy = RetryPolicy()
    smtp: Smtp | None = None
    webhooks: tuple[Webhook, ...] = ()
    routes: tuple[Route, ...]

    @model_validator(mode="after")
    def _consistent(self) -> "Routing":
        known = {w.id for w in self.webhooks}
        duplicates = [k for k, n in Counter(r.key for r in self.routes).items() if n > 1]
        if duplicates:
            raise ValueError(f"more than one route for {sorted(duplicates)}")
        if not any(r.default for r in self.routes):
            raise ValueError("a default route is required, so no owner goes unalerted")
        for route in self.routes:
            unknown = set(route.webhooks) - known
            if unknown:
                raise ValueError(f"route {route.key} names unknown webhooks {sorted(unknown)}")
            if route.emails and self.smtp is None:
                raise ValueError(f"route {route.key} sends e-mail but there is no smtp section")
        return self

    def webhook(self, webhook_id: str) -> Webhook:
        return next(w for w in self.webhooks if w.id == webhook_id)

    def route_for(self, *, manager_id: str, department_id: str, directorate_id: str) -> Route:
        """The most specific route: the manager's, else the department's, else the directorate's, else default."""
        by_key = {r.key: r for r in self.routes}
        for key in (("manager_id", manager_id), ("department_id", department_id), ("directorate_id", directorate_id)):
            if key in by_key:
                return by_key[key]
        return by_key[("default", "*")]

    def secret_names(self) -> tuple[str, ...]:
        names = [w.token_env for w in self.webhooks if w.token_env]
        if self.smtp is not None and self.smtp.password_env:
            names.append(self.smtp.password_env)
        return tuple(names)


class RoutingError(ConfigError):
    """routing.yaml cannot be used; the message names the file and the problem."""

    separator = "; "  # one line, whatever the number of problems


def load_routing(path: Path = ROUTING_PATH) -> Routing:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RoutingError(f"cannot read the alert routing {path}: {exc.strerror}") from exc
    with config_errors(path, text, error=RoutingError):  # one line per problem, naming the file and the id
        return Routing.model_validate(parse_yaml(text))
