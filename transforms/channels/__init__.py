from transforms.channels.registry import (
    REGISTRY_PATH,
    Channel,
    Extraction,
    PullSpec,
    ReaderOptions,
    ScheduleGroup,
    channels_in_group,
    get_channel,
    load_channels,
    parse_channels,
)

__all__ = [
    "REGISTRY_PATH",
    "Channel",
    "Extraction",
    "PullSpec",
    "ReaderOptions",
    "ScheduleGroup",
    "channels_in_group",
    "get_channel",
    "load_channels",
    "parse_channels",
]
