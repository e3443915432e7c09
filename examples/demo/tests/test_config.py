"""Module-level tests, bare and with options."""
from dbtest import expect, test

from demo_app import parse_config


@test
def parses_pairs():
    assert parse_config("a = 1\nb=2") == {"a": "1", "b": "2"}


@test(tags=["unit", "fast"])
def ignores_comments_and_blank_lines():
    config = parse_config("# comment\n\nname = demo\n")
    expect(config).to_have_length(1)
    expect(config).to_contain("name")
