"""Fixture of //tools/format:format_fixtures_test: formatted, but with a lint finding (an unused variable)."""

def describe(name):
    """Returns `name` in brackets.

    Args:
      name: the text.

    Returns:
      The bracketed text.
    """
    unused = len(name)
    return "[{}]".format(name)
