"""SLA alerts: routing configuration, which clocks need an alert, the messages and their sending."""

from transforms.alerts.config import ROUTING_PATH, Routing, RoutingError, load_routing
from transforms.alerts.detect import deliveries, escalate, new_alerts

__all__ = ["ROUTING_PATH", "Routing", "RoutingError", "deliveries", "escalate", "load_routing", "new_alerts"]
