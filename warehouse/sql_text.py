"""Names and strings written into SQL text: one quoting for every module that builds statements."""


def quote_name(identifier: str) -> str:
    """``identifier`` as a quoted SQL name."""
    return '"' + identifier.replace('"', '""') + '"'


def sql_literal(text: str) -> str:
    """``text`` as a quoted SQL string."""
    return "'" + text.replace("'", "''") + "'"
