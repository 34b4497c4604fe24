from transforms.costs.channel_costs import (
    CHANNEL_COSTS_PATH,
    ChannelCost,
    channel_costs_frame,
    load_channel_costs,
    parse_channel_costs,
)

__all__ = ["CHANNEL_COSTS_PATH", "ChannelCost", "channel_costs_frame", "load_channel_costs", "parse_channel_costs"]
