"""Fixture of //tools/format:format_fixtures_test: formatted.bzl is what buildifier makes of misformatted.bzl."""

def describe( name, count = 1 ):
  """Returns a one-line description of `count` things called `name`.

  Args:
    name: what the things are called.
    count: how many there are.

  Returns:
    The description.
  """
  parts = {'name' : name, "count":count}
  return "{} x {}".format(parts["count"],parts["name"])
